// THE segmenter of a capture, decided here only (docs/pipeline.md, "Segmenter choice"), first
// that applies:
//   1. the capture's own reviewed lesion mask (IsReviewedMask: clinician-corrected, or the
//      consensus of annotations) stays in force (with its stored skin);
//   2. a follow-up of a site whose baseline has a reviewed lesion mask: the patient
//      reference segmenter fitted on the baseline photo and that mask (+ the baseline's stored
//      skin mask), combined with the active model of the data directory when there is one;
//   3. the active model of the data directory for the condition;
//   4. the classical segmenter of the condition.
#pragma once

#include <cstdint>
#include <memory>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>

#include "skintrack/pipeline/pipeline.h"
#include "skintrack/scoring/segmentation.h"
#include "skintrack/storage/store.h"

namespace skintrack::pipeline {

struct CaptureSegmenter {
  std::shared_ptr<const scoring::Segmenter> segmenter;
  bool clinician_mask = false;  // the segmenter returns the reviewed (clinician / consensus) mask
  // What the masks were made with, stored in the provenance of every mask, measurement and score:
  // {"segmenter": name and version, "model_id": the model (null for the classical segmenter and
  // a clinician's mask), "general_model_id", "reference": {capture_id, mask_result_id,
  // mask_version} for the patient reference}.
  nlohmann::json provenance = nlohmann::json::object();
};
CaptureSegmenter SegmenterFor(storage::Store& store, const storage::Capture& capture,
                              const PipelineOptions& options);
// The same with the site's baseline already found (FindBaseline), as ProcessCapture has it: the
// series is not read a second time for the patient reference.
CaptureSegmenter SegmenterFor(storage::Store& store, const storage::Capture& capture,
                              const PipelineOptions& options,
                              const std::optional<std::int64_t>& site_baseline);

// The patient model id of a reference fitted on `baseline_capture_id`'s corrected mask version
// `mask_version`: "patient-c<capture>-m<version>" (+ "+<general model id>" when combined).
std::string PatientModelId(std::int64_t baseline_capture_id, int mask_version,
                           const std::string& general_model_id);

// Fitted reference segmenters kept in memory (fitting one takes a fraction of a second to a few
// seconds; a site's follow-ups share it). Keyed by the contents (image and mask hashes, general
// model id), so a new mask version or model is a new entry. Returns how many are cached.
std::size_t CachedReferenceSegmenters();

}  // namespace skintrack::pipeline
