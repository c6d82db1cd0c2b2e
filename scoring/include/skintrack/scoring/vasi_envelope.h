// The vitiligo patch envelope that VASI scores: the area "involved" by a patch, inside which the
// residual depigmentation is measured. One rule for the measurements, the site area in the
// baseline frame and the `skintrack score` command.
#pragma once

#include <opencv2/core.hpp>

namespace skintrack::scoring {

// The segmenter's envelope when it gave one (`segmenter_envelope`), else VitiligoEnvelope() of
// the depigmented mask; clipped to `skin` when a skin mask is given; always including the
// depigmented pixels themselves. Masks CV_8UC1 of one size, non-zero = set; returns 0/255.
// Throws Error(kInvalidArgument) for a lesion mask that is not CV_8UC1. Thread-safe.
cv::Mat VasiEnvelope(const cv::Mat& lesion, const cv::Mat& skin = cv::Mat(),
                     const cv::Mat& segmenter_envelope = cv::Mat());

}  // namespace skintrack::scoring
