// The regions of interest registration_bench passes to RegisterToBaseline (--masks).
#pragma once

#include <opencv2/core.hpp>
#include <string>

#include "skintrack/core/body_sites.h"
#include "skintrack/phantom/phantom.h"

namespace skintrack::bench {

enum class MaskMode {
  kPipeline,  // skin minus lesions from the classical segmenter, as the service pipeline passes
  kTruth,     // skin minus lesions (grown 7 px) from the phantom truth
  kNone,      // whole images
};

// Throws Error(kInvalidArgument) for anything but pipeline, truth or none.
MaskMode ParseMaskMode(const std::string& text);
const char* MaskModeName(MaskMode mode);

// The mask of visit `v` under `mode` (8-bit, 255 inside); empty for kNone, and for kPipeline when
// the segmenter leaves (almost) nothing, in which case the registration uses the whole image.
cv::Mat MaskFor(MaskMode mode, const phantom::Visit& v, Condition condition);

}  // namespace skintrack::bench
