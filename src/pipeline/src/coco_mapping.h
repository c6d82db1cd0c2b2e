// Private to the COCO dataset export and import (annotation_dataset*.cpp): the category ids,
// image-level labels as COCO's string map, and the author an imported annotator becomes.
#pragma once

#include <cstdint>
#include <map>
#include <string>
#include <vector>

#include "skintrack/annotation/annotation.h"
#include "skintrack/annotation/coco.h"

namespace skintrack::pipeline::coco_mapping {

// Mask classes are categories 1..6 in kAllMaskClasses order; "landmarks" is 7.
std::int64_t CategoryId(annotation::MaskClass c);
inline constexpr std::int64_t kLandmarksId = 7;
// The categories of an export; `keypoint_names` become the landmarks category's names.
std::vector<annotation::CocoCategory> Categories(const std::vector<std::string>& keypoint_names);

// Labels as strings: numbers in decimal, the diagnosis as its condition name, locations joined
// with ','. Empty labels give an empty map.
std::map<std::string, std::string> LabelsToStrings(const annotation::ImageLabels& labels);
// The inverse. Error(kInvalidArgument) naming `where` + "." + key for an unknown key or a value
// that does not parse (ranges are annotation::CheckContent's).
annotation::ImageLabels LabelsFromStrings(const std::map<std::string, std::string>& labels,
                                          const std::string& where);

// "coco:<annotator>", "coco:unknown" for none; an annotator already "coco:..." stays.
std::string AuthorOf(const std::string& annotator);

// A foreign tool's name as skintrack spells names: lower case, ' ' and '-' as '_'.
std::string NormalisedName(const std::string& name);

}  // namespace skintrack::pipeline::coco_mapping
