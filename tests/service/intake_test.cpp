#include <gtest/gtest.h>

#include <opencv2/imgcodecs.hpp>
#include <opencv2/imgproc.hpp>

#include "skintrack/core/error.h"
#include "skintrack/service/image_intake.h"

namespace skintrack::service {
namespace {

cv::Mat TestImage(int w = 120, int h = 80) {
  cv::Mat img(h, w, CV_8UC3, cv::Scalar(90, 140, 200));
  cv::circle(img, {w / 3, h / 2}, h / 4, cv::Scalar(60, 60, 220), cv::FILLED);
  return img;
}

std::string Encode(const cv::Mat& img, const std::string& ext) {
  std::vector<unsigned char> b;
  cv::imencode(ext, img, b);
  return std::string(b.begin(), b.end());
}

ErrorCode CodeOf(const std::string& bytes, const std::string& type, const IntakeLimits& l = {}) {
  try {
    DecodeUpload(bytes, type, l);
  } catch (const Error& e) {
    return e.code();
  }
  ADD_FAILURE() << "expected an error";
  return ErrorCode::kInternal;
}

TEST(Intake, AcceptsPngAndJpegAndReencodes) {
  const cv::Mat img = TestImage();
  const DecodedImage png = DecodeUpload(Encode(img, ".png"), "image/png");
  EXPECT_EQ(png.media_type, "image/png");
  EXPECT_EQ(cv::norm(png.bgr, img, cv::NORM_INF), 0);  // lossless
  const DecodedImage jpg = DecodeUpload(Encode(img, ".jpg"), "image/jpeg; charset=binary");
  EXPECT_EQ(jpg.media_type, "image/jpeg");
  EXPECT_EQ(jpg.bgr.size(), img.size());
  // Deterministic: the same upload gives the same stored bytes (idempotent retries).
  EXPECT_EQ(DecodeUpload(Encode(img, ".jpg"), "image/jpeg").encoded, jpg.encoded);
}

TEST(Intake, RejectsWrongTypesTruncationAndBombs) {
  const std::string png = Encode(TestImage(), ".png");
  const std::string jpg = Encode(TestImage(), ".jpg");
  EXPECT_EQ(CodeOf(png, "text/plain"), ErrorCode::kUnsupportedMedia);
  EXPECT_EQ(CodeOf(png, ""), ErrorCode::kUnsupportedMedia);
  EXPECT_EQ(CodeOf(png, "image/jpeg"), ErrorCode::kUnsupportedMedia);
  EXPECT_EQ(CodeOf("hello world, not an image", "image/png"), ErrorCode::kUnsupportedMedia);
  EXPECT_EQ(CodeOf("", "image/png"), ErrorCode::kImageDecode);
  EXPECT_EQ(CodeOf(png.substr(0, png.size() / 2), "image/png"), ErrorCode::kImageDecode);
  EXPECT_EQ(CodeOf(jpg.substr(0, jpg.size() / 2), "image/jpeg"), ErrorCode::kImageDecode);
  EXPECT_EQ(CodeOf(png.substr(0, 20), "image/png"), ErrorCode::kImageDecode);
  // A PNG whose header claims 100000 x 100000 pixels is refused before any decoding.
  std::string bomb = png;
  const unsigned char big[8] = {0, 1, 0x86, 0xA0, 0, 1, 0x86, 0xA0};
  for (int i = 0; i < 8; ++i) bomb[16 + i] = static_cast<char>(big[i]);
  EXPECT_EQ(CodeOf(bomb, "image/png"), ErrorCode::kImageTooLarge);
  IntakeLimits small;
  small.max_pixels = 5000;
  EXPECT_EQ(CodeOf(png, "image/png", small), ErrorCode::kImageTooLarge);
  EXPECT_EQ(CodeOf(Encode(TestImage(20, 20), ".png"), "image/png"), ErrorCode::kInvalidArgument);
}

// A JPEG with an EXIF block (orientation 6 = rotate 90 degrees clockwise, plus a fake GPS tag).
std::string WithExif(const std::string& jpeg) {
  std::string tiff = std::string("II*\0", 4) + std::string("\x08\0\0\0", 4);
  tiff += std::string("\x02\0", 2);                               // two entries
  tiff += std::string("\x12\x01\x03\0\x01\0\0\0\x06\0\0\0", 12);  // Orientation = 6
  tiff += std::string("\x25\x88\x04\0\x01\0\0\0\0\0\0\0", 12);    // GPSInfo pointer
  tiff += std::string("\0\0\0\0", 4);                             // no next IFD
  tiff += "GPS-SECRET-LOCATION";
  const std::string payload = std::string("Exif\0\0", 6) + tiff;
  const size_t len = payload.size() + 2;
  std::string app1 = "\xFF\xE1";
  app1.push_back(static_cast<char>(len >> 8));
  app1.push_back(static_cast<char>(len & 0xFF));
  return jpeg.substr(0, 2) + app1 + payload + jpeg.substr(2);
}

TEST(Intake, AppliesExifOrientationAndStripsMetadata) {
  const std::string jpg = WithExif(Encode(TestImage(120, 80), ".jpg"));
  ASSERT_NE(jpg.find("GPS-SECRET"), std::string::npos);
  const DecodedImage out = DecodeUpload(jpg, "image/jpeg");
  EXPECT_EQ(out.bgr.cols, 80);  // rotated upright
  EXPECT_EQ(out.bgr.rows, 120);
  EXPECT_EQ(out.encoded.find("GPS-SECRET"), std::string::npos);
  EXPECT_EQ(out.encoded.find("Exif"), std::string::npos);
}

}  // namespace
}  // namespace skintrack::service
