#include "skintrack/service/image_metadata.h"

#include <cstdint>

#include "image_bytes.h"
#include "skintrack/core/error.h"

namespace skintrack::service {
namespace {

using image_bytes::Be32;
using image_bytes::Byte;
using image_bytes::kPngSignature;
using image_bytes::StartsWith;

[[noreturn]] void Broken(const std::string& what) { throw Error(ErrorCode::kImageDecode, what); }

// ---- EXIF orientation (a TIFF structure: byte order, IFD0, tag 0x0112) ----

int TiffOrientation(std::string_view tiff) {
  if (tiff.size() < 8) return 1;
  const bool little = tiff.substr(0, 2) == "II";
  if (!little && tiff.substr(0, 2) != "MM") return 1;
  auto u16 = [&](size_t at) -> unsigned {
    return little ? Byte(tiff, at) | (Byte(tiff, at + 1) << 8)
                  : (Byte(tiff, at) << 8) | Byte(tiff, at + 1);
  };
  auto u32 = [&](size_t at) -> std::uint32_t {
    return little ? static_cast<std::uint32_t>(u16(at)) |
                        (static_cast<std::uint32_t>(u16(at + 2)) << 16)
                  : (static_cast<std::uint32_t>(u16(at)) << 16) | u16(at + 2);
  };
  const std::uint32_t ifd = u32(4);
  if (ifd > tiff.size() - 2) return 1;
  const unsigned entries = u16(ifd);
  for (unsigned e = 0; e < entries; ++e) {
    const size_t at = ifd + 2 + static_cast<size_t>(e) * 12;
    if (at + 12 > tiff.size()) return 1;
    if (u16(at) == 0x0112 && u16(at + 2) == 3) {  // Orientation, type SHORT
      const unsigned v = u16(at + 8);
      return v >= 1 && v <= 8 ? static_cast<int>(v) : 1;
    }
  }
  return 1;
}

// ---- JPEG ----

constexpr unsigned kSoi = 0xD8, kEoi = 0xD9, kSos = 0xDA, kCom = 0xFE;

bool IsStandalone(unsigned marker) { return marker == 0x01 || (marker >= 0xD0 && marker <= 0xD9); }

// Which APPn segments stay: JFIF (pixel aspect), ICC profile (colour), Adobe (colour transform).
bool KeepApp(unsigned marker, std::string_view payload, std::string& name) {
  if (marker == 0xE0 && StartsWith(payload, std::string_view("JFIF\0", 5))) return true;
  if (marker == 0xE2 && StartsWith(payload, std::string_view("ICC_PROFILE\0", 12))) return true;
  if (marker == 0xEE && StartsWith(payload, "Adobe")) return true;
  name = "APP" + std::to_string(marker - 0xE0);
  if (StartsWith(payload, std::string_view("Exif\0", 5))) name += " Exif";
  if (StartsWith(payload, "http://ns.adobe.com/xap/")) name += " XMP";
  if (StartsWith(payload, "Photoshop 3.0")) name += " IPTC";
  if (StartsWith(payload, std::string_view("MPF\0", 4))) name += " MPF";
  return false;
}

// The end of the entropy-coded data that starts at `at`: the first marker that is neither a
// stuffed 0xFF00 nor a restart marker.
size_t EndOfScan(std::string_view b, size_t at) {
  while (at + 1 < b.size()) {
    if (Byte(b, at) == 0xFF) {
      const unsigned next = Byte(b, at + 1);
      if (next != 0x00 && !(next >= 0xD0 && next <= 0xD7) && next != 0xFF) return at;
    }
    ++at;
  }
  Broken("truncated JPEG (the scan data has no end marker)");
}

StrippedImage StripJpeg(std::string_view b) {
  StrippedImage out;
  out.bytes.reserve(b.size());
  out.bytes.append(b.substr(0, 2));  // SOI
  size_t at = 2;
  bool in_scan = false;
  while (true) {
    if (in_scan) {
      const size_t end = EndOfScan(b, at);
      out.bytes.append(b.substr(at, end - at));
      at = end;
      in_scan = false;
    }
    if (at + 2 > b.size()) Broken("truncated JPEG (no end-of-image marker)");
    if (Byte(b, at) != 0xFF) Broken("corrupt JPEG marker structure at byte " + std::to_string(at));
    unsigned marker = Byte(b, at + 1);
    if (marker == 0xFF) {  // fill bytes before a marker
      ++at;
      continue;
    }
    if (marker == kEoi) {
      out.bytes.append(b.substr(at, 2));
      if (at + 2 < b.size()) out.removed.emplace_back("data after EOI");
      return out;
    }
    if (marker == kSoi) Broken("corrupt JPEG (a second start-of-image marker)");
    if (IsStandalone(marker)) {
      out.bytes.append(b.substr(at, 2));
      at += 2;
      continue;
    }
    if (at + 4 > b.size()) Broken("truncated JPEG (a segment header runs past the end)");
    const size_t length = (Byte(b, at + 2) << 8) | Byte(b, at + 3);
    if (length < 2 || at + 2 + length > b.size()) {
      Broken("truncated JPEG (a segment runs past the end)");
    }
    const std::string_view segment = b.substr(at, 2 + length);
    const std::string_view payload = segment.substr(4);
    std::string name;
    if (marker >= 0xE0 && marker <= 0xEF) {
      if (KeepApp(marker, payload, name)) {
        out.bytes.append(segment);
      } else {
        if (StartsWith(payload, std::string_view("Exif\0\0", 6)) && out.exif_orientation == 1) {
          out.exif_orientation = TiffOrientation(payload.substr(6));
        }
        out.removed.push_back(name);
      }
    } else if (marker == kCom) {
      out.removed.emplace_back("COM");
    } else {
      out.bytes.append(segment);
      in_scan = marker == kSos;
    }
    at += 2 + length;
  }
}

// ---- PNG ----

bool KeepChunk(std::string_view type) {
  if (type[0] >= 'A' && type[0] <= 'Z') return true;  // critical: IHDR, PLTE, IDAT, IEND
  for (const char* kept : {"tRNS", "sBIT", "gAMA", "cHRM", "sRGB", "iCCP", "cICP"}) {
    if (type == kept) return true;
  }
  return false;
}

StrippedImage StripPng(std::string_view b) {
  StrippedImage out;
  out.bytes.reserve(b.size());
  out.bytes.append(kPngSignature);
  size_t at = kPngSignature.size();
  while (true) {
    if (at + 12 > b.size()) Broken("truncated PNG (no IEND chunk)");
    const std::uint32_t length = Be32(b, at);
    if (length > b.size() - at - 12) Broken("truncated PNG (a chunk runs past the end)");
    const std::string_view type = b.substr(at + 4, 4);
    const std::string_view chunk = b.substr(at, 12 + static_cast<size_t>(length));
    if (KeepChunk(type)) {
      out.bytes.append(chunk);
    } else {
      if (type == "eXIf" && out.exif_orientation == 1) {
        out.exif_orientation = TiffOrientation(chunk.substr(8, length));
      }
      out.removed.emplace_back(type);
    }
    at += chunk.size();
    if (type == "IEND") {
      if (at < b.size()) out.removed.emplace_back("data after IEND");
      return out;
    }
  }
}

// A little-endian TIFF with one IFD holding Orientation (tag 274, SHORT) only.
std::string OrientationTiff(int orientation) {
  std::string t("II*\0\x08\0\0\0\x01\0\x12\x01\x03\0\x01\0\0\0", 18);
  t += static_cast<char>(orientation);
  t += std::string(3 + 4, '\0');  // value padding, no next IFD
  return t;
}

std::uint32_t PngCrc(std::string_view type_and_data) {
  std::uint32_t c = 0xFFFFFFFFU;
  for (const char ch : type_and_data) {
    c ^= static_cast<unsigned char>(ch);
    for (int k = 0; k < 8; ++k) c = (c >> 1) ^ (0xEDB88320U & (0U - (c & 1U)));
  }
  return ~c;
}

void AppendBe32(std::string& out, std::uint32_t v) {
  for (int shift = 24; shift >= 0; shift -= 8) out.push_back(static_cast<char>(v >> shift));
}

}  // namespace

std::string WithOrientationTag(std::string_view stored, int orientation) {
  if (orientation < 1 || orientation > 8) {
    throw Error(ErrorCode::kInvalidArgument,
                "EXIF orientation " + std::to_string(orientation) + " is outside 1..8");
  }
  if (orientation == 1) return std::string(stored);
  const std::string tiff = OrientationTiff(orientation);
  if (StartsWith(stored, kPngSignature)) {
    const size_t ihdr_end = kPngSignature.size() + 25;  // IHDR is first and 13 bytes long
    if (stored.size() < ihdr_end) Broken("truncated PNG (no IHDR chunk)");
    std::string chunk;
    AppendBe32(chunk, static_cast<std::uint32_t>(tiff.size()));
    chunk += "eXIf" + tiff;
    AppendBe32(chunk, PngCrc(std::string_view(chunk).substr(4)));
    return std::string(stored.substr(0, ihdr_end)) + chunk + std::string(stored.substr(ihdr_end));
  }
  if (stored.size() < 4 || Byte(stored, 0) != 0xFF || Byte(stored, 1) != kSoi) {
    throw Error(ErrorCode::kUnsupportedMedia, "not a PNG or JPEG image");
  }
  size_t at = 2;
  if (Byte(stored, 2) == 0xFF && Byte(stored, 3) == 0xE0 && stored.size() >= 6) {
    at += 2 + ((Byte(stored, 4) << 8) | Byte(stored, 5));  // after the JFIF segment
    if (at > stored.size()) Broken("truncated JPEG (the JFIF segment runs past the end)");
  }
  const std::string payload = std::string("Exif\0\0", 6) + tiff;
  std::string app1 = "\xFF\xE1";
  app1.push_back(static_cast<char>((payload.size() + 2) >> 8));
  app1.push_back(static_cast<char>((payload.size() + 2) & 0xFF));
  return std::string(stored.substr(0, at)) + app1 + payload + std::string(stored.substr(at));
}

StrippedImage StripMetadata(std::string_view bytes) {
  if (StartsWith(bytes, kPngSignature)) return StripPng(bytes);
  if (bytes.size() >= 3 && Byte(bytes, 0) == 0xFF && Byte(bytes, 1) == kSoi &&
      Byte(bytes, 2) == 0xFF) {
    return StripJpeg(bytes);
  }
  throw Error(ErrorCode::kUnsupportedMedia, "not a PNG or JPEG image");
}

}  // namespace skintrack::service
