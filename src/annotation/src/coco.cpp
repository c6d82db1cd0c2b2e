#include "skintrack/annotation/coco.h"

#include <cmath>
#include <limits>
#include <nlohmann/json.hpp>
#include <opencv2/imgproc.hpp>
#include <set>
#include <unordered_map>

#include "json_values.h"
#include "skintrack/core/error.h"

namespace skintrack::annotation {
namespace {

using nlohmann::json;

constexpr int kMaxSide = 65535;  // COCO sizes beyond this are not photos
constexpr std::int64_t kMaxId = std::numeric_limits<std::int64_t>::max() / 2;

[[noreturn]] void Fail(const std::string& where, const std::string& what) {
  json_values::Refuse("COCO " + where, what);
}

// The shared readers (json_values.h), with the file's "COCO " prefix on the place.
std::int64_t Integer(const json& j, const std::string& where, std::int64_t lo, std::int64_t hi) {
  return json_values::Integer(j, "COCO " + where, lo, hi);
}
double Number(const json& j, const std::string& where) {
  return json_values::Number(j, "COCO " + where);
}
std::string String(const json& j, const std::string& where) {
  return json_values::String(j, "COCO " + where);
}
using json_values::Optional;

const json& Array(const json& parent, const char* key, const std::string& where) {
  if (!parent.contains(key)) Fail(where, std::string("has no \"") + key + "\" array");
  const json& a = parent.at(key);
  if (!a.is_array()) Fail(where + "." + key, "must be an array");
  return a;
}

std::map<std::string, std::string> StringMap(const json& j, const std::string& where) {
  if (!j.is_object()) Fail(where, "must be an object of strings");
  std::map<std::string, std::string> out;
  for (const auto& [key, value] : j.items()) out[key] = String(value, where + "." + key);
  return out;
}

void ParseImageExtension(const json& ext, const std::string& where, CocoImage& im) {
  if (!ext.is_object()) Fail(where, "must be an object");
  if (const json* v = Optional(ext, "capture_id"))
    im.capture_id = Integer(*v, where + ".capture_id", 1, kMaxId);
  if (const json* v = Optional(ext, "subject")) im.subject = String(*v, where + ".subject");
  if (const json* v = Optional(ext, "fitzpatrick"))
    im.fitzpatrick = static_cast<int>(Integer(*v, where + ".fitzpatrick", 1, 6));
  if (const json* v = Optional(ext, "monk"))
    im.monk = static_cast<int>(Integer(*v, where + ".monk", 1, 10));
  if (const json* v = Optional(ext, "ita_degrees")) {
    im.ita_degrees = Number(*v, where + ".ita_degrees");
    if (std::abs(*im.ita_degrees) > 90) Fail(where + ".ita_degrees", "must lie in -90..90");
  }
  if (const json* v = Optional(ext, "labels")) im.labels = StringMap(*v, where + ".labels");
  if (const json* v = Optional(ext, "annotator_labels")) {
    if (!v->is_object()) Fail(where + ".annotator_labels", "must be an object of label objects");
    for (const auto& [annotator, labels] : v->items()) {
      im.annotator_labels[annotator] = StringMap(labels, where + ".annotator_labels." + annotator);
    }
  }
}

void ParseInfoExtension(const json& ext, CocoDataset& d) {
  if (!ext.is_object()) Fail("info.skintrack", "must be an object");
  const json* v = Optional(ext, "annotation_versions");
  if (v == nullptr) return;
  if (!v->is_array()) Fail("info.skintrack.annotation_versions", "must be an array of ids");
  for (size_t i = 0; i < v->size(); ++i) {
    d.annotation_versions.push_back(Integer(
        (*v)[i], "info.skintrack.annotation_versions[" + std::to_string(i) + "]", 1, kMaxId));
  }
}

CocoImage ParseImage(const json& j, const std::string& where) {
  if (!j.is_object()) Fail(where, "must be an object");
  CocoImage im;
  if (!j.contains("id")) Fail(where, "has no id");
  im.id = Integer(j.at("id"), where + ".id", 0, kMaxId);
  if (!j.contains("width") || !j.contains("height")) Fail(where, "needs width and height");
  im.width = static_cast<int>(Integer(j.at("width"), where + ".width", 1, kMaxSide));
  im.height = static_cast<int>(Integer(j.at("height"), where + ".height", 1, kMaxSide));
  if (const json* v = Optional(j, "file_name")) im.file_name = String(*v, where + ".file_name");
  if (const json* v = Optional(j, "skintrack")) ParseImageExtension(*v, where + ".skintrack", im);
  return im;
}

CocoCategory ParseCategory(const json& j, const std::string& where) {
  if (!j.is_object()) Fail(where, "must be an object");
  CocoCategory c;
  if (!j.contains("id")) Fail(where, "has no id");
  c.id = Integer(j.at("id"), where + ".id", 0, kMaxId);
  if (!j.contains("name")) Fail(where, "has no name");
  c.name = String(j.at("name"), where + ".name");
  if (c.name.empty()) Fail(where + ".name", "must not be empty");
  if (const json* v = Optional(j, "supercategory"))
    c.supercategory = String(*v, where + ".supercategory");
  if (const json* v = Optional(j, "keypoints")) {
    if (!v->is_array()) Fail(where + ".keypoints", "must be an array of names");
    for (size_t i = 0; i < v->size(); ++i) {
      c.keypoint_names.push_back(String((*v)[i], where + ".keypoints[" + std::to_string(i) + "]"));
    }
  }
  return c;
}

Rle ParseRle(const json& j, const std::string& where, const CocoImage& image) {
  return json_values::RleFromJson(j, "COCO " + where, {image.width, image.height},
                                  "image " + std::to_string(image.id));
}

std::optional<Rle> ParseSegmentation(const json& j, const std::string& where,
                                     const CocoImage& image) {
  if (j.is_object()) return ParseRle(j, where, image);
  if (!j.is_array()) Fail(where, "must be polygons (an array) or an RLE object");
  if (j.empty()) return std::nullopt;  // boxes-only tools write []
  std::vector<std::vector<double>> polygons;
  for (size_t p = 0; p < j.size(); ++p) {
    const std::string at = where + "[" + std::to_string(p) + "]";
    if (!j[p].is_array() || j[p].size() < 6 || j[p].size() % 2 != 0) {
      Fail(at, "a polygon must be an array of at least 3 x, y pairs");
    }
    std::vector<double> poly;
    for (size_t i = 0; i < j[p].size(); ++i) {
      poly.push_back(Number(j[p][i], at + "[" + std::to_string(i) + "]"));
    }
    polygons.push_back(std::move(poly));
  }
  return EncodeRle(RasterisePolygons(polygons, {image.width, image.height}));
}

std::vector<CocoKeypoint> ParseKeypoints(const json& j, const std::string& where,
                                         const CocoCategory& category) {
  if (!j.is_array() || j.size() % 3 != 0) Fail(where, "must be an array of x, y, v triples");
  if (!category.keypoint_names.empty() && j.size() / 3 != category.keypoint_names.size()) {
    Fail(where, "has " + std::to_string(j.size() / 3) + " points but category '" + category.name +
                    "' names " + std::to_string(category.keypoint_names.size()));
  }
  std::vector<CocoKeypoint> out;
  for (size_t i = 0; i < j.size(); i += 3) {
    const std::string at = where + "[" + std::to_string(i) + "]";
    CocoKeypoint k;
    k.x = Number(j[i], at);
    k.y = Number(j[i + 1], at);
    k.visibility = static_cast<int>(Integer(j[i + 2], at + " visibility", 0, 2));
    out.push_back(k);
  }
  return out;
}

CocoBox ParseBox(const json& j, const std::string& where) {
  if (!j.is_array() || j.size() != 4) Fail(where, "must be [x, y, width, height]");
  CocoBox b{Number(j[0], where), Number(j[1], where), Number(j[2], where), Number(j[3], where)};
  if (b.width < 0 || b.height < 0) Fail(where, "width and height must not be negative");
  return b;
}

template <typename T>
std::unordered_map<std::int64_t, size_t> IndexById(const std::vector<T>& items, const char* what) {
  std::unordered_map<std::int64_t, size_t> index;
  for (size_t i = 0; i < items.size(); ++i) {
    if (!index.emplace(items[i].id, i).second) {
      Fail(std::string(what) + "[" + std::to_string(i) + "].id",
           "repeats id " + std::to_string(items[i].id));
    }
  }
  return index;
}

CocoAnnotation ParseAnnotation(const json& j, const std::string& where, const CocoDataset& d,
                               const std::unordered_map<std::int64_t, size_t>& images,
                               const std::unordered_map<std::int64_t, size_t>& categories) {
  if (!j.is_object()) Fail(where, "must be an object");
  CocoAnnotation a;
  for (const char* key : {"id", "image_id", "category_id"}) {
    if (!j.contains(key)) Fail(where, std::string("has no ") + key);
  }
  a.id = Integer(j.at("id"), where + ".id", 0, kMaxId);
  a.image_id = Integer(j.at("image_id"), where + ".image_id", 0, kMaxId);
  a.category_id = Integer(j.at("category_id"), where + ".category_id", 0, kMaxId);
  const auto image = images.find(a.image_id);
  if (image == images.end())
    Fail(where + ".image_id", "no image has id " + std::to_string(a.image_id));
  const auto category = categories.find(a.category_id);
  if (category == categories.end()) {
    Fail(where + ".category_id", "no category has id " + std::to_string(a.category_id));
  }
  if (const json* v = Optional(j, "segmentation")) {
    a.segmentation = ParseSegmentation(*v, where + ".segmentation", d.images[image->second]);
  }
  if (const json* v = Optional(j, "bbox")) a.bbox = ParseBox(*v, where + ".bbox");
  if (const json* v = Optional(j, "keypoints")) {
    a.keypoints = ParseKeypoints(*v, where + ".keypoints", d.categories[category->second]);
  }
  if (const json* v = Optional(j, "iscrowd")) {
    a.iscrowd = v->is_boolean() ? v->get<bool>() : Integer(*v, where + ".iscrowd", 0, 1) == 1;
  }
  if (const json* ext = Optional(j, "skintrack")) {
    if (!ext->is_object()) Fail(where + ".skintrack", "must be an object");
    if (const json* v = Optional(*ext, "annotator"))
      a.annotator = String(*v, where + ".skintrack.annotator");
  }
  return a;
}

json ImageJson(const CocoImage& im) {
  json j = {{"id", im.id}, {"width", im.width}, {"height", im.height}, {"file_name", im.file_name}};
  json ext = json::object();
  if (im.capture_id) ext["capture_id"] = *im.capture_id;
  if (!im.subject.empty()) ext["subject"] = im.subject;
  if (im.fitzpatrick) ext["fitzpatrick"] = *im.fitzpatrick;
  if (im.monk) ext["monk"] = *im.monk;
  if (im.ita_degrees) ext["ita_degrees"] = *im.ita_degrees;
  if (!im.labels.empty()) ext["labels"] = im.labels;
  if (!im.annotator_labels.empty()) ext["annotator_labels"] = im.annotator_labels;
  if (!ext.empty()) j["skintrack"] = ext;
  return j;
}

json AnnotationJson(const CocoAnnotation& a) {
  json j = {{"id", a.id},
            {"image_id", a.image_id},
            {"category_id", a.category_id},
            {"iscrowd", a.iscrowd ? 1 : 0}};
  std::optional<CocoBox> box = a.bbox;
  double area = 0;
  if (a.segmentation) {
    j["segmentation"] = json_values::RleToJson(*a.segmentation);
    area = static_cast<double>(RleArea(*a.segmentation));
    if (!box) box = MaskBox(DecodeRle(*a.segmentation));
  } else if (box) {
    area = box->width * box->height;
  }
  j["area"] = area;
  if (box) j["bbox"] = {box->x, box->y, box->width, box->height};
  if (!a.keypoints.empty()) {
    json k = json::array();
    int labelled = 0;
    for (const CocoKeypoint& p : a.keypoints) {
      k.insert(k.end(), {p.x, p.y, p.visibility});
      labelled += p.visibility > 0 ? 1 : 0;
    }
    j["keypoints"] = k;
    j["num_keypoints"] = labelled;
  }
  if (!a.annotator.empty()) j["skintrack"] = {{"annotator", a.annotator}};
  return j;
}

}  // namespace

CocoBox MaskBox(const cv::Mat& mask) {
  if (cv::countNonZero(mask) == 0) return {};
  const cv::Rect r = cv::boundingRect(mask);
  return {static_cast<double>(r.x), static_cast<double>(r.y), static_cast<double>(r.width),
          static_cast<double>(r.height)};
}

CocoDataset ParseCoco(const std::string& text) {
  json root;
  try {
    root = json::parse(text);
  } catch (const json::parse_error& e) {
    Fail("file", std::string("is not JSON: ") + e.what());
  }
  if (!root.is_object()) Fail("file", "must be a JSON object");
  CocoDataset d;
  if (const json* info = Optional(root, "info")) {
    if (info->is_object()) {
      if (const json* v = Optional(*info, "description"))
        d.description = String(*v, "info.description");
      if (const json* ext = Optional(*info, "skintrack")) ParseInfoExtension(*ext, d);
    }
  }
  const json& images = Array(root, "images", "file");
  for (size_t i = 0; i < images.size(); ++i) {
    d.images.push_back(ParseImage(images[i], "images[" + std::to_string(i) + "]"));
  }
  const json& categories = Array(root, "categories", "file");
  for (size_t i = 0; i < categories.size(); ++i) {
    d.categories.push_back(ParseCategory(categories[i], "categories[" + std::to_string(i) + "]"));
  }
  const auto image_index = IndexById(d.images, "images");
  const auto category_index = IndexById(d.categories, "categories");
  const json& annotations = Array(root, "annotations", "file");
  for (size_t i = 0; i < annotations.size(); ++i) {
    d.annotations.push_back(ParseAnnotation(
        annotations[i], "annotations[" + std::to_string(i) + "]", d, image_index, category_index));
  }
  IndexById(d.annotations, "annotations");
  return d;
}

std::string WriteCoco(const CocoDataset& d) {
  json images = json::array(), categories = json::array(), annotations = json::array();
  for (const CocoImage& im : d.images) images.push_back(ImageJson(im));
  for (const CocoCategory& c : d.categories) {
    json j = {{"id", c.id}, {"name", c.name}, {"supercategory", c.supercategory}};
    if (!c.keypoint_names.empty()) {
      j["keypoints"] = c.keypoint_names;
      j["skeleton"] = json::array();
    }
    categories.push_back(j);
  }
  for (const CocoAnnotation& a : d.annotations) annotations.push_back(AnnotationJson(a));
  json info = {{"description", d.description}};
  if (!d.annotation_versions.empty()) {
    info["skintrack"] = {{"annotation_versions", d.annotation_versions}};
  }
  const json root = {{"info", info},
                     {"licenses", json::array()},
                     {"images", images},
                     {"categories", categories},
                     {"annotations", annotations}};
  return root.dump(-1, ' ', false, json::error_handler_t::replace) + "\n";
}

}  // namespace skintrack::annotation
