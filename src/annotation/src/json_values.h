// Reading typed values (numbers, strings, RLE masks) out of parsed JSON with the place of a problem
// in the message: the one home of these checks for the COCO reader and the annotation document
// (private to skintrack_annotation). Every integer is range-checked on the JSON number itself
// before it is narrowed, so 4294967299 is refused instead of wrapping to 3.
#pragma once

#include <cstdint>
#include <initializer_list>
#include <nlohmann/json.hpp>
#include <opencv2/core.hpp>
#include <string>

#include "skintrack/annotation/rle.h"

namespace skintrack::annotation::json_values {

// Throws Error(kInvalidArgument, where + ": " + what).
[[noreturn]] void Refuse(const std::string& where, const std::string& what);

// An integer in [lo, hi]; a float is accepted when it is whole (some tools write 12.0).
std::int64_t Integer(const nlohmann::json& j, const std::string& where, std::int64_t lo,
                     std::int64_t hi);
// A finite number of magnitude at most 1e9 (pixel coordinates, degrees).
double Number(const nlohmann::json& j, const std::string& where);
std::string String(const nlohmann::json& j, const std::string& where);

// The member `key` of an object, or null when it is absent or JSON null (optional fields).
const nlohmann::json* Optional(const nlohmann::json& object, const char* key);

// Refuses a member of `object` that is not in `known`, so that a misspelt field is an error and
// not silently dropped data. `object` must be an object.
void RefuseUnknownMembers(const nlohmann::json& object, std::initializer_list<const char*> known,
                          const std::string& where);

// A COCO RLE object {"size": [height, width], "counts": compressed string or list of runs}. The
// size must be `image_size` (checked before anything is allocated; `image_name`, e.g. "image 7",
// names it in the message) and the runs must cover it exactly. Other members are the caller's.
Rle RleFromJson(const nlohmann::json& j, const std::string& where, cv::Size image_size,
                const std::string& image_name);
// {"counts": compressed string, "size": [height, width]}.
nlohmann::json RleToJson(const Rle& rle);

}  // namespace skintrack::annotation::json_values
