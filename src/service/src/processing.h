// Pieces of the processing pipeline shared by the workers and the API (private to the service).
#pragma once

#include <cstdint>
#include <nlohmann/json.hpp>
#include <opencv2/core.hpp>
#include <optional>
#include <string>
#include <utility>

#include "skintrack/registration/registration.h"
#include "skintrack/scoring/segmentation.h"
#include "skintrack/storage/store.h"

namespace skintrack::service {

// Appends a new version of result `name` of a capture (algorithm version kPipelineVersion); the
// blob (e.g. a mask PNG) is stored first when given. A non-finite value is stored as absent.
storage::Result Append(storage::Store& store, std::int64_t capture_id, storage::ResultKind kind,
                       const std::string& name, storage::ResultSource source,
                       const std::string& algorithm, std::optional<double> value,
                       const nlohmann::json& payload, const nlohmann::json& inputs,
                       const nlohmann::json& provenance, const std::string& actor,
                       std::optional<std::string> blob = std::nullopt);

// The capture's stored (re-encoded) image, decoded. Error(kImageDecode) when it does not decode.
cv::Mat DecodeStoredImage(storage::Store& store, const storage::Capture& capture);

// The latest version of the capture's result `name` (any kind), if any.
std::optional<storage::Result> LatestResult(storage::Store& store, std::int64_t capture_id,
                                            const std::string& name);

// The latest version of the capture's mask result `name` ("lesion", "skin"), if any.
std::optional<cv::Mat> LatestMask(storage::Store& store, std::int64_t capture_id,
                                  const std::string& name);

// The capture's latest stored registration to its baseline, when it converged: (baseline capture
// id, the transform with its sizes). The baseline itself has an identity registration.
std::optional<std::pair<std::int64_t, registration::RegistrationResult>> StoredRegistration(
    storage::Store& store, const storage::Capture& capture);

// The lesion (and vitiligo envelope) area of a capture as a fraction of its SITE, so that it does
// not depend on the photo's field of view (a photo taken closer, or showing part of the site,
// sees another share of lesion): the capture's masks are warped into the baseline's frame, the
// change is measured where both photos see the site, and applied to the baseline's own fraction.
// Not used (`used` false, `note` says why) when the capture has no converged registration, the
// baseline has no stored masks, or the photo shows less than half of the baseline's skin.
struct SiteArea {
  bool used = false;
  std::string note;
  std::int64_t baseline_capture_id = 0;
  double lesion_fraction = 0;
  std::optional<double> envelope_fraction;  // vitiligo
  double unseen_skin_fraction = 0;          // of the baseline's skin, not in this photo
  nlohmann::json ToJson() const;
};
SiteArea MeasureSiteArea(storage::Store& store, const storage::Capture& capture,
                         const scoring::Segmentation& segmentation);

// The grades of the capture's clinician assessments (later entries override earlier ones).
struct ClinicianInput {
  std::optional<int> erythema, induration, desquamation, depigmentation_level;
  std::int64_t assessment_id = 0;  // 0 = none
};
ClinicianInput LatestClinicianInput(storage::Store& store, std::int64_t capture_id);

// Measurements and scores of a capture from its image and masks, appended as new result versions
// (clinician grades and a supplied mask give clinician provenance).
void ScoreCapture(storage::Store& store, const storage::Capture& capture, const cv::Mat& image,
                  const scoring::Segmentation& segmentation, const std::string& actor,
                  const nlohmann::json& inputs);

}  // namespace skintrack::service
