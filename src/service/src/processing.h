// Pieces of the processing pipeline shared by the workers and the API (private to the service).
#pragma once

#include <cstdint>
#include <nlohmann/json.hpp>
#include <opencv2/core.hpp>
#include <optional>
#include <string>

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

// The latest version of the capture's mask result `name` ("lesion", "skin"), if any.
std::optional<cv::Mat> LatestMask(storage::Store& store, std::int64_t capture_id,
                                  const std::string& name);

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
