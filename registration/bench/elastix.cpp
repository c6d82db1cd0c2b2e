#include "elastix.h"

#include <sys/resource.h>

#include <chrono>
#include <cmath>
#include <cstdlib>
#include <fstream>
#include <opencv2/imgcodecs.hpp>
#include <sstream>
#include <vector>

#include "bench_common.h"
#include "skintrack/core/error.h"

namespace skintrack::bench {
namespace {

namespace fs = std::filesystem;

// One elastix TransformParameters file as T(x) = A (x - c) + t + c, fixed -> moving.
struct ElastixTransform {
  cv::Matx22d a = cv::Matx22d::eye();
  cv::Vec2d t{0, 0}, c{0, 0};
  cv::Point2d operator()(const cv::Point2d& p) const {
    const cv::Vec2d d(p.x - c[0], p.y - c[1]);
    const cv::Vec2d r = a * d + t + c;
    return {r[0], r[1]};
  }
};

std::vector<double> ReadNumbers(const std::string& text, const std::string& key) {
  const std::size_t at = text.find("(" + key + " ");
  if (at == std::string::npos) return {};
  const std::size_t end = text.find(')', at);
  std::istringstream in(text.substr(at + key.size() + 2, end - at - key.size() - 2));
  std::vector<double> v;
  double x = 0;
  while (in >> x) v.push_back(x);
  return v;
}

ElastixTransform ReadElastix(const fs::path& file) {
  std::ifstream in(file);
  if (!in) throw Error(ErrorCode::kIo, "elastix wrote no " + file.string());
  std::stringstream ss;
  ss << in.rdbuf();
  const std::string text = ss.str();
  const std::vector<double> p = ReadNumbers(text, "TransformParameters");
  const std::vector<double> c = ReadNumbers(text, "CenterOfRotationPoint");
  ElastixTransform t;
  if (c.size() == 2) t.c = {c[0], c[1]};
  if (text.find("(Transform \"EulerTransform\")") != std::string::npos && p.size() == 3) {
    const double co = std::cos(p[0]), si = std::sin(p[0]);
    t.a = cv::Matx22d(co, -si, si, co);
    t.t = {p[1], p[2]};
  } else if (text.find("(Transform \"AffineTransform\")") != std::string::npos && p.size() == 6) {
    t.a = cv::Matx22d(p[0], p[1], p[2], p[3]);
    t.t = {p[4], p[5]};
  } else {
    throw Error(ErrorCode::kInternal, "unexpected transform in " + file.string());
  }
  return t;
}

// elastix composes chained files as second(first(x)), both fixed -> moving; the bench wants the
// moving -> fixed matrix.
cv::Matx23d MovingToFixed(const ElastixTransform& first, const ElastixTransform& second) {
  const cv::Point2d o = second(first({0, 0})), ex = second(first({1, 0})),
                    ey = second(first({0, 1}));
  const cv::Matx33d fixed_to_moving(ex.x - o.x, ey.x - o.x, o.x, ex.y - o.y, ey.y - o.y, o.y, 0, 0,
                                    1);
  const cv::Matx33d inv = fixed_to_moving.inv();
  return cv::Matx23d(inv(0, 0), inv(0, 1), inv(0, 2), inv(1, 0), inv(1, 1), inv(1, 2));
}

}  // namespace

// `fixed_mask`, when not empty, goes to elastix as -fMask (a 0/1 PNG), the usage the tuned
// parameter files document. Off by default (--elastix-mask): with the pipeline's masks elastix
// 5.0.1 converged on fewer pairs (2 of 12 geometry-only pairs against 6 of 12 without), so the
// comparison is against its better configuration. Never -mMask: with it elastix stopped on 15 of
// 24 pairs ("Too many samples map outside moving image buffer").
ElastixRun RunElastix(const cv::Mat& fixed_grey, const cv::Mat& moving_grey,
                      const cv::Mat& fixed_mask, const fs::path& dir, const fs::path& params,
                      int threads) {
  ElastixRun run;
  fs::remove_all(dir);
  fs::create_directories(dir);
  const std::string f = (dir / "fixed.png").string(), m = (dir / "moving.png").string();
  cv::imwrite(f, fixed_grey);
  cv::imwrite(m, moving_grey);
  std::string mask_args;
  if (!fixed_mask.empty()) {
    const std::string path = (dir / "fixed_mask.png").string();
    cv::imwrite(path, (fixed_mask > 0) & 1);
    mask_args = " -fMask '" + path + "'";
  }
  const std::string command = "elastix -f '" + f + "' -m '" + m + "'" + mask_args + " -p '" +
                              (params / "par_photo_rigid.txt").string() + "' -p '" +
                              (params / "par_photo_affine.txt").string() + "' -out '" +
                              dir.string() + "' -threads " + std::to_string(threads) + " > '" +
                              (dir / "stdout.txt").string() + "' 2>&1";
  const auto t0 = std::chrono::steady_clock::now();
  const double c0 = CpuSeconds(RUSAGE_CHILDREN);
  // std::system is not thread-safe (it changes signal dispositions); the bench calls it from
  // its one thread.
  const int status = std::system(command.c_str());  // NOLINT(concurrency-mt-unsafe)
  run.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  run.cpu_seconds = CpuSeconds(RUSAGE_CHILDREN) - c0;
  if (status != 0) {
    run.error = "elastix exit status " + std::to_string(status);
    return run;
  }
  try {
    run.moving_to_fixed = MovingToFixed(ReadElastix(dir / "TransformParameters.0.txt"),
                                        ReadElastix(dir / "TransformParameters.1.txt"));
    run.ok = true;
  } catch (const Error& e) {
    run.error = e.what();
  }
  return run;
}

}  // namespace skintrack::bench
