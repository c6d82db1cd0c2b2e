// Private: the final sub-pixel polish of a linear alignment, a robust Gauss-Newton
// (Lucas-Kanade) fit of the geometric transform together with a smooth photometric model, on the
// grey working copies. OpenCV and std only (no ITK).
//
// Why: the ITK refinement maximises Mattes mutual information on sampled points (40 000 then); it
// stops 0.03-0.3 px from the truth on some pairs, and a smooth lighting change (an exposure ramp
// across the photo) blurs the joint histogram that mutual information relies on. Here every
// selected pixel's intensity is compared directly, with the lighting change modelled rather than
// tolerated: fixed(x) ~ g(x) * moving(W(x)) + o, g a quadratic polynomial of the position. Pixels
// that do not follow the model (lesions that changed, specular spots) are down-weighted (IRLS:
// Huber for two iterations, then Tukey's biweight, which gives gross outliers weight 0). Its
// basin is a few pixels, so it polishes a result, it does not find one.
//
// Coordinates: all matrices are 3x3 homogeneous maps between WORKING-copy pixels (pixel centres
// at integers), FIXED -> MOVING (the direction the resampling needs).
#pragma once

#include <opencv2/core.hpp>
#include <string>

#include "skintrack/registration/registration.h"

namespace skintrack::registration::detail {

// Margin, in working pixels, kept from every excluded region (lesions, background) by the polish
// and by LocalCorrelation. Both images are smoothed, and the two photos of a pair are rendered
// at different scales, so an edge is blurred differently in each; where the region of interest
// keeps only one flank of an edge (the skin just outside a lesion), that mismatch pulls the fit
// toward the lesion. Measured on phantom pairs with the pipeline's masks: 3 px left vitiligo pairs
// at 0.03-0.07 px, 8 px brought them to 0.002-0.005 px (the phantom-truth masks, grown by 7 px,
// showed no such bias).
constexpr int kRoiMargin = 8;

// Both regions of interest eroded by kRoiMargin (outside the image counts as excluded).
void ErodeRoi(const cv::Mat& fixed_roi, const cv::Mat& moving_roi, cv::Mat* fixed_out,
              cv::Mat* moving_out);

// Local correlation of two aligned grey images (CV_32F, one size) over the nonzero pixels of
// `mask`: sum of local covariances / sum of the products of local standard deviations, in 9 x 9
// windows, after a Gaussian smoothing (sigma 1 px) that `fixed` and `warped` must already have.
// In [-1, 1]. Invariant to a smooth change of gain and offset (lighting), sensitive to
// sub-pixel misalignment (it falls with the square of the error on textured skin). Used to
// decide whether the polish is kept; the mask should be eroded (ErodeRoi) so that windows stay
// inside the region of interest. Returns 0 when fewer than 64 pixels are in the mask.
double LocalCorrelation(const cv::Mat& fixed, const cv::Mat& warped, const cv::Mat& mask);

struct PolishOutcome {
  bool ok = false;  // false: too few usable pixels or a singular system; `note` says which
  cv::Matx33d fixed_to_moving = cv::Matx33d::eye();  // working pixels
  int iterations = 0;                                // Gauss-Newton iterations over both levels
  int points = 0;                                    // pixels used at the finest level
  double robust_sigma = 0;  // residual scale (1.4826 MAD) at the end, grey levels
  std::string note;
};

// `fixed`, `moving`: CV_32FC1 working copies; `fixed_roi`, `moving_roi`: CV_8UC1 of their sizes
// (nonzero = usable). `points` pixels (highest fixed-image gradient among the usable ones) are
// used at the finest level. Deterministic; never throws for a failed fit.
PolishOutcome PolishLinear(const cv::Mat& fixed, const cv::Mat& moving, const cv::Mat& fixed_roi,
                           const cv::Mat& moving_roi, TransformModel model,
                           const cv::Matx33d& fixed_to_moving_start, int points);

}  // namespace skintrack::registration::detail
