#include <algorithm>
#include <array>
#include <cstdint>
#include <string>

#include "skintrack/dicom/dicom.h"
#include "skintrack/storage/sha256.h"

namespace skintrack::dicom {

std::string DerivedUid(const std::string& secret, const std::string& kind, const std::string& key) {
  storage::Sha256 h;
  // Lengths first, so that ("a", "bc") and ("ab", "c") cannot collide.
  for (const std::string* part : {&secret, &kind, &key}) {
    h.Update(std::to_string(part->size()) + ":");
    h.Update(*part);
  }
  const auto digest = h.Final();
  std::array<std::uint8_t, 16> uuid{};
  std::copy(digest.begin(), digest.begin() + 16, uuid.begin());
  // RFC 9562 version 8 (custom) and variant 10, so the integer is a well-formed UUID.
  uuid[6] = static_cast<std::uint8_t>((uuid[6] & 0x0F) | 0x80);
  uuid[8] = static_cast<std::uint8_t>((uuid[8] & 0x3F) | 0x80);
  // Its decimal digits, by long division of the 128-bit big-endian number by 10.
  std::string digits;
  bool zero = false;
  while (!zero) {
    unsigned remainder = 0;
    zero = true;
    for (std::uint8_t& byte : uuid) {
      const unsigned value = (remainder << 8) | byte;
      byte = static_cast<std::uint8_t>(value / 10);
      remainder = value % 10;
      zero = zero && byte == 0;
    }
    digits.insert(digits.begin(), static_cast<char>('0' + remainder));
  }
  return "2.25." + digits;
}

}  // namespace skintrack::dicom
