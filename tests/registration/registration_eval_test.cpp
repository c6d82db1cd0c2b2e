// Evaluation (label `eval`, not in the default run): phantom pairs with known truth and the real
// serial pairs in ../shared/data (skipped with a message when absent). Prints figures and asserts
// floors that a regression would break; the full table is `build/registration_bench`.
#include <gtest/gtest.h>

#include <cstdio>
#include <filesystem>
#include <opencv2/imgcodecs.hpp>

#include "skintrack/phantom/phantom.h"
#include "skintrack/registration/registration.h"

namespace skintrack::registration {
namespace {

double MeanError(const phantom::Series& s, int visit, const cv::Matx23d& m) {
  const phantom::Visit& v = s.visits[static_cast<std::size_t>(visit)];
  double sum = 0;
  int n = 0;
  for (int y = 0; y < v.image.rows; y += 16) {
    for (int x = 0; x < v.image.cols; x += 16) {
      if (v.skin_mask.at<unsigned char>(y, x) == 0) continue;
      const cv::Point2d t = s.MapToBaseline(visit, cv::Point2d(x, y));
      if (t.x < 0 || t.y < 0 || t.x > v.image.cols - 1 || t.y > v.image.rows - 1) continue;
      const cv::Point2d e(m(0, 0) * x + m(0, 1) * y + m(0, 2), m(1, 0) * x + m(1, 1) * y + m(1, 2));
      sum += cv::norm(e - t);
      ++n;
    }
  }
  return n ? sum / n : 1e9;
}

TEST(RegistrationEval, PhantomPairsAcrossSkinTypes) {
  for (bool change : {false, true}) {
    double worst = 0, total = 0;
    int pairs = 0;
    for (int fitz = 1; fitz <= 6; ++fitz) {
      phantom::PhantomOptions o;
      o.condition = fitz % 2 ? Condition::kPsoriasis : Condition::kVitiligo;
      o.fitzpatrick = fitz;
      o.visits = 2;
      o.seed = 500 + static_cast<std::uint64_t>(fitz);
      o.lighting_changes = change;
      o.lesion_changes = change;
      o.new_lesions = change;
      const phantom::Series s = phantom::GeneratePhantom(o);
      const RegistrationResult r = RegisterToBaseline(s.visits[0].image, s.visits[1].image);
      const double e = MeanError(s, 1, r.matrix);
      std::printf("%s F%d rot %.1f scale %.3f: mean error %.3f px, converged %d, quality %.3f\n",
                  change ? "lighting+lesion" : "geometry-only", fitz,
                  s.visits[1].truth.pose.rotation_deg, s.visits[1].truth.pose.scale, e, r.converged,
                  r.quality);
      EXPECT_TRUE(r.converged) << r.stop_reason;
      worst = std::max(worst, e);
      total += e;
      ++pairs;
    }
    // Floors well above the measured figures (docs/registration.md), below a broken stage:
    // measured 0.055 / 0.008 px with the polish (whole images, no masks), 0.098 / 0.021 before it.
    EXPECT_LT(total / pairs, change ? 0.15 : 0.03);
    EXPECT_LT(worst, 1.0);
  }
}

TEST(RegistrationEval, RealSerialPairs) {
  const std::filesystem::path dir =
      std::filesystem::path(SKINTRACK_SHARED_DATA_DIR) / "serial-pairs";
  if (!std::filesystem::is_directory(dir)) GTEST_SKIP() << dir << " absent: real pairs skipped";
  int converged = 0;
  for (const char* name : {"257a4552", "32c70e1a", "366d7801", "90ba6c73", "R--7"}) {
    const cv::Mat a = cv::imread((dir / (std::string(name) + "_A.png")).string());
    const cv::Mat b = cv::imread((dir / (std::string(name) + "_B.png")).string());
    ASSERT_FALSE(a.empty() || b.empty()) << name;
    const RegistrationResult r = RegisterToBaseline(a, b);
    std::printf("%s: converged %d quality %.3f overlap %.3f inliers %d: %s\n", name, r.converged,
                r.quality, r.overlap_fraction, r.feature_inliers, r.stop_reason.c_str());
    converged += r.converged;
    // Looked at in the blend overlays: these two align (quality 0.25 and 0.21 when measured).
    if (std::string(name) == "366d7801" || std::string(name) == "90ba6c73") {
      EXPECT_TRUE(r.converged) << name;
      EXPECT_GT(r.quality, 0.18) << name;
    }
    // This one is visibly misaligned (double hands): it must be flagged, not returned as good.
    if (std::string(name) == "R--7") {
      EXPECT_FALSE(r.converged) << name;
    }
  }
  std::printf("real pairs converged: %d of 5\n", converged);
}

}  // namespace
}  // namespace skintrack::registration
