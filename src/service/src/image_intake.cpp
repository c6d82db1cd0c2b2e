#include "skintrack/service/image_intake.h"

#include <opencv2/imgcodecs.hpp>
#include <string>

#include "skintrack/core/error.h"

namespace skintrack::service {
namespace {

bool StartsWith(std::string_view s, std::string_view prefix) {
  return s.size() >= prefix.size() && s.substr(0, prefix.size()) == prefix;
}

std::uint32_t Be32(std::string_view s, size_t at) {
  return (static_cast<std::uint32_t>(static_cast<unsigned char>(s[at])) << 24) |
         (static_cast<std::uint32_t>(static_cast<unsigned char>(s[at + 1])) << 16) |
         (static_cast<std::uint32_t>(static_cast<unsigned char>(s[at + 2])) << 8) |
         static_cast<std::uint32_t>(static_cast<unsigned char>(s[at + 3]));
}

unsigned Byte(std::string_view s, size_t at) { return static_cast<unsigned char>(s[at]); }

const std::string_view kPngSignature("\x89PNG\r\n\x1a\n", 8);

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

}  // namespace

DecodedImage DecodeUpload(std::string_view bytes, std::string_view content_type,
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
  const cv::Mat raw(1, static_cast<int>(bytes.size()), CV_8U, const_cast<char*>(bytes.data()));
  DecodedImage out;
  try {
    out.bgr = cv::imdecode(raw, cv::IMREAD_COLOR);  // applies EXIF orientation
  } catch (const cv::Exception& e) {
    throw Error(ErrorCode::kImageDecode, std::string("image does not decode: ") + e.what());
  }
  if (out.bgr.empty()) throw Error(ErrorCode::kImageDecode, "image bytes do not decode");
  std::vector<unsigned char> encoded;
  const bool ok = png ? cv::imencode(".png", out.bgr, encoded, {cv::IMWRITE_PNG_COMPRESSION, 3})
                      : cv::imencode(".jpg", out.bgr, encoded, {cv::IMWRITE_JPEG_QUALITY, 95});
  if (!ok) throw Error(ErrorCode::kInternal, "re-encoding the image failed");
  out.encoded.assign(encoded.begin(), encoded.end());
  out.media_type = png ? "image/png" : "image/jpeg";
  return out;
}

}  // namespace skintrack::service
