#include "skintrack/scoring/quality.h"

#include <algorithm>
#include <cstdio>
#include <opencv2/imgproc.hpp>

#include "skintrack/core/error.h"
#include "skintrack/scoring/segmentation.h"

namespace skintrack::scoring {

QualityReport CheckQuality(const cv::Mat& bgr, const QualityOptions& options) {
  if (bgr.empty() || bgr.type() != CV_8UC3) {
    throw Error(ErrorCode::kInvalidArgument, "quality gate needs an 8-bit colour image");
  }
  QualityReport q;
  cv::Mat small = bgr;
  const int longer = std::max(bgr.cols, bgr.rows);
  if (longer > 800)
    cv::resize(bgr, small, cv::Size(), 800.0 / longer, 800.0 / longer, cv::INTER_AREA);
  cv::Mat grey;
  cv::cvtColor(small, grey, cv::COLOR_BGR2GRAY);
  cv::Mat lap;
  cv::Laplacian(grey, lap, CV_32F);
  cv::Scalar mean, stddev;
  cv::meanStdDev(lap, mean, stddev);
  q.sharpness = stddev[0] * stddev[0];
  q.mean_grey = cv::mean(grey)[0];
  q.clipped = double(cv::countNonZero(grey <= 3) + cv::countNonZero(grey >= 252)) /
              static_cast<double>(grey.total());
  const cv::Mat skin = SegmentSkin(small, 512);
  q.skin_fraction = double(cv::countNonZero(skin)) / static_cast<double>(skin.total());
  char buf[160];
  if (q.sharpness < options.min_sharpness) {
    std::snprintf(buf, sizeof buf, "blurred: sharpness %.1f below %.1f", q.sharpness,
                  options.min_sharpness);
    q.reasons.emplace_back(buf);
  }
  if (q.mean_grey < options.min_mean_grey || q.mean_grey > options.max_mean_grey) {
    std::snprintf(buf, sizeof buf, "exposure: mean grey %.0f outside %.0f-%.0f", q.mean_grey,
                  options.min_mean_grey, options.max_mean_grey);
    q.reasons.emplace_back(buf);
  }
  if (q.clipped > options.max_clipped) {
    std::snprintf(buf, sizeof buf, "exposure: %.0f %% of pixels clipped", 100 * q.clipped);
    q.reasons.emplace_back(buf);
  }
  if (q.skin_fraction < options.min_skin_fraction) {
    std::snprintf(buf, sizeof buf, "skin covers %.1f %% of the image, below %.1f %%",
                  100 * q.skin_fraction, 100 * options.min_skin_fraction);
    q.reasons.emplace_back(buf);
  }
  q.passed = q.reasons.empty();
  return q;
}

}  // namespace skintrack::scoring
