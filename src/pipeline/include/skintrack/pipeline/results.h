// The results codec: the names of the results the pipeline stores, one small struct to append a
// result version, and the readers of the latest versions. Results are appended, never
// overwritten: each carries the algorithm and pipeline version, what it was computed from
// (`inputs`) and how (`provenance`).
#pragma once

#include <cstdint>
#include <nlohmann/json.hpp>
#include <opencv2/core.hpp>
#include <optional>
#include <string>

#include "skintrack/storage/store.h"

namespace skintrack::pipeline {

// Version of the processing pipeline (which steps, which defaults); stored with its results.
inline constexpr const char* kPipelineVersion = "1.0.0";  // skintrack pipeline

// The names under which a capture's results are stored (the keys of "results" in the API).
namespace result {
inline constexpr char kQuality[] = "quality";                 // measurement: the quality gate
inline constexpr char kLesionMask[] = "lesion";               // mask: lesions (PNG 0/255)
inline constexpr char kSkinMask[] = "skin";                   // mask: skin (PNG 0/255)
inline constexpr char kToBaseline[] = "to_baseline";          // registration to the site's baseline
inline constexpr char kChange[] = "change";                   // measurement: change against it
inline constexpr char kMeasurements[] = "measurements";       // measurement: areas, colours, grades
inline constexpr char kPasiSite[] = "pasi_site";              // score: PASI of the site
inline constexpr char kBsaPercent[] = "bsa_percent";          // score: involved BSA %
inline constexpr char kVasiSite[] = "vasi_site";              // score: VASI of the site
inline constexpr char kBaselineChoice[] = "baseline_choice";  // a clinician's baseline choice
// measurement: the annotators' agreement with the consensus lesion mask (pipeline/annotations.h)
inline constexpr char kAnnotationAgreement[] = "annotation_agreement";
}  // namespace result

// One new version of a result of a capture.
struct ResultRecord {
  storage::ResultKind kind = storage::ResultKind::kMeasurement;
  std::string name;  // one of result::k...
  storage::ResultSource source = storage::ResultSource::kAutomated;
  std::string algorithm;
  std::optional<double> value;  // a non-finite value is stored as absent
  nlohmann::json payload = nlohmann::json::object();
  nlohmann::json inputs = nlohmann::json::object();
  nlohmann::json provenance = nlohmann::json::object();
  std::optional<std::string> blob;  // stored first when given (e.g. a mask PNG)
};

// Appends `record` as a new version (algorithm version kPipelineVersion). Throws skintrack::Error.
storage::Result Append(storage::Store& store, std::int64_t capture_id, const ResultRecord& record,
                       const std::string& actor);

// Whether `r` is a reviewed mask: one a person drew or settled (a clinician's correction, source
// clinician; the consensus of several annotations, source consensus) rather than a segmenter's.
// A capture's reviewed lesion mask stays in force over the segmenters, teaches the patient
// reference of its site's follow-ups and is a training photo of the learned segmenter.
bool IsReviewedMask(const storage::Result& r);

// The capture's stored photo, decoded with its orientation applied (skintrack::DecodeOriented):
// the pixels every stage sees. Error(kImageDecode) naming the capture and the reason when it does
// not decode in full (the worker then marks the capture failed, not retryable).
cv::Mat DecodeStoredImage(storage::Store& store, const storage::Capture& capture);

// A mask as PNG bytes. Error(kInternal) when encoding fails.
std::string EncodePng(const cv::Mat& mask);

// The latest version of the capture's result `name` (any kind), if any.
std::optional<storage::Result> LatestResult(storage::Store& store, std::int64_t capture_id,
                                            const std::string& name);

// The capture's lesion mask in force when it is a reviewed one (IsReviewedMask): the latest
// version of result::kLesionMask, if it is a person's. Nothing when it is a segmenter's or absent.
std::optional<storage::Result> LatestReviewedLesionMask(storage::Store& store,
                                                        std::int64_t capture_id);

// The latest version of the capture's mask result `name` (result::kLesionMask, kSkinMask), if any,
// with the SHA-256 of its PNG, which names its pixels for ever (a cache key).
struct StoredMask {
  std::string sha256;
  cv::Mat mask;  // CV_8UC1
};
std::optional<StoredMask> LatestStoredMask(storage::Store& store, std::int64_t capture_id,
                                           const std::string& name);
// The same, the mask alone.
std::optional<cv::Mat> LatestMask(storage::Store& store, std::int64_t capture_id,
                                  const std::string& name);

}  // namespace skintrack::pipeline
