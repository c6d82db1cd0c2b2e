// The quality gate of a capture: is the photo sharp, well exposed and mostly skin enough to be
// measured? A capture that fails is kept and marked (the reasons say why), never scored, and never
// becomes a site's baseline.
#pragma once

#include <opencv2/core.hpp>
#include <string>
#include <vector>

namespace skintrack::scoring {

struct QualityOptions {
  double min_sharpness = 12.0;      // variance of the Laplacian of the grey image at 800 px
  double min_mean_grey = 35.0;      // too dark below
  double max_mean_grey = 235.0;     // washed out above
  double max_clipped = 0.25;        // share of pixels at 0-3 or 252-255
  double min_skin_fraction = 0.05;  // share of the image that is skin
};

struct QualityReport {
  bool passed = false;
  std::vector<std::string> reasons;  // empty when passed
  double sharpness = 0, mean_grey = 0, clipped = 0, skin_fraction = 0;
};

// The quality gate of a decoded capture (CV_8UC3), measured on a copy reduced to 800 px on its
// longer side. Throws Error(kInvalidArgument) for another image type. Pure; thread-safe.
QualityReport CheckQuality(const cv::Mat& bgr, const QualityOptions& options = {});

}  // namespace skintrack::scoring
