// Change against the baseline, agreement with a reference mask, and the renderers clinicians look
// at (lesion overlay, change map), all on masks that are already in the same frame (for change:
// the baseline frame, after registration). Masks are CV_8UC1, non-zero = set. Thread-safe.
#pragma once

#include <opencv2/core.hpp>
#include <optional>

#include "skintrack/scoring/scores.h"

namespace skintrack::scoring {

struct MaskChange {
  cv::Mat new_mask;         // lesion now, not at baseline (0/255)
  cv::Mat persisting_mask;  // lesion at both
  cv::Mat cleared_mask;     // lesion at baseline, not now (cleared plaque / repigmented skin)
  long long baseline_pixels = 0, current_pixels = 0;
  long long new_pixels = 0, persisting_pixels = 0, cleared_pixels = 0;
  // (current - baseline) / baseline * 100; absent when the baseline has no lesion.
  std::optional<double> area_change_percent;
  Repigmentation repigmentation;  // from the two areas (vitiligo: depigmented masks)
};

// `valid` (optional) restricts the comparison to pixels seen in both captures (e.g. the warped
// field of view). Throws Error(kInvalidArgument) when sizes or types differ.
MaskChange CompareMasks(const cv::Mat& baseline_lesion, const cv::Mat& current_lesion,
                        const cv::Mat& valid = cv::Mat());

struct MaskAgreement {
  double dice = 0;  // 2|A and B| / (|A| + |B|); 1 when both are empty
  double iou = 0;   // |A and B| / |A or B|; 1 when both are empty
  double predicted_fraction = 0, truth_fraction = 0;  // of `domain` (or of the image)
  double area_error_points = 0;  // (predicted - truth) fraction, percentage points
};

// Agreement of a predicted mask with a reference. Fractions are of `domain` when given (e.g. the
// true skin mask) or of the whole image. Throws Error(kInvalidArgument) on size or type mismatch.
MaskAgreement CompareToTruth(const cv::Mat& predicted, const cv::Mat& truth,
                             const cv::Mat& domain = cv::Mat());

// The photo with lesions filled semi-transparently in magenta and outlined (a colour that is
// neither skin, plaque nor depigmented patch), the skin border thin grey when a skin mask is given,
// and a reference mask (an annotator's) outlined in green when given, so disagreement shows.
// Returns CV_8UC3 of the image's size. Throws Error(kInvalidArgument) on size or type mismatch.
cv::Mat RenderOverlay(const cv::Mat& bgr, const cv::Mat& lesion_mask,
                      const cv::Mat& skin_mask = cv::Mat(),
                      const cv::Mat& reference_mask = cv::Mat());

// The baseline photo with the change coloured: new = red, persisting = yellow, cleared /
// repigmented = green, each filled at 50 % and outlined. Throws Error(kInvalidArgument) on size
// mismatch.
cv::Mat RenderChangeMap(const cv::Mat& baseline_bgr, const MaskChange& change);

}  // namespace skintrack::scoring
