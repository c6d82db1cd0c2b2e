// Validation and re-encoding of uploaded capture bytes, before anything is stored.
#pragma once

#include <cstdint>
#include <opencv2/core.hpp>
#include <string>
#include <string_view>

namespace skintrack::service {

struct IntakeLimits {
  std::int64_t max_pixels = 60'000'000;  // width x height; a decompression bomb is refused
  int max_side = 16384;                  // pixels
  int min_side = 32;                     // pixels
};

struct DecodedImage {
  cv::Mat bgr;             // CV_8UC3, EXIF orientation applied
  std::string encoded;     // re-encoded from pixels: no EXIF, GPS or maker notes survive
  std::string media_type;  // "image/png" or "image/jpeg" (the upload's own format)
};

// Checks the declared content type (image/png or image/jpeg; parameters after ';' ignored)
// against the bytes' signature, reads the dimensions from the header and refuses images over the
// limits BEFORE decoding, rejects truncated files (a PNG without IEND, a JPEG without its end
// marker), decodes with the EXIF orientation applied, and re-encodes the pixels in the upload's
// format (PNG lossless; JPEG at quality 95). Deterministic: the same bytes give the same output,
// so retries are idempotent by content hash.
// Errors: Error(kUnsupportedMedia) for another content type or bytes of another format;
// Error(kImageTooLarge) over the limits; Error(kImageDecode) for truncated or corrupt bytes,
// Error(kInvalidArgument) for an image below min_side.
DecodedImage DecodeUpload(std::string_view bytes, std::string_view content_type,
                          const IntakeLimits& limits = {});

}  // namespace skintrack::service
