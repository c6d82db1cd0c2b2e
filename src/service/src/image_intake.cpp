#include "skintrack/service/image_intake.h"

// jpeglib.h needs <cstdio> (FILE) and <cstddef> (size_t) before it, jerror.h jpeglib.h.
// clang-format off
#include <csetjmp>
#include <cstddef>
#include <cstdio>
#include <jpeglib.h>
#include <jerror.h>
// clang-format on

#include <opencv2/imgcodecs.hpp>
#include <string>
#include <utility>

#include "image_bytes.h"
#include "png_check.h"
#include "skintrack/core/error.h"
#include "skintrack/core/oriented_image.h"
#include "skintrack/pipeline/time_format.h"
#include "skintrack/service/image_metadata.h"

namespace skintrack::service {
namespace {

using image_bytes::Be32;
using image_bytes::Byte;
using image_bytes::kPngSignature;
using image_bytes::StartsWith;

// Width and height from the IHDR chunk, which must come first.
cv::Size PngSize(std::string_view b) {
  if (b.size() < 33 || b.substr(12, 4) != "IHDR") {
    throw Error(ErrorCode::kImageDecode, "PNG without a valid IHDR header (truncated?)");
  }
  const std::uint32_t w = Be32(b, 16), h = Be32(b, 20);
  if (w > 1u << 30 || h > 1u << 30) throw Error(ErrorCode::kImageTooLarge, "PNG dimensions absurd");
  return {static_cast<int>(w), static_cast<int>(h)};
}

// Width and height from the first SOFn marker, walking the marker segments.
cv::Size JpegSize(std::string_view b) {
  size_t i = 2;
  while (i + 4 <= b.size()) {
    if (Byte(b, i) != 0xFF) throw Error(ErrorCode::kImageDecode, "corrupt JPEG marker structure");
    const unsigned marker = Byte(b, i + 1);
    if (marker == 0xFF) {
      ++i;
      continue;
    }
    if (marker == 0xD8 || (marker >= 0xD0 && marker <= 0xD7) || marker == 0x01) {
      i += 2;
      continue;
    }
    const size_t len = (Byte(b, i + 2) << 8) | Byte(b, i + 3);
    const bool sof =
        marker >= 0xC0 && marker <= 0xCF && marker != 0xC4 && marker != 0xC8 && marker != 0xCC;
    if (sof) {
      if (i + 9 > b.size()) break;
      const int h = static_cast<int>((Byte(b, i + 5) << 8) | Byte(b, i + 6));
      const int w = static_cast<int>((Byte(b, i + 7) << 8) | Byte(b, i + 8));
      return {w, h};
    }
    if (marker == 0xDA || len < 2) break;  // scan data before any frame header
    i += 2 + len;
  }
  throw Error(ErrorCode::kImageDecode, "JPEG without a frame header (truncated or corrupt)");
}

// --- libjpeg damage check ---------------------------------------------------------------------
// libjpeg reports damaged scan data as warnings and goes on (filling the gap with grey), and
// OpenCV's imdecode returns that image. A full libjpeg pass at 1/8 scale (entropy decoding of
// every scan, almost no IDCT or colour work) sees every such warning before OpenCV decodes.

// Progressive JPEGs have about 10 scans; thousands of tiny scans make a small file a CPU bomb.
constexpr int kMaxJpegScans = 256;

struct JpegErrors {
  jpeg_error_mgr mgr;  // first: libjpeg hands back a pointer to it
  std::jmp_buf jump;
  char message[JMSG_LENGTH_MAX] = "";
};

// State of one check; lives in the caller's frame so that nothing local to the function calling
// setjmp changes between setjmp and longjmp.
struct JpegCheck {
  jpeg_decompress_struct cinfo{};
  JpegErrors errors{};
  jpeg_progress_mgr progress{};
};

[[noreturn]] void StopJpeg(j_common_ptr cinfo) {
  auto* errors = reinterpret_cast<JpegErrors*>(cinfo->err);
  std::longjmp(errors->jump, 1);
}

void OnJpegError(j_common_ptr cinfo) {
  auto* errors = reinterpret_cast<JpegErrors*>(cinfo->err);
  (*cinfo->err->format_message)(cinfo, errors->message);
  StopJpeg(cinfo);
}

// Warnings (level -1) that say the pixel data is damaged stop the check; trace messages (level
// >= 0) and the two warnings about metadata only are ignored.
void OnJpegMessage(j_common_ptr cinfo, int level) {
  if (level >= 0) return;
  const int code = cinfo->err->msg_code;
  if (code == JWRN_JFIF_MAJOR || code == JWRN_ADOBE_XFORM) return;
  auto* errors = reinterpret_cast<JpegErrors*>(cinfo->err);
  (*cinfo->err->format_message)(cinfo, errors->message);
  StopJpeg(cinfo);
}

void OnJpegProgress(j_common_ptr cinfo) {
  auto* d = reinterpret_cast<j_decompress_ptr>(cinfo);
  if (d->input_scan_number > kMaxJpegScans) {
    auto* errors = reinterpret_cast<JpegErrors*>(cinfo->err);
    std::snprintf(errors->message, sizeof errors->message, "more than %d scans", kMaxJpegScans);
    StopJpeg(cinfo);
  }
}

// True when libjpeg decoded the whole file without a damage warning; else check.errors.message
// says why. The libjpeg objects are destroyed in both cases.
bool RunJpegCheck(JpegCheck& check, const unsigned char* data, std::size_t size) {
  j_decompress_ptr cinfo = &check.cinfo;
  cinfo->err = jpeg_std_error(&check.errors.mgr);
  check.errors.mgr.error_exit = OnJpegError;
  check.errors.mgr.emit_message = OnJpegMessage;
  if (setjmp(check.errors.jump) != 0) {
    jpeg_destroy_decompress(cinfo);
    return false;
  }
  jpeg_create_decompress(cinfo);
  check.progress.progress_monitor = OnJpegProgress;
  cinfo->progress = &check.progress;
  jpeg_mem_src(cinfo, data, static_cast<unsigned long>(size));
  jpeg_read_header(cinfo, TRUE);
  cinfo->scale_num = 1;
  cinfo->scale_denom = 8;
  cinfo->dct_method = JDCT_IFAST;
  cinfo->do_fancy_upsampling = FALSE;
  if (cinfo->jpeg_color_space == JCS_YCbCr || cinfo->jpeg_color_space == JCS_GRAYSCALE) {
    cinfo->out_color_space = JCS_GRAYSCALE;  // still entropy-decodes every component
  }
  jpeg_start_decompress(cinfo);
  // From libjpeg's pool: freed by jpeg_destroy_decompress, also after a longjmp.
  JSAMPARRAY row = (*cinfo->mem->alloc_sarray)(reinterpret_cast<j_common_ptr>(cinfo), JPOOL_IMAGE,
                                               cinfo->output_width * cinfo->output_components, 1);
  while (cinfo->output_scanline < cinfo->output_height) jpeg_read_scanlines(cinfo, row, 1);
  jpeg_finish_decompress(cinfo);
  jpeg_destroy_decompress(cinfo);
  return true;
}

void CheckJpegData(std::string_view bytes) {
  JpegCheck check;
  if (!RunJpegCheck(check, reinterpret_cast<const unsigned char*>(bytes.data()), bytes.size())) {
    throw Error(ErrorCode::kImageDecode,
                std::string("damaged JPEG (") + check.errors.message + "): not stored");
  }
}

}  // namespace

UploadHeader InspectUpload(std::string_view bytes, std::string_view content_type,
                           const IntakeLimits& limits) {
  std::string type(content_type.substr(0, content_type.find(';')));
  while (!type.empty() && type.back() == ' ') type.pop_back();
  for (char& c : type) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  if (type != "image/png" && type != "image/jpeg") {
    throw Error(ErrorCode::kUnsupportedMedia,
                "content type must be image/png or image/jpeg, got '" + type + "'");
  }
  if (bytes.empty()) throw Error(ErrorCode::kImageDecode, "empty body: no image bytes");
  const bool png = StartsWith(bytes, kPngSignature);
  const bool jpeg = bytes.size() >= 3 && Byte(bytes, 0) == 0xFF && Byte(bytes, 1) == 0xD8 &&
                    Byte(bytes, 2) == 0xFF;
  if ((type == "image/png" && !png) || (type == "image/jpeg" && !jpeg)) {
    throw Error(ErrorCode::kUnsupportedMedia, "declared " + type + " but the bytes are " +
                                                  (png    ? "a PNG"
                                                   : jpeg ? "a JPEG"
                                                          : "not a PNG or JPEG image"));
  }
  const cv::Size size = png ? PngSize(bytes) : JpegSize(bytes);
  if (size.width > limits.max_side || size.height > limits.max_side ||
      static_cast<std::int64_t>(size.width) * size.height > limits.max_pixels) {
    throw Error(ErrorCode::kImageTooLarge,
                "image of " + std::to_string(size.width) + "x" + std::to_string(size.height) +
                    " pixels is over the limit (" + std::to_string(limits.max_pixels) +
                    " pixels, " + std::to_string(limits.max_side) + " per side)");
  }
  if (size.width < limits.min_side || size.height < limits.min_side) {
    throw Error(ErrorCode::kInvalidArgument,
                "image smaller than " + std::to_string(limits.min_side) + " pixels a side");
  }
  // libjpeg and libpng decode truncated files partially with a warning: check the end first.
  if (png && (bytes.size() < 12 || bytes.substr(bytes.size() - 8, 4) != "IEND")) {
    throw Error(ErrorCode::kImageDecode, "truncated PNG (no IEND chunk at the end)");
  }
  if (jpeg) {
    size_t end = bytes.size();
    while (end > 2 && Byte(bytes, end - 1) == 0x00) --end;  // some encoders pad with zeros
    if (end < 4 || Byte(bytes, end - 2) != 0xFF || Byte(bytes, end - 1) != 0xD9) {
      throw Error(ErrorCode::kImageDecode, "truncated JPEG (no end-of-image marker)");
    }
  }
  return {png ? "image/png" : "image/jpeg", size.width, size.height};
}

ValidatedUpload PrepareUpload(std::string_view bytes, std::string_view content_type,
                              const IntakeLimits& limits) {
  const UploadHeader header = InspectUpload(bytes, content_type, limits);
  StrippedImage stripped = StripMetadata(bytes);
  ValidatedUpload out;
  out.media_type = header.media_type;
  out.orientation = stripped.exif_orientation;
  const cv::Size shown = OrientedSize({header.width, header.height}, out.orientation);
  out.width = shown.width;
  out.height = shown.height;
  out.bytes = std::move(stripped.bytes);
  return out;
}

// The stored bytes are what is checked: they are what every later decode reads.
void CheckUploadStream(const ValidatedUpload& upload) {
  if (upload.media_type == "image/png") {
    CheckPngData(upload.bytes);
  } else {
    CheckJpegData(upload.bytes);
  }
}

ValidatedUpload ValidateUpload(std::string_view bytes, std::string_view content_type,
                               const IntakeLimits& limits) {
  ValidatedUpload out = PrepareUpload(bytes, content_type, limits);
  CheckUploadStream(out);
  return out;
}

DecodedImage DecodeUpload(std::string_view bytes, std::string_view content_type,
                          const IntakeLimits& limits) {
  const ValidatedUpload upload = ValidateUpload(bytes, content_type, limits);
  DecodedImage out;
  out.bgr = DecodeOriented(upload.bytes, upload.orientation, cv::IMREAD_COLOR);
  out.media_type = upload.media_type;
  return out;
}

void CapturedAtPolicy::Check() const {
  if (earliest_ms < 0 || max_ahead_ms < 0) {
    throw Error(ErrorCode::kInvalidArgument,
                "captured_at bounds must not be negative (earliest before 1970, or a negative "
                "allowance ahead of the clock)");
  }
}

void CheckCapturedAt(std::int64_t captured_at_ms, std::int64_t now_ms,
                     const CapturedAtPolicy& policy) {
  if (captured_at_ms < policy.earliest_ms) {
    throw Error(ErrorCode::kInvalidArgument,
                "captured_at " + pipeline::FormatRfc3339(captured_at_ms) + " is before " +
                    pipeline::FormatRfc3339(policy.earliest_ms) + " (is the device's clock set?)");
  }
  if (captured_at_ms > now_ms && captured_at_ms - now_ms > policy.max_ahead_ms) {
    char hours[32];
    std::snprintf(hours, sizeof hours, "%g", static_cast<double>(policy.max_ahead_ms) / 3.6e6);
    throw Error(ErrorCode::kInvalidArgument,
                "captured_at " + pipeline::FormatRfc3339(captured_at_ms) + " is more than " +
                    hours + " h ahead of the server clock (" + pipeline::FormatRfc3339(now_ms) +
                    ")");
  }
}

}  // namespace skintrack::service
