// DeformationPairs (declared in phantom_pairs.h): non-rigid phantoms, linear against deformable.
#include <iomanip>
#include <opencv2/imgproc.hpp>
#include <vector>

#include "bench_common.h"
#include "phantom_pairs.h"
#include "skintrack/phantom/phantom.h"

namespace skintrack::bench {
namespace {

namespace reg = skintrack::registration;

// Error in the baseline frame: for baseline skin pixels q on a 16 px grid, the moving pixel m the
// result shows at q must map back to q under the truth. Works for the matrix and the field alike.
PairError FixedFrameError(const phantom::Series& series, int visit,
                          const reg::RegistrationResult& r) {
  const phantom::Visit& base = series.visits[0];
  cv::Matx23d inverse;
  cv::invertAffineTransform(r.matrix, inverse);
  std::vector<double> d;
  for (int y = 0; y < base.image.rows; y += 16) {
    for (int x = 0; x < base.image.cols; x += 16) {
      if (base.skin_mask.at<unsigned char>(y, x) == 0) continue;
      cv::Point2d m;
      if (!r.field.empty()) {
        const cv::Vec2f f = r.field.at<cv::Vec2f>(y, x);
        m = cv::Point2d(f[0], f[1]);
      } else {
        m = Apply(inverse, cv::Point2d(x, y));
      }
      if (m.x < 0 || m.y < 0 || m.x > base.image.cols - 1 || m.y > base.image.rows - 1) continue;
      d.push_back(cv::norm(series.MapToBaseline(visit, m) - cv::Point2d(x, y)));
    }
  }
  return Summarise(d);
}

}  // namespace

void DeformationPairs(const BenchConfig& config, std::ostream& out) {
  out << std::fixed << std::setprecision(3) << "\n== smooth deformation " << config.deformation
      << " px (lighting + lesion change), error in the baseline frame\n";
  std::vector<double> linear, deformable, seconds;
  int applied = 0;
  for (int fitz = 1; fitz <= 6; ++fitz) {
    phantom::PhantomOptions po;
    po.condition = fitz % 2 ? Condition::kPsoriasis : Condition::kVitiligo;
    po.visits = config.visits;
    po.seed = static_cast<std::uint64_t>(config.seed0 + fitz);
    po.fitzpatrick = fitz;
    po.size = config.size;
    po.deformation_px = config.deformation;
    const phantom::Series series = phantom::GeneratePhantom(po);
    for (int k = 1; k < config.visits; ++k) {
      const cv::Mat& moving = series.visits[static_cast<std::size_t>(k)].image;
      reg::RegistrationOptions o = config.options;
      const reg::RegistrationResult a = reg::RegisterToBaseline(series.visits[0].image, moving, o);
      o.deformable = true;
      const reg::RegistrationResult b = reg::RegisterToBaseline(series.visits[0].image, moving, o);
      const PairError ea = FixedFrameError(series, k, a), eb = FixedFrameError(series, k, b);
      linear.push_back(ea.mean);
      deformable.push_back(eb.mean);
      seconds.push_back(b.seconds);
      applied += b.deformable_applied;
      out << "F" << fitz << " visit " << k << ": linear mean " << ea.mean << " p95 " << ea.p95
          << " | deformable mean " << eb.mean << " p95 " << eb.p95 << " (" << b.deformable_note
          << ", " << b.seconds << " s)\n";
    }
  }
  out << "linear: mean " << Mean(linear) << " px; with the deformable stage: mean "
      << Mean(deformable) << " px, applied " << applied << "/" << deformable.size()
      << ", wall time median " << Percentile(seconds, 0.5) << " s\n";
}

}  // namespace skintrack::bench
