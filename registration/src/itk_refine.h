// Private bridge to ITK: intensity refinement of a transform with Mattes mutual information.
// Only OpenCV and std types cross this header; itk_refine.cpp is the one file that includes ITK.
//
// Coordinates: ITK's physical space is set up so that a physical point IS a full-resolution pixel
// coordinate (pixel centres at integers), whatever the working scale: a working copy reduced by
// cv::pyrDown k times (f = 2^k full pixels per working pixel; pixel i of the smaller image is
// centred on pixel 2i of the larger) gets spacing f and origin 0.
// Transforms here map FIXED points to MOVING points (ITK's convention), as 3x3 homogeneous
// matrices; registration.cpp converts to and from the public moving -> fixed matrix.
#pragma once

#include <cstdint>
#include <opencv2/core.hpp>
#include <string>

#include "skintrack/registration/registration.h"

namespace skintrack::registration::detail {

struct WorkingPair {
  cv::Mat fixed, moving;    // CV_32FC1 grey working copies
  double fixed_factor = 1;  // full-resolution pixels per working pixel
  double moving_factor = 1;
  cv::Mat fixed_mask, moving_mask;  // CV_8UC1 at the working sizes, or empty (= everything)
  cv::Size fixed_full_size;         // full-resolution size of the fixed image
};

struct RefineOutcome {
  bool ok = false;  // false: ITK failed (stop_reason says how)
  cv::Matx33d fixed_to_moving = cv::Matx33d::eye();
  double metric = 0;  // final optimiser value
  int iterations = 0;
  std::string stop_reason;
};

// Multi-resolution refinement of a rigid / similarity / affine transform starting at
// `fixed_to_moving_start`. Never throws for a failed optimisation (ok = false instead).
RefineOutcome RefineLinear(const WorkingPair& pair, TransformModel model,
                           const cv::Matx33d& fixed_to_moving_start,
                           const RegistrationOptions& options);

struct DeformOutcome {
  bool ok = false;
  // Displacement of the B-spline stage in the fixed frame, sampled at full-resolution pixels
  // (k * step, l * step): CV_64FC2, element (l, k) = d such that the moving point of fixed point x
  // is A (x + d(x)) with A the linear transform the stage started from.
  cv::Mat displacement;
  int step = 4;
  double metric = 0;
  int iterations = 0;
  std::string stop_reason;
};

// Smooth B-spline refinement on top of the linear `fixed_to_moving` transform.
DeformOutcome RefineDeformable(const WorkingPair& pair, const cv::Matx33d& fixed_to_moving,
                               const RegistrationOptions& options);

}  // namespace skintrack::registration::detail
