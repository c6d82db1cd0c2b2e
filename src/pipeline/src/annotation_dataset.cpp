// The COCO export of a Store's annotations (annotation_dataset.h); the import is in
// annotation_dataset_import.cpp.
#include "skintrack/pipeline/annotation_dataset.h"

#include <algorithm>
#include <cmath>
#include <map>
#include <nlohmann/json.hpp>
#include <set>
#include <utility>

#include "coco_mapping.h"
#include "skintrack/annotation/rle.h"
#include "skintrack/pipeline/annotations.h"
#include "skintrack/pipeline/results.h"

namespace skintrack::pipeline {
namespace {

using annotation::AnnotationContent;
using annotation::CocoAnnotation;
using annotation::CocoImage;

struct ExportedAnnotation {
  storage::AnnotationVersion version;
  AnnotationContent content;
};

struct ExportedCapture {
  storage::Capture capture;
  std::vector<ExportedAnnotation> annotations;
};

constexpr int kPage = 1000;

// Captures in id order with the annotation versions that count, read before anything is
// written into the dataset (the keypoint category needs every name first).
std::vector<ExportedCapture> Collect(storage::Store& store, const CocoExportOptions& options) {
  std::vector<ExportedCapture> out;
  std::int64_t after = 0;
  for (;;) {
    const auto ids = store.repository().AnnotatedCaptures(after, kPage);
    for (std::int64_t id : ids) {
      const auto capture = store.repository().FindCapture(id);
      if (!capture || (options.condition && capture->condition != *options.condition)) continue;
      ExportedCapture entry{*capture, {}};
      for (const auto& v : store.repository().LatestAnnotations(id)) {
        if (!CountsForConsensus(v)) continue;
        entry.annotations.push_back({v, LoadAnnotationContent(store, *capture, v)});
      }
      if (!entry.annotations.empty()) out.push_back(std::move(entry));
    }
    if (ids.size() < static_cast<size_t>(kPage)) break;
    after = ids.back();
  }
  return out;
}

// Token ids are opaque already; any other author ("coco:<a name>", "cli") may name a person.
std::string AnnotatorKey(const std::string& author, const CocoExportOptions& options) {
  if (!options.pseudonymise || author.rfind("token:", 0) == 0) return author;
  return "A-" + SubjectId(*options.pseudonymise, "annotator:" + author).substr(2);
}

std::optional<double> StoredIta(storage::Store& store, std::int64_t capture_id) {
  const auto r = LatestResult(store, capture_id, result::kMeasurements);
  if (!r) return std::nullopt;
  const auto payload = nlohmann::json::parse(r->payload_json, nullptr, false);
  if (!payload.is_object() || !payload.contains("ita_degrees")) return std::nullopt;
  const auto& v = payload.at("ita_degrees");
  if (!v.is_number() || !std::isfinite(v.get<double>()) || std::abs(v.get<double>()) > 90) {
    return std::nullopt;
  }
  return v.get<double>();
}

CocoImage ImageOf(storage::Store& store, const storage::Capture& c,
                  const CocoExportOptions& options) {
  CocoImage im;
  im.id = c.id;
  im.width = c.width;
  im.height = c.height;
  im.file_name = CocoFileName(c);
  im.capture_id = c.id;
  im.subject = options.pseudonymise ? SubjectId(*options.pseudonymise, c.patient_id) : c.patient_id;
  if (const auto patient = store.repository().FindPatient(c.patient_id)) {
    im.fitzpatrick = patient->info.fitzpatrick;
  }
  im.ita_degrees = StoredIta(store, c.id);
  return im;
}

// One annotation per mask class, one per box, one keypoint annotation for all the author's
// keypoints (visibility 0 for the landmarks they did not place).
void AppendAnnotations(const AnnotationContent& content, std::int64_t image_id,
                       const std::string& annotator, const std::vector<std::string>& names,
                       std::vector<CocoAnnotation>& out) {
  auto next = [&](std::int64_t category) {
    CocoAnnotation a;
    a.id = static_cast<std::int64_t>(out.size()) + 1;
    a.image_id = image_id;
    a.category_id = category;
    a.annotator = annotator;
    return a;
  };
  for (annotation::MaskClass c : annotation::kAllMaskClasses) {
    const auto it = content.masks.find(c);
    if (it == content.masks.end()) continue;
    CocoAnnotation a = next(coco_mapping::CategoryId(c));
    a.segmentation = annotation::EncodeRle(it->second);
    out.push_back(std::move(a));
  }
  for (const annotation::Box& b : content.boxes) {
    CocoAnnotation a = next(coco_mapping::CategoryId(b.mask_class));
    a.bbox = annotation::CocoBox{b.x, b.y, b.width, b.height};
    out.push_back(std::move(a));
  }
  if (content.keypoints.empty()) return;
  CocoAnnotation a = next(coco_mapping::kLandmarksId);
  a.keypoints.resize(names.size());
  for (const annotation::Keypoint& k : content.keypoints) {
    const auto pos = std::lower_bound(names.begin(), names.end(), k.name) - names.begin();
    a.keypoints[static_cast<size_t>(pos)] = {k.x, k.y, 2};
  }
  out.push_back(std::move(a));
}

std::vector<std::string> KeypointNames(const std::vector<ExportedCapture>& captures) {
  std::set<std::string> names;
  for (const auto& c : captures) {
    for (const auto& a : c.annotations) {
      for (const auto& k : a.content.keypoints) names.insert(k.name);
    }
  }
  return {names.begin(), names.end()};
}

}  // namespace

std::string CocoFileName(const storage::Capture& capture) {
  const std::string& t = capture.media_type;
  const char* ext = t == "image/jpeg" ? ".jpg" : t == "image/webp" ? ".webp" : ".png";
  return "capture-" + std::to_string(capture.id) + ext;
}

CocoExport BuildCocoDataset(storage::Store& store, const CocoExportOptions& options) {
  const std::vector<ExportedCapture> captures = Collect(store, options);
  const std::vector<std::string> names = KeypointNames(captures);
  CocoExport out;
  out.dataset.description = options.description;
  out.dataset.categories = coco_mapping::Categories(names);
  for (const ExportedCapture& c : captures) {
    CocoImage image = ImageOf(store, c.capture, options);
    for (const ExportedAnnotation& a : c.annotations) {
      const std::string annotator = AnnotatorKey(a.version.author, options);
      auto labels = coco_mapping::LabelsToStrings(a.content.labels);
      if (!labels.empty()) image.annotator_labels[annotator] = std::move(labels);
      AppendAnnotations(a.content, image.id, annotator, names, out.dataset.annotations);
      out.dataset.annotation_versions.push_back(a.version.id);
    }
    out.dataset.images.push_back(std::move(image));
    out.captures.push_back(c.capture);
  }
  std::sort(out.dataset.annotation_versions.begin(), out.dataset.annotation_versions.end());
  return out;
}

}  // namespace skintrack::pipeline
