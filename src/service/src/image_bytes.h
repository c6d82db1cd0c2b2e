// Reading the byte structure of uploaded PNG and JPEG files: shared by the intake checks
// (image_intake.cpp) and the metadata removal (image_metadata.cpp). Private to the service.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string_view>

namespace skintrack::service::image_bytes {

inline constexpr std::string_view kPngSignature("\x89PNG\r\n\x1a\n", 8);

inline unsigned Byte(std::string_view s, std::size_t at) {
  return static_cast<unsigned char>(s[at]);
}

// The big-endian 32-bit number at `at` (PNG chunk lengths, IHDR sizes).
inline std::uint32_t Be32(std::string_view s, std::size_t at) {
  return (static_cast<std::uint32_t>(Byte(s, at)) << 24) | (Byte(s, at + 1) << 16) |
         (Byte(s, at + 2) << 8) | Byte(s, at + 3);
}

inline bool StartsWith(std::string_view s, std::string_view prefix) {
  return s.size() >= prefix.size() && s.substr(0, prefix.size()) == prefix;
}

}  // namespace skintrack::service::image_bytes
