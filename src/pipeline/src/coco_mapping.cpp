#include "coco_mapping.h"

#include <cctype>
#include <charconv>
#include <optional>

#include "skintrack/core/error.h"

namespace skintrack::pipeline::coco_mapping {
namespace {

using annotation::ImageLabels;

constexpr const char* kLabelKeys =
    "diagnosis, subtype, erythema, induration, desquamation, locations, fitzpatrick, monk, "
    "image_quality";

[[noreturn]] void Bad(const std::string& where, const std::string& what) {
  throw Error(ErrorCode::kInvalidArgument, where + ": " + what);
}

int Whole(const std::string& text, const std::string& where) {
  int value = 0;
  const char* end = text.data() + text.size();
  const auto [ptr, ec] = std::from_chars(text.data(), end, value);
  if (text.empty() || ec != std::errc() || ptr != end) {
    Bad(where, "'" + text + "' is not a whole number");
  }
  return value;
}

void PutNumber(std::map<std::string, std::string>& out, const char* key,
               const std::optional<int>& v) {
  if (v) out[key] = std::to_string(*v);
}

std::vector<std::string> SplitList(const std::string& text) {
  std::vector<std::string> out;
  std::string item;
  for (size_t i = 0; i <= text.size(); ++i) {
    if (i == text.size() || text[i] == ',') {
      while (!item.empty() && item.back() == ' ') item.pop_back();
      if (!item.empty()) out.push_back(item);
      item.clear();
    } else if (text[i] != ' ' || !item.empty()) {
      item += text[i];
    }
  }
  return out;
}

}  // namespace

std::int64_t CategoryId(annotation::MaskClass c) { return static_cast<std::int64_t>(c) + 1; }

std::vector<annotation::CocoCategory> Categories(const std::vector<std::string>& keypoint_names) {
  std::vector<annotation::CocoCategory> out;
  for (annotation::MaskClass c : annotation::kAllMaskClasses) {
    const auto condition = annotation::ConditionOf(c);
    out.push_back({CategoryId(c),
                   annotation::MaskClassName(c),
                   condition ? ConditionName(*condition) : "image",
                   {}});
  }
  out.push_back({kLandmarksId, "landmarks", "registration", keypoint_names});
  return out;
}

std::map<std::string, std::string> LabelsToStrings(const ImageLabels& l) {
  std::map<std::string, std::string> out;
  if (l.diagnosis) out["diagnosis"] = ConditionName(*l.diagnosis);
  if (!l.subtype.empty()) out["subtype"] = l.subtype;
  PutNumber(out, "erythema", l.erythema);
  PutNumber(out, "induration", l.induration);
  PutNumber(out, "desquamation", l.desquamation);
  PutNumber(out, "fitzpatrick", l.fitzpatrick);
  PutNumber(out, "monk", l.monk);
  PutNumber(out, "image_quality", l.image_quality);
  if (!l.locations.empty()) {
    std::string joined;
    for (const std::string& s : l.locations) joined += (joined.empty() ? "" : ",") + s;
    out["locations"] = joined;
  }
  return out;
}

ImageLabels LabelsFromStrings(const std::map<std::string, std::string>& labels,
                              const std::string& where) {
  ImageLabels l;
  for (const auto& [key, value] : labels) {
    const std::string at = where + "." + key;
    if (key == "diagnosis") {
      try {
        l.diagnosis = ParseCondition(value);
      } catch (const Error& e) {
        Bad(at, e.what());
      }
    } else if (key == "subtype") {
      l.subtype = value;
    } else if (key == "locations") {
      l.locations = SplitList(value);
    } else if (key == "erythema") {
      l.erythema = Whole(value, at);
    } else if (key == "induration") {
      l.induration = Whole(value, at);
    } else if (key == "desquamation") {
      l.desquamation = Whole(value, at);
    } else if (key == "fitzpatrick") {
      l.fitzpatrick = Whole(value, at);
    } else if (key == "monk") {
      l.monk = Whole(value, at);
    } else if (key == "image_quality") {
      l.image_quality = Whole(value, at);
    } else {
      Bad(at, std::string("is not a label skintrack knows (") + kLabelKeys + ")");
    }
  }
  return l;
}

std::string AuthorOf(const std::string& annotator) {
  if (annotator.empty()) return "coco:unknown";
  if (annotator.rfind("coco:", 0) == 0) return annotator;
  return "coco:" + annotator;
}

std::string NormalisedName(const std::string& name) {
  std::string out;
  for (char c : name) {
    out +=
        c == ' ' || c == '-' ? '_' : static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  }
  return out;
}

}  // namespace skintrack::pipeline::coco_mapping
