#include "labels_json.h"

#include <climits>

#include "json_values.h"
#include "skintrack/core/error.h"

namespace skintrack::annotation {

using nlohmann::json;
namespace jv = json_values;

namespace {

// The integer labels, by field. Their ranges are CheckContent's; here a value only has to be an
// int, checked as a JSON number before narrowing.
struct IntegerLabel {
  const char* key;
  std::optional<int> ImageLabels::*field;
};
constexpr IntegerLabel kIntegerLabels[] = {
    {"erythema", &ImageLabels::erythema},
    {"induration", &ImageLabels::induration},
    {"desquamation", &ImageLabels::desquamation},
    {"fitzpatrick", &ImageLabels::fitzpatrick},
    {"monk", &ImageLabels::monk},
    {"image_quality", &ImageLabels::image_quality},
};

}  // namespace

json LabelsToJson(const ImageLabels& labels) {
  json j = json::object();
  if (labels.diagnosis) j["diagnosis"] = ConditionName(*labels.diagnosis);
  if (!labels.subtype.empty()) j["subtype"] = labels.subtype;
  for (const IntegerLabel& l : kIntegerLabels) {
    if (const std::optional<int>& v = labels.*l.field) j[l.key] = *v;
  }
  if (!labels.locations.empty()) j["locations"] = labels.locations;
  return j;
}

ImageLabels LabelsFromJson(const json& j, const std::string& where) {
  if (!j.is_object()) jv::Refuse(where, "must be an object");
  jv::RefuseUnknownMembers(j,
                           {"diagnosis", "subtype", "erythema", "induration", "desquamation",
                            "locations", "fitzpatrick", "monk", "image_quality"},
                           where);
  ImageLabels labels;
  if (const json* v = jv::Optional(j, "diagnosis")) {
    const std::string text = jv::String(*v, where + ".diagnosis");
    try {
      labels.diagnosis = ParseCondition(text);
    } catch (const Error& e) {
      jv::Refuse(where + ".diagnosis", e.what());
    }
  }
  if (const json* v = jv::Optional(j, "subtype"))
    labels.subtype = jv::String(*v, where + ".subtype");
  for (const IntegerLabel& l : kIntegerLabels) {
    if (const json* v = jv::Optional(j, l.key)) {
      labels.*l.field = static_cast<int>(jv::Integer(*v, where + "." + l.key, INT_MIN, INT_MAX));
    }
  }
  if (const json* v = jv::Optional(j, "locations")) {
    if (!v->is_array()) jv::Refuse(where + ".locations", "must be an array of body-site names");
    for (std::size_t i = 0; i < v->size(); ++i) {
      labels.locations.push_back(
          jv::String((*v)[i], where + ".locations[" + std::to_string(i) + "]"));
    }
  }
  return labels;
}

}  // namespace skintrack::annotation
