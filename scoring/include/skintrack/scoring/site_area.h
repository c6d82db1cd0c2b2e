// The lesion (and vitiligo envelope) area of a capture as a fraction of its SITE, so that it does
// not depend on the photo's field of view: a photo taken closer, or showing part of the site, sees
// another share of lesion. The change is measured where both photos see the site and applied to
// the baseline's own fraction. Every mask here is already in the BASELINE's frame (the caller
// warps the visit's masks with its registration): CV_8UC1 of the baseline's size, non-zero = set.
#pragma once

#include <opencv2/core.hpp>
#include <optional>
#include <string>

namespace skintrack::scoring {

struct SiteAreaInput {
  cv::Mat baseline_skin, baseline_lesion;  // the baseline's own masks
  cv::Mat baseline_envelope;               // vitiligo: the baseline's VasiEnvelope; else empty
  cv::Mat seen;                            // baseline pixels the visit's photo covers
  cv::Mat lesion;                          // the visit's lesion mask, warped
  cv::Mat envelope;                        // vitiligo: the visit's VasiEnvelope, warped
};

struct SiteArea {
  bool used = false;  // false: the caller falls back to the photo's own fractions; `note` says why
  std::string note;
  double lesion_fraction = 0;
  std::optional<double> envelope_fraction;  // vitiligo
  double unseen_skin_fraction = 0;          // of the baseline's skin, not in this photo
};

// Not used when the baseline shows no skin or the photo shows less than half of it. Throws
// Error(kInvalidArgument) when the masks' sizes differ. Pure; thread-safe.
SiteArea MeasureSiteArea(const SiteAreaInput& input);

}  // namespace skintrack::scoring
