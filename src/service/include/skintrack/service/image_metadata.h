// Lossless metadata removal from uploaded photos: the JPEG or PNG byte stream is rewritten without
// the segments or chunks that carry metadata (EXIF with GPS and serial numbers, XMP, IPTC,
// comments, thumbnails, maker notes, text, timestamps), keeping every byte that decides the pixels
// and their colour. Nothing is decoded or re-encoded, so the stored photo's pixels are the ones the
// device took. The EXIF orientation is read before it is removed and returned, to be kept with
// the capture and applied when the pixels are decoded.
#pragma once

#include <string>
#include <string_view>
#include <vector>

namespace skintrack::service {

struct StrippedImage {
  std::string bytes;                 // the image without its metadata
  int exif_orientation = 1;          // 1..8 (TIFF tag 274); 1 when absent or unreadable
  std::vector<std::string> removed;  // what was dropped, e.g. "APP1 Exif", "COM", "tEXt"
};

// JPEG: keeps SOI, APP0 JFIF, APP2 ICC_PROFILE, APP14 Adobe (colour transform), the tables,
// frame and scan headers and entropy-coded data of every scan, EOI; drops every other APPn
// (Exif, XMP, IPTC/Photoshop, MPF with its trailing pictures, maker segments), COM, and any bytes
// after EOI. PNG: keeps the critical chunks and those that decide the pixels' values or colour
// (tRNS, sBIT, gAMA, cHRM, sRGB, iCCP, cICP); drops tEXt, zTXt, iTXt, eXIf, tIME and every other
// ancillary chunk. Deterministic and idempotent (stripping stripped bytes changes nothing).
// Throws Error(kImageDecode) when the marker or chunk structure is broken (a segment running past
// the end, no end marker) and Error(kUnsupportedMedia) for bytes that are neither format.
StrippedImage StripMetadata(std::string_view bytes);

// The photo as a viewer should get it: `stored` (StripMetadata output) when `orientation` is 1;
// otherwise a JPEG with an APP1 EXIF block holding the Orientation tag and nothing else, inserted
// after SOI / JFIF (browsers apply it; the pixel data is untouched), and a PNG with an eXIf chunk
// holding only the tag right after IHDR. Error(kInvalidArgument) for an orientation outside
// 1..8, Error(kUnsupportedMedia) for bytes that are neither format.
std::string WithOrientationTag(std::string_view stored, int orientation);

}  // namespace skintrack::service
