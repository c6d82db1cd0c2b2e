// Small helpers shared by the learned segmenter's files: binary reading and writing of plain
// values, a portable random generator and a 64-bit FNV-1a hash. Private to scoring/.
#pragma once

#include <cstdint>
#include <cstring>
#include <istream>
#include <ostream>
#include <string>
#include <type_traits>

#include "skintrack/core/error.h"

namespace skintrack::scoring::learned {

template <typename T>
void WritePod(std::ostream& out, T value) {
  static_assert(std::is_trivially_copyable_v<T>);
  out.write(reinterpret_cast<const char*>(&value), sizeof value);
}

// Throws Error(kInvalidArgument) naming `what` when the stream ends early (a truncated file).
template <typename T>
T ReadPod(std::istream& in, const std::string& what) {
  static_assert(std::is_trivially_copyable_v<T>);
  T value{};
  if (!in.read(reinterpret_cast<char*>(&value), sizeof value)) {
    throw Error(ErrorCode::kInvalidArgument, what + ": truncated (ends inside the model data)");
  }
  return value;
}

// SplitMix64 (Steele, Lea, Flood 2014): the same sequence on every platform and standard library,
// unlike std::uniform_int_distribution, so a seed gives the same model everywhere.
class SplitMix {
 public:
  explicit SplitMix(uint64_t seed) : state_(seed) {}
  uint64_t Next() {
    uint64_t z = (state_ += 0x9E3779B97F4A7C15ull);
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
    return z ^ (z >> 31);
  }
  // Uniform in [0, n) (the modulo bias is below 2^-40 for the sizes used here); n > 0.
  size_t Below(size_t n) { return static_cast<size_t>(Next() % n); }

 private:
  uint64_t state_;
};

class Fnv1a {
 public:
  void Add(const void* data, size_t bytes) {
    const auto* p = static_cast<const unsigned char*>(data);
    for (size_t i = 0; i < bytes; ++i) hash_ = (hash_ ^ p[i]) * 0x100000001B3ull;
  }
  void Add(const std::string& s) { Add(s.data(), s.size()); }
  uint64_t value() const { return hash_; }

 private:
  uint64_t hash_ = 0xCBF29CE484222325ull;
};

}  // namespace skintrack::scoring::learned
