// libFuzzer target for image intake: arbitrary bytes, declared as PNG and as JPEG, through
// ValidateUpload (header checks, metadata removal, the libjpeg damage check, the PNG chunk and
// zlib check) and DecodeUpload (then OpenCV's decoders).
// The contract: skintrack::Error or a decoded image, nothing else (no other exception, crash,
// leak or sanitizer report). Small limits keep each input fast; the seeds in
// corpus/intake/ are tiny PNG and JPEG files.
#include <cstddef>
#include <cstdint>
#include <string_view>

#include "skintrack/core/error.h"
#include "skintrack/service/image_intake.h"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  skintrack::service::IntakeLimits limits;
  limits.max_pixels = 1 << 20;  // a 1 MP decode at most: thousands of inputs per second
  limits.max_side = 4096;
  limits.min_side = 1;
  const std::string_view bytes(reinterpret_cast<const char*>(data), size);
  for (const char* type : {"image/png", "image/jpeg"}) {
    try {
      const skintrack::service::ValidatedUpload v =
          skintrack::service::ValidateUpload(bytes, type, limits);
      if (v.bytes.empty() || v.orientation < 1 || v.orientation > 8) __builtin_trap();
      const skintrack::service::DecodedImage out =
          skintrack::service::DecodeUpload(bytes, type, limits);
      // What DecodeUpload promises of an image it returns.
      if (out.bgr.empty() || out.bgr.type() != CV_8UC3 || out.bgr.cols != v.width ||
          out.bgr.rows != v.height) {
        __builtin_trap();
      }
    } catch (const skintrack::Error&) {
      // Refused: the expected outcome for almost every input.
    }
  }
  return 0;
}
