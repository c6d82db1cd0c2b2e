// Measure and score one capture (the last steps of processing, and what runs again after a
// clinician's input): measurements of the photo, the site's area in the baseline frame, PASI /
// BSA or VASI with each sub-score's provenance, appended as new result versions.
#pragma once

#include <cstdint>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>

#include "skintrack/pipeline/change.h"
#include "skintrack/scoring/measure.h"
#include "skintrack/scoring/segmentation.h"
#include "skintrack/scoring/site_area.h"
#include "skintrack/storage/store.h"

namespace skintrack::pipeline {

// The grades of the capture's clinician assessments (later entries override earlier ones).
struct ClinicianInput {
  std::optional<int> erythema, induration, desquamation, depigmentation_level;
  std::int64_t assessment_id = 0;  // 0 = none
  bool any() const { return erythema || induration || desquamation || depigmentation_level; }
};
ClinicianInput LatestClinicianInput(storage::Store& store, std::int64_t capture_id);

// The capture's site area in its baseline's frame (scoring::MeasureSiteArea on the masks warped
// with the stored registration). Not used (`note` says why) without a converged registration or
// the baseline's stored masks.
struct SiteAreaOfCapture {
  scoring::SiteArea area;
  std::int64_t baseline_capture_id = 0;
};
// `warped`, when given, is the capture's lesion mask and field of view already warped with the
// registration just stored (ProcessCapture has them from the change).
SiteAreaOfCapture MeasureSiteArea(storage::Store& store, const storage::Capture& capture,
                                  const scoring::Segmentation& segmentation,
                                  const MasksInBaselineFrame* warped = nullptr);

// The measurements of the photo with its masks (scoring::Measure with the clinician's induration,
// when entered). Touches no store: ProcessCapture runs it beside the registration.
scoring::Measurements MeasureCapture(const storage::Capture& capture, const cv::Mat& image,
                                     const scoring::Segmentation& segmentation,
                                     const ClinicianInput& clinician);

// What ProcessCapture has already computed for ScoreCapture, so that it is not computed twice.
// All three come together or not at all: the measurements were made with this clinician input.
struct ScoreShortcuts {
  ClinicianInput clinician;
  scoring::Measurements measurements;
  std::optional<MasksInBaselineFrame> warped;  // absent: not registered to another capture
};

// Measurements and scores of a capture from its image and masks, appended as new result versions
// (clinician grades and a supplied mask give clinician provenance). `inputs` is stored with each;
// `segmenter` (CaptureSegmenter::provenance: segmenter, model_id, reference) joins each
// provenance.
void ScoreCapture(storage::Store& store, const storage::Capture& capture, const cv::Mat& image,
                  const scoring::Segmentation& segmentation, const std::string& actor,
                  const nlohmann::json& inputs, const nlohmann::json& segmenter,
                  const ScoreShortcuts* computed = nullptr);

}  // namespace skintrack::pipeline
