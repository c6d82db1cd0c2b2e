// Capture intake rules applied before anything is stored: validation and lossless metadata
// removal of the uploaded bytes, and the sanity window of the capture time.
#pragma once

#include <cstdint>
#include <opencv2/core.hpp>
#include <string>
#include <string_view>

namespace skintrack::service {

struct IntakeLimits {
  // width x height. The largest common camera sensors give about 50 MP (8688 x 5792 = 50.3 MP);
  // anything larger is refused before decoding (a 73 KB PNG of 7700 x 7700 costs 2.2 s of CPU
  // and 176 MB to decode).
  std::int64_t max_pixels = 51'000'000;
  int max_side = 16384;  // pixels
  int min_side = 32;     // pixels
};

// What the header of an upload says, read without decoding any pixel data.
struct UploadHeader {
  std::string media_type;  // "image/png" or "image/jpeg"
  int width = 0;           // pixels, as stored (before any EXIF orientation)
  int height = 0;
};

struct DecodedImage {
  cv::Mat bgr;             // CV_8UC3, EXIF orientation applied
  std::string media_type;  // "image/png" or "image/jpeg" (the upload's own format)
};

// A photo ready to be stored: the upload's bytes without their metadata, never decoded.
struct ValidatedUpload {
  std::string media_type;  // "image/png" or "image/jpeg"
  std::string bytes;       // StripMetadata of the upload: the same pixels, no EXIF/XMP/IPTC/text
  int orientation = 1;     // EXIF orientation (1..8) read before the EXIF block was removed
  int width = 0;           // pixels as shown: orientation applied (5..8 swap the sides)
  int height = 0;
};

// The cheap checks, in microseconds even for large files: the declared content type (image/png
// or image/jpeg; parameters after ';' ignored) against the bytes' signature, the dimensions from
// the PNG IHDR / JPEG SOF header against the limits, and the end of the file (a PNG must end with
// IEND, a JPEG with EOI). Errors as for ValidateUpload.
UploadHeader InspectUpload(std::string_view bytes, std::string_view content_type,
                           const IntakeLimits& limits = {});

// The intake of a photo, in milliseconds and without decoding it in full: InspectUpload, then
// StripMetadata (lossless: nothing is decoded or re-encoded), then a check of the whole stream of
// the stripped bytes that is cheap but catches truncation and corruption: a JPEG is
// entropy-decoded by libjpeg at 1/8 scale (every scan, almost no IDCT or colour work) and refused
// when libjpeg reports damage (corrupt or missing scan data, extraneous bytes, premature end:
// libjpeg would otherwise fill the gap with grey and OpenCV return the image) or more than 256
// scans (a CPU bomb); a PNG has every chunk's CRC checked and its IDAT zlib stream inflated to
// the end with the filter byte of every row and the exact amount of image data checked
// (png_check.cpp). Deterministic; thread-safe; costs about 15-20 ms of CPU per 12 MP JPEG.
// Errors: Error(kUnsupportedMedia) for another content type or bytes of another format;
// Error(kImageTooLarge) over the limits; Error(kImageDecode) naming the damage for truncated or
// corrupt bytes; Error(kInvalidArgument) for an image below min_side. Never any other exception
// type, except std::bad_alloc when memory runs out.
ValidatedUpload ValidateUpload(std::string_view bytes, std::string_view content_type,
                               const IntakeLimits& limits = {});

// ValidateUpload in its two steps, so that the stream check can run while the stored bytes are
// written: PrepareUpload is InspectUpload + StripMetadata (microseconds to a millisecond), and
// CheckUploadStream the full-stream check of its bytes (the milliseconds). Errors as above.
ValidatedUpload PrepareUpload(std::string_view bytes, std::string_view content_type,
                              const IntakeLimits& limits = {});
void CheckUploadStream(const ValidatedUpload& upload);

// ValidateUpload's checks, then the full decode with the EXIF orientation applied: for uploads
// whose pixels are needed at once (a clinician's corrected mask). Errors as for ValidateUpload;
// costs CPU and memory in proportion to the pixels (callers bound concurrency).
DecodedImage DecodeUpload(std::string_view bytes, std::string_view content_type,
                          const IntakeLimits& limits = {});

// The window a capture's captured_at must fall in: devices with an unset clock send 1970, broken
// ones the far future, and either would become (or displace) a site's baseline.
struct CapturedAtPolicy {
  std::int64_t earliest_ms = 946'684'800'000;                  // 2000-01-01T00:00:00Z
  std::int64_t max_ahead_ms = std::int64_t{24} * 3600 * 1000;  // beyond the server clock
  void Check() const;  // Error(kInvalidArgument) for a negative bound
};

// The one home of the captured_at rule, used by every intake path. `captured_at_ms` and `now_ms`
// are milliseconds since the Unix epoch (UTC). Error(kInvalidArgument) naming captured_at, the
// value and the bound, when captured_at_ms < earliest_ms or > now_ms + max_ahead_ms.
void CheckCapturedAt(std::int64_t captured_at_ms, std::int64_t now_ms,
                     const CapturedAtPolicy& policy);

}  // namespace skintrack::service
