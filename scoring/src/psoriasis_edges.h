// Private to the classical psoriasis segmenter: tells plaques from diffuse blotchy erythema by
// their border.
#pragma once

#include <opencv2/core.hpp>

namespace skintrack::scoring::detail {

// The decision of the psoriasis split, in delta-a* units: normal-skin mode, lesion contrast above
// it, the border level as a share of the contrast, and the smallest step of redness across a
// border that counts as a plaque's (a step within the skin's own texture does not), and the mean
// redness above normal skin up to which a soft-bordered part may be diffuse erythema.
struct EdgeSplit {
  double normal_mode = 0, contrast = 0, level = 0, min_step = 0, mild_redness = 0;
};

// The parts of `lesion` (CV_8UC1 0/255, holes filled) whose border is a step of redness, and
// inside the others (soft borders: blotchy erythema, possibly with a plaque on it) the parts that
// have a step border at a higher level of `score` (CV_32F delta a*). `skin` bounds the outside
// of a border; `scale` (CV_8UC1, whitish scale) tells a thickly scaled plaque, whose red islands
// are stepped against its own scale, from blotches around a plaque. Parts smaller than
// `min_area_pixels` found at higher levels are ignored.
cv::Mat KeepSharpBordered(const cv::Mat& lesion, const cv::Mat& score, const cv::Mat& skin,
                          const cv::Mat& scale, const EdgeSplit& split, double min_area_pixels);

}  // namespace skintrack::scoring::detail
