// Shared pieces of registration_bench: statistics, CPU time, and the error of an estimated
// mapping against a phantom's truth. Pixels are full-resolution pixels with centres at integer
// coordinates (the convention of registration.h).
#pragma once

#include <cmath>
#include <opencv2/core.hpp>
#include <vector>

#include "skintrack/phantom/phantom.h"

namespace skintrack::bench {

// Linear interpolation between order statistics; NaN for an empty vector.
double Percentile(std::vector<double> v, double q);
double Mean(const std::vector<double>& v);

// CPU seconds of this process (all threads; RUSAGE_SELF) or of its waited-for children
// (RUSAGE_CHILDREN): on a shared machine wall time measures the neighbours too, CPU time mostly
// does not.
double CpuSeconds(int who);

struct PairError {
  double mean = NAN, p95 = NAN;  // pixels; NaN when no grid point qualified
};

PairError Summarise(const std::vector<double>& distances);

cv::Point2d Apply(const cv::Matx23d& m, const cv::Point2d& p);
cv::Mat Grey8(const cv::Mat& bgr);

// Distance between the estimated and the true mapping over a 16-pixel grid of the moving visit's
// skin pixels whose true baseline position lies inside the baseline image. `estimate` maps a
// moving pixel to the baseline frame.
template <typename MapFn>
PairError ErrorOf(const phantom::Series& series, int visit, MapFn&& estimate) {
  const phantom::Visit& v = series.visits[static_cast<std::size_t>(visit)];
  const cv::Size size = series.options.size;
  std::vector<double> d;
  for (int y = 0; y < v.image.rows; y += 16) {
    for (int x = 0; x < v.image.cols; x += 16) {
      if (v.skin_mask.at<unsigned char>(y, x) == 0) continue;
      const cv::Point2d truth = series.MapToBaseline(visit, cv::Point2d(x, y));
      if (truth.x < 0 || truth.y < 0 || truth.x > size.width - 1 || truth.y > size.height - 1) {
        continue;
      }
      d.push_back(cv::norm(estimate(cv::Point2d(x, y)) - truth));
    }
  }
  return Summarise(d);
}

}  // namespace skintrack::bench
