// The stored masks of a capture for its DICOM Segmentation (`skintrack export --format
// dicom-seg`, and `skintrack dicom push` beside the photo): the latest lesion mask result,
// whatever made it, and the latest skin mask when there is one. (A cmd_ file so that the CLI's
// source glob picks it up; it registers no command.)
#include <nlohmann/json.hpp>
#include <optional>
#include <string>

#include "dicom_export.h"
#include "skintrack/pipeline/results.h"

namespace skintrack::cli {
namespace {

dicom::MaskLayer LayerOf(storage::Store& store, const storage::Result& r) {
  dicom::MaskLayer m;
  m.png = store.ReadBlob(r.blob_sha256);
  m.result_id = r.id;
  m.manual = pipeline::IsReviewedMask(r);  // a clinician's correction or an annotators' consensus
  const nlohmann::json payload = nlohmann::json::parse(r.payload_json, nullptr, false);
  const nlohmann::json segmenter =
      payload.is_object() ? payload.value("segmenter", nlohmann::json()) : nlohmann::json();
  m.algorithm = segmenter.is_string() ? segmenter.get<std::string>() : r.algorithm;
  m.algorithm_version = r.algorithm_version;
  m.description = std::string(storage::ResultSourceName(r.source)) + " mask, " + r.algorithm +
                  ", version " + std::to_string(r.version);
  const nlohmann::json model =
      payload.is_object() ? payload.value("model_id", nlohmann::json()) : nlohmann::json();
  if (model.is_string()) m.description += ", model " + model.get<std::string>();
  m.created_at_ms = r.created_at;
  return m;
}

}  // namespace

std::optional<dicom::SegmentationMasks> StoredMasks(storage::Store& store,
                                                    const storage::Capture& capture) {
  std::optional<storage::Result> lesion, skin;
  for (const storage::Result& r : store.repository().LatestResults(capture.id)) {
    if (r.kind != storage::ResultKind::kMask || r.blob_sha256.empty()) continue;
    if (r.name == pipeline::result::kLesionMask) lesion = r;
    if (r.name == pipeline::result::kSkinMask) skin = r;
  }
  if (!lesion) return std::nullopt;
  dicom::SegmentationMasks masks;
  masks.lesion = LayerOf(store, *lesion);
  if (skin) masks.skin = LayerOf(store, *skin);
  return masks;
}

}  // namespace skintrack::cli
