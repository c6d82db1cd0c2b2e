// The change of a capture's lesions against its site's baseline, in the baseline's frame: one
// function for the stored result::kChange, the change map the API serves and the report's
// figure, so that what a clinician sees is what was stored.
#pragma once

#include <cstdint>
#include <optional>
#include <string>

#include "skintrack/registration/registration.h"
#include "skintrack/scoring/change.h"
#include "skintrack/storage/store.h"

namespace skintrack::pipeline {

// A capture's lesion mask and its field of view (an all-set mask of its size), warped with its
// registration into the baseline's frame: what the change and the site area both compare, warped
// once per capture (two full-resolution warps each).
struct MasksInBaselineFrame {
  cv::Mat lesion;  // CV_8UC1 of reg.fixed_size
  cv::Mat seen;    // CV_8UC1 of reg.fixed_size: 255 where the photo sees the baseline frame
};
MasksInBaselineFrame WarpToBaselineFrame(const cv::Mat& lesion,
                                         const registration::RegistrationResult& reg);

// ChangeInBaselineFrame below, from masks already warped.
scoring::MaskChange ChangeInBaselineFrame(const cv::Mat& baseline_lesion,
                                          const cv::Mat& baseline_skin,
                                          const MasksInBaselineFrame& warped);

// The capture's `lesion` mask (its own frame) warped with `reg` and compared with the baseline's
// lesion mask where the photo sees the baseline's skin (the warped field of view AND the
// baseline's skin mask). Masks CV_8UC1, non-zero = set; `baseline_lesion` and `baseline_skin` of
// reg.fixed_size. Throws Error(kInvalidArgument) on size mismatch.
scoring::MaskChange ChangeInBaselineFrame(const cv::Mat& baseline_lesion,
                                          const cv::Mat& baseline_skin, const cv::Mat& lesion,
                                          const registration::RegistrationResult& reg);

// ChangeInBaselineFrame from the stored masks of the capture and of its baseline and its stored
// registration (a baseline against itself: all persisting). std::nullopt (with the reason in
// `why_not`) when the capture has no converged registration or a mask is missing.
struct StoredChangeResult {
  scoring::MaskChange change;
  std::int64_t baseline_capture_id = 0;
};
std::optional<StoredChangeResult> StoredChange(storage::Store& store,
                                               const storage::Capture& capture,
                                               std::string* why_not = nullptr);

}  // namespace skintrack::pipeline
