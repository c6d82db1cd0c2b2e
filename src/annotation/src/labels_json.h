// Image-level labels (ImageLabels) as JSON and back: the one home of their field names, used by
// the annotation document (private to skintrack_annotation; a COCO extension holding typed labels
// would use it too).
#pragma once

#include <nlohmann/json.hpp>
#include <string>

#include "skintrack/annotation/annotation.h"

namespace skintrack::annotation {

// An object with the fields that are set, keys sorted (nlohmann's object order): unset ones are
// left out, so equal labels give equal JSON.
nlohmann::json LabelsToJson(const ImageLabels& labels);

// Reads the object written by LabelsToJson; members may be missing or null. Types and integer
// ranges are checked here (Error(kInvalidArgument) naming `where` + ".field"), unknown members
// are refused; the values' meaning (grade ranges, subtype of the diagnosis, known body sites) is
// CheckContent's.
ImageLabels LabelsFromJson(const nlohmann::json& j, const std::string& where);

}  // namespace skintrack::annotation
