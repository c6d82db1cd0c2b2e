#include "real_pairs.h"

#include <algorithm>
#include <iomanip>
#include <opencv2/imgcodecs.hpp>
#include <opencv2/imgproc.hpp>
#include <string>
#include <vector>

#include "skintrack/core/error.h"

namespace skintrack::bench {
namespace {

namespace fs = std::filesystem;
namespace reg = skintrack::registration;

std::vector<std::string> PairNames(const fs::path& dir) {
  std::vector<std::string> names;
  for (const auto& e : fs::directory_iterator(dir)) {
    const std::string n = e.path().filename().string();
    if (n.size() > 6 && n.substr(n.size() - 6) == "_A.png") {
      names.push_back(n.substr(0, n.size() - 6));
    }
  }
  std::sort(names.begin(), names.end());
  return names;
}

// A checkerboard of A and warped B, their blend, and the blend before alignment.
void WriteOverlays(const cv::Mat& a, const cv::Mat& b, const cv::Mat& warped,
                   const fs::path& out_dir, const std::string& name) {
  cv::Mat checker = a.clone();
  const int cell = std::max(16, std::max(a.cols, a.rows) / 8);
  for (int y = 0; y < a.rows; ++y) {
    for (int x = 0; x < a.cols; ++x) {
      if (((x / cell) + (y / cell)) % 2) checker.at<cv::Vec3b>(y, x) = warped.at<cv::Vec3b>(y, x);
    }
  }
  cv::Mat blend, before;
  cv::addWeighted(a, 0.5, warped, 0.5, 0, blend);
  cv::Mat b_resized;
  cv::resize(b, b_resized, a.size());
  cv::addWeighted(a, 0.5, b_resized, 0.5, 0, before);
  cv::imwrite((out_dir / (name + "_checker.png")).string(), checker);
  cv::imwrite((out_dir / (name + "_blend.png")).string(), blend);
  cv::imwrite((out_dir / (name + "_blend_unaligned.png")).string(), before);
}

}  // namespace

void RealPairs(const fs::path& dir, const fs::path& out_dir,
               const reg::RegistrationOptions& options, std::ostream& out) {
  if (!fs::is_directory(dir)) {
    out << "\nreal pairs: " << dir << " absent, skipped\n";
    return;
  }
  fs::create_directories(out_dir);
  const std::vector<std::string> names = PairNames(dir);
  out << "\n== real serial pairs (" << dir.string() << "): B registered to A; overlays in "
      << out_dir.string() << "\n";
  out << "pair        size        converged  quality  (start)  overlap  inliers  seconds  reason\n"
      << std::fixed << std::setprecision(3);
  for (const std::string& name : names) {
    const cv::Mat a = cv::imread((dir / (name + "_A.png")).string(), cv::IMREAD_COLOR);
    const cv::Mat b = cv::imread((dir / (name + "_B.png")).string(), cv::IMREAD_COLOR);
    if (a.empty() || b.empty()) {
      out << name << ": unreadable, skipped\n";
      continue;
    }
    reg::RegistrationResult r;
    try {
      r = reg::RegisterToBaseline(a, b, options);
    } catch (const Error& e) {
      out << name << ": " << e.what() << "\n";
      continue;
    }
    WriteOverlays(a, b, reg::WarpImageToBaseline(b, r), out_dir, name);
    out << std::left << std::setw(12) << name << std::setw(12)
        << (std::to_string(b.cols) + "x" + std::to_string(b.rows)) << std::setw(11)
        << (r.converged ? "yes" : "NO") << std::setw(9) << r.quality << std::setw(9)
        << r.quality_features << std::setw(9) << r.overlap_fraction << std::setw(9)
        << r.feature_inliers << std::setw(9) << r.seconds << r.stop_reason << "\n"
        << std::right;
  }
}

}  // namespace skintrack::bench
