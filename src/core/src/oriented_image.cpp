#include "skintrack/core/oriented_image.h"

#include <opencv2/imgcodecs.hpp>
#include <string>

#include "skintrack/core/error.h"

namespace skintrack {

bool IsExifOrientation(int orientation) noexcept { return orientation >= 1 && orientation <= 8; }

cv::Mat ApplyExifOrientation(const cv::Mat& image, int orientation) {
  if (!IsExifOrientation(orientation)) {
    throw Error(ErrorCode::kInvalidArgument,
                "EXIF orientation " + std::to_string(orientation) + " is outside 1..8");
  }
  if (orientation == 1) return image;
  cv::Mat out;
  // The order of OpenCV's own ExifTransform (modules/imgcodecs/src/loadsave.cpp), so that the
  // result is bit-identical to imdecode of the file that still carried the tag.
  switch (orientation) {
    case 2:
      cv::flip(image, out, 1);
      break;
    case 3:
      cv::flip(image, out, -1);
      break;
    case 4:
      cv::flip(image, out, 0);
      break;
    default: {
      cv::transpose(image, out);
      if (orientation == 6) cv::flip(out, out, 1);
      if (orientation == 7) cv::flip(out, out, -1);
      if (orientation == 8) cv::flip(out, out, 0);
    }
  }
  return out;
}

cv::Size OrientedSize(cv::Size stored, int orientation) {
  return orientation >= 5 && orientation <= 8 ? cv::Size(stored.height, stored.width) : stored;
}

cv::Mat DecodeOriented(std::string_view bytes, int orientation, int flags) {
  if (!IsExifOrientation(orientation)) {
    throw Error(ErrorCode::kInvalidArgument,
                "EXIF orientation " + std::to_string(orientation) + " is outside 1..8");
  }
  const cv::Mat raw(1, static_cast<int>(bytes.size()), CV_8U,
                    const_cast<char*>(bytes.data()));  // imdecode only reads
  cv::Mat img;
  try {
    img = cv::imdecode(raw, flags | cv::IMREAD_IGNORE_ORIENTATION);
  } catch (const cv::Exception& e) {
    throw Error(ErrorCode::kImageDecode, std::string("the photo does not decode: ") + e.what());
  }
  if (img.empty()) {
    throw Error(ErrorCode::kImageDecode,
                "the photo does not decode in full (its pixel data is damaged although its "
                "structure checked out at intake)");
  }
  return ApplyExifOrientation(img, orientation);
}

}  // namespace skintrack
