#include "skintrack/annotation/document.h"

#include <nlohmann/json.hpp>

#include "json_values.h"
#include "labels_json.h"
#include "skintrack/annotation/rle.h"
#include "skintrack/core/error.h"

namespace skintrack::annotation {
namespace {

using nlohmann::json;
namespace jv = json_values;

// -0.0 and 0.0 are the same coordinate; nlohmann writes them differently.
double Canonical(double v) { return v == 0.0 ? 0.0 : v; }

std::map<MaskClass, cv::Mat> ParseMasks(const json& j, cv::Size image_size) {
  if (!j.is_object()) jv::Refuse("masks", "must be an object of masks by class");
  std::map<MaskClass, cv::Mat> masks;
  for (const auto& item : j.items()) {
    const std::string where = "masks." + item.key().substr(0, 64);
    MaskClass cls{};
    try {
      cls = ParseMaskClass(item.key());
    } catch (const Error& e) {
      jv::Refuse(where, e.what());
    }
    // Unknown members are refused here (a document is ours), ignored in COCO files (others').
    if (item.value().is_object()) jv::RefuseUnknownMembers(item.value(), {"size", "counts"}, where);
    masks[cls] = DecodeRle(jv::RleFromJson(item.value(), where, image_size, "the image"));
  }
  return masks;
}

MaskClass ParseClass(const json& j, const std::string& where) {
  const std::string text = jv::String(j, where);
  try {
    return ParseMaskClass(text);
  } catch (const Error& e) {
    jv::Refuse(where, e.what());
  }
}

// A required number member of an object.
double Member(const json& j, const char* key, const std::string& where) {
  const json* v = jv::Optional(j, key);
  if (!v) jv::Refuse(where, std::string("has no ") + key);
  return jv::Number(*v, where + "." + key);
}

std::vector<Box> ParseBoxes(const json& j) {
  if (!j.is_array()) jv::Refuse("boxes", "must be an array");
  std::vector<Box> boxes;
  for (std::size_t i = 0; i < j.size(); ++i) {
    const std::string where = "boxes[" + std::to_string(i) + "]";
    const json& b = j[i];
    if (!b.is_object()) jv::Refuse(where, "must be an object");
    jv::RefuseUnknownMembers(b, {"class", "x", "y", "width", "height"}, where);
    const json* cls = jv::Optional(b, "class");
    if (!cls) jv::Refuse(where, "has no class");
    boxes.push_back({ParseClass(*cls, where + ".class"), Member(b, "x", where),
                     Member(b, "y", where), Member(b, "width", where), Member(b, "height", where)});
  }
  return boxes;
}

std::vector<Keypoint> ParseKeypoints(const json& j) {
  if (!j.is_array()) jv::Refuse("keypoints", "must be an array");
  std::vector<Keypoint> keypoints;
  for (std::size_t i = 0; i < j.size(); ++i) {
    const std::string where = "keypoints[" + std::to_string(i) + "]";
    const json& k = j[i];
    if (!k.is_object()) jv::Refuse(where, "must be an object");
    jv::RefuseUnknownMembers(k, {"name", "x", "y"}, where);
    const json* name = jv::Optional(k, "name");
    if (!name) jv::Refuse(where, "has no name");
    keypoints.push_back(
        {jv::String(*name, where + ".name"), Member(k, "x", where), Member(k, "y", where)});
  }
  return keypoints;
}

}  // namespace

std::string EncodeDocument(const AnnotationContent& content, cv::Size image_size) {
  CheckContent(content, image_size);
  json masks = json::object();
  for (const auto& [cls, mask] : content.masks)
    masks[MaskClassName(cls)] = jv::RleToJson(EncodeRle(mask));
  json boxes = json::array();
  for (const Box& b : content.boxes) {
    boxes.push_back({{"class", MaskClassName(b.mask_class)},
                     {"x", Canonical(b.x)},
                     {"y", Canonical(b.y)},
                     {"width", Canonical(b.width)},
                     {"height", Canonical(b.height)}});
  }
  json keypoints = json::array();
  for (const Keypoint& k : content.keypoints) {
    keypoints.push_back({{"name", k.name}, {"x", Canonical(k.x)}, {"y", Canonical(k.y)}});
  }
  // nlohmann's objects keep their keys sorted, so the bytes depend on the content only.
  const json root = {{"masks", masks},
                     {"boxes", boxes},
                     {"keypoints", keypoints},
                     {"labels", LabelsToJson(content.labels)}};
  return root.dump();
}

AnnotationContent DecodeDocument(std::string_view bytes, cv::Size image_size) {
  json root;
  try {
    root = json::parse(bytes.begin(), bytes.end());
  } catch (const json::parse_error& e) {
    jv::Refuse("document", std::string("is not JSON: ") + e.what());
  }
  if (!root.is_object()) jv::Refuse("document", "must be a JSON object");
  // A misspelt member ("mask") would otherwise drop what it holds without a word.
  jv::RefuseUnknownMembers(root, {"masks", "boxes", "keypoints", "labels"}, "document");
  AnnotationContent content;
  if (const json* v = jv::Optional(root, "masks")) content.masks = ParseMasks(*v, image_size);
  if (const json* v = jv::Optional(root, "boxes")) content.boxes = ParseBoxes(*v);
  if (const json* v = jv::Optional(root, "keypoints")) content.keypoints = ParseKeypoints(*v);
  if (const json* v = jv::Optional(root, "labels")) content.labels = LabelsFromJson(*v, "labels");
  CheckContent(content, image_size);
  return content;
}

}  // namespace skintrack::annotation
