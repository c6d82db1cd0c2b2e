#include "json_values.h"

#include <cmath>

#include "skintrack/core/error.h"

namespace skintrack::annotation::json_values {

using nlohmann::json;

void Refuse(const std::string& where, const std::string& what) {
  throw Error(ErrorCode::kInvalidArgument, where + ": " + what);
}

std::int64_t Integer(const json& j, const std::string& where, std::int64_t lo, std::int64_t hi) {
  const auto refuse = [&]() {
    Refuse(where, "must be an integer " + std::to_string(lo) + ".." + std::to_string(hi));
  };
  if (j.is_number_unsigned()) {
    const auto u = j.get<std::uint64_t>();
    if (u > static_cast<std::uint64_t>(hi) || static_cast<std::int64_t>(u) < lo) refuse();
    return static_cast<std::int64_t>(u);
  }
  if (j.is_number_integer()) {
    const auto i = j.get<std::int64_t>();
    if (i < lo || i > hi) refuse();
    return i;
  }
  if (!j.is_number_float()) refuse();
  const double value = j.get<double>();
  if (std::floor(value) != value || value < static_cast<double>(lo) ||
      value > static_cast<double>(hi)) {
    refuse();
  }
  return static_cast<std::int64_t>(value);
}

double Number(const json& j, const std::string& where) {
  if (!j.is_number()) Refuse(where, "must be a number");
  const double v = j.get<double>();
  if (!std::isfinite(v) || std::abs(v) > 1e9) Refuse(where, "is out of range");
  return v;
}

std::string String(const json& j, const std::string& where) {
  if (!j.is_string()) Refuse(where, "must be a string");
  return j.get<std::string>();
}

const json* Optional(const json& object, const char* key) {
  const auto it = object.find(key);
  return it == object.end() || it->is_null() ? nullptr : &*it;
}

void RefuseUnknownMembers(const json& object, std::initializer_list<const char*> known,
                          const std::string& where) {
  for (const auto& item : object.items()) {
    bool found = false;
    for (const char* k : known) found = found || item.key() == k;
    if (found) continue;
    std::string list;
    for (const char* k : known) list.append(list.empty() ? "" : ", ").append(k);
    Refuse(where, "unknown member \"" + item.key().substr(0, 64) + "\" (known: " + list + ")");
  }
}

namespace {

constexpr std::int64_t kMaxSide = 100000;  // storage's kMaxImageSide: no photo is larger

std::vector<std::uint32_t> Counts(const json& counts, const std::string& where) {
  if (counts.is_string()) {
    try {
      return RleCountsFromString(counts.get<std::string>());
    } catch (const Error& e) {
      Refuse(where, e.what());
    }
  }
  if (!counts.is_array()) Refuse(where, "must be a compressed string or an array of run lengths");
  std::vector<std::uint32_t> out;
  out.reserve(counts.size());
  for (std::size_t i = 0; i < counts.size(); ++i) {
    out.push_back(static_cast<std::uint32_t>(
        Integer(counts[i], where + "[" + std::to_string(i) + "]", 0, 0xFFFFFFFFLL)));
  }
  return out;
}

}  // namespace

Rle RleFromJson(const json& j, const std::string& where, cv::Size image_size,
                const std::string& image_name) {
  if (!j.is_object()) Refuse(where, "must be an RLE object {\"size\": [h, w], \"counts\": ...}");
  const json* size = Optional(j, "size");
  if (!size || !size->is_array() || size->size() != 2) {
    Refuse(where + ".size", "must be [height, width]");
  }
  Rle rle;
  rle.height = static_cast<int>(Integer((*size)[0], where + ".size[0]", 1, kMaxSide));
  rle.width = static_cast<int>(Integer((*size)[1], where + ".size[1]", 1, kMaxSide));
  if (rle.height != image_size.height || rle.width != image_size.width) {
    Refuse(where + ".size", "is " + std::to_string(rle.height) + "x" + std::to_string(rle.width) +
                                " (height x width) but " + image_name + " is " +
                                std::to_string(image_size.height) + "x" +
                                std::to_string(image_size.width));
  }
  const json* counts = Optional(j, "counts");
  if (!counts) Refuse(where, "has no counts");
  rle.counts = Counts(*counts, where + ".counts");
  std::int64_t sum = 0;
  for (const std::uint32_t c : rle.counts) sum += c;
  const std::int64_t pixels = static_cast<std::int64_t>(rle.height) * rle.width;
  if (sum != pixels) {
    Refuse(where + ".counts", "sum to " + std::to_string(sum) + " pixels, not height x width " +
                                  std::to_string(pixels));
  }
  return rle;
}

json RleToJson(const Rle& rle) {
  return {{"size", json::array({rle.height, rle.width})},
          {"counts", RleCountsToString(rle.counts)}};
}

}  // namespace skintrack::annotation::json_values
