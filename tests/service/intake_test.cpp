#include <gtest/gtest.h>

// jpeglib.h needs <cstdio> and <cstddef> first.
// clang-format off
#include <cstddef>
#include <cstdio>
#include <cstdlib>
#include <jpeglib.h>
// clang-format on

#include <opencv2/imgcodecs.hpp>
#include <opencv2/imgproc.hpp>

#include "skintrack/core/error.h"
#include "skintrack/pipeline/time_format.h"
#include "skintrack/service/image_intake.h"

namespace skintrack::service {
namespace {

cv::Mat TestImage(int w = 120, int h = 80) {
  cv::Mat img(h, w, CV_8UC3, cv::Scalar(90, 140, 200));
  cv::circle(img, {w / 3, h / 2}, h / 4, cv::Scalar(60, 60, 220), cv::FILLED);
  return img;
}

std::string Encode(const cv::Mat& img, const std::string& ext,
                   const std::vector<int>& params = {}) {
  std::vector<unsigned char> b;
  cv::imencode(ext, img, b, params);
  return std::string(b.begin(), b.end());
}

// Texture, so that the scan data is long enough to damage in the middle.
cv::Mat NoisyImage(int w = 160, int h = 120) {
  cv::Mat img(h, w, CV_8UC3);
  cv::randu(img, 0, 255);
  cv::GaussianBlur(img, img, {5, 5}, 1.5);
  return img;
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

TEST(Intake, AcceptsPngAndJpegWithoutReencoding) {
  const cv::Mat img = TestImage();
  const DecodedImage png = DecodeUpload(Encode(img, ".png"), "image/png");
  EXPECT_EQ(png.media_type, "image/png");
  EXPECT_EQ(cv::norm(png.bgr, img, cv::NORM_INF), 0);  // lossless
  const DecodedImage jpg = DecodeUpload(Encode(img, ".jpg"), "image/jpeg; charset=binary");
  EXPECT_EQ(jpg.media_type, "image/jpeg");
  EXPECT_EQ(jpg.bgr.size(), img.size());
  // OpenCV writes no metadata: the stored bytes are the upload's, byte for byte.
  const std::string jpeg_bytes = Encode(img, ".jpg");
  const ValidatedUpload v = ValidateUpload(jpeg_bytes, "image/jpeg");
  EXPECT_EQ(v.bytes, jpeg_bytes);
  EXPECT_EQ(v.orientation, 1);
  EXPECT_EQ(ValidateUpload(Encode(img, ".png"), "image/png").bytes, Encode(img, ".png"));
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
  const ValidatedUpload v = ValidateUpload(jpg, "image/jpeg");
  EXPECT_EQ(v.orientation, 6);
  EXPECT_EQ(v.width, 80);  // as shown
  EXPECT_EQ(v.height, 120);
  EXPECT_EQ(v.bytes.find("GPS-SECRET"), std::string::npos);
  EXPECT_EQ(v.bytes.find("Exif"), std::string::npos);
}

// Half a JPEG plus an end-of-image marker, and JPEGs with damaged scan data: libjpeg decodes them
// with a warning and grey where the data is missing, and OpenCV's imdecode used to return that
// image (201, and it became the site's baseline).
TEST(Intake, RefusesJpegsWithMissingOrCorruptScanData) {
  for (const bool progressive : {false, true}) {
    SCOPED_TRACE(progressive ? "progressive" : "baseline");
    const std::string jpg =
        Encode(NoisyImage(), ".jpg", {cv::IMWRITE_JPEG_PROGRESSIVE, progressive ? 1 : 0});
    ASSERT_NO_THROW(DecodeUpload(jpg, "image/jpeg"));
    const std::string half = jpg.substr(0, jpg.size() / 2) + "\xFF\xD9";
    EXPECT_EQ(CodeOf(half, "image/jpeg"), ErrorCode::kImageDecode);
    std::string scrambled = jpg;
    for (size_t i = jpg.size() / 2; i < jpg.size() / 2 + 300; ++i) scrambled[i] ^= 0x5A;
    EXPECT_EQ(CodeOf(scrambled, "image/jpeg"), ErrorCode::kImageDecode);
    // "Corrupt JPEG data: 3 extraneous bytes before marker 0xda" (garbage between segments).
    const size_t sos = jpg.find("\xFF\xDA");
    ASSERT_NE(sos, std::string::npos);
    const std::string extraneous = jpg.substr(0, sos) + "abc" + jpg.substr(sos);
    EXPECT_EQ(CodeOf(extraneous, "image/jpeg"), ErrorCode::kImageDecode);
  }
  try {
    const std::string jpg = Encode(NoisyImage(), ".jpg");
    DecodeUpload(jpg.substr(0, jpg.size() / 2) + "\xFF\xD9", "image/jpeg");
    ADD_FAILURE() << "half a JPEG was accepted";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("Corrupt JPEG data"), std::string::npos) << e.what();
  }
}

TEST(Intake, AcceptsSoundJpegVariants) {
  const cv::Mat img = NoisyImage(97, 61);  // sizes that are not multiples of the 8x8 blocks
  cv::Mat grey;
  cv::cvtColor(img, grey, cv::COLOR_BGR2GRAY);
  const std::vector<std::string> variants = {
      Encode(img, ".jpg"), Encode(grey, ".jpg"),
      Encode(img, ".jpg", {cv::IMWRITE_JPEG_PROGRESSIVE, 1}),
      Encode(img, ".jpg", {cv::IMWRITE_JPEG_OPTIMIZE, 1}),
      Encode(img, ".jpg", {cv::IMWRITE_JPEG_RST_INTERVAL, 2}) + std::string(3, '\0')};
  for (const std::string& jpg : variants) {
    const DecodedImage out = DecodeUpload(jpg, "image/jpeg");
    EXPECT_EQ(out.bgr.size(), img.size());
  }
}

// A valid progressive JPEG of `w` x `h` with one scan per AC coefficient, component and
// successive-approximation step: 2 + 3 x 63 x 2 = 380 scans, each a pass over the whole image.
std::string ManyScanJpeg(int w, int h) {
  jpeg_compress_struct cinfo;
  jpeg_error_mgr err;
  cinfo.err = jpeg_std_error(&err);
  jpeg_create_compress(&cinfo);
  unsigned char* out = nullptr;
  unsigned long out_size = 0;
  jpeg_mem_dest(&cinfo, &out, &out_size);
  cinfo.image_width = static_cast<JDIMENSION>(w);
  cinfo.image_height = static_cast<JDIMENSION>(h);
  cinfo.input_components = 3;
  cinfo.in_color_space = JCS_RGB;
  jpeg_set_defaults(&cinfo);
  std::vector<jpeg_scan_info> scans;
  scans.push_back({3, {0, 1, 2, 0}, 0, 0, 0, 1});  // DC, first pass
  scans.push_back({3, {0, 1, 2, 0}, 0, 0, 1, 0});  // DC, refinement
  for (int c = 0; c < 3; ++c) {
    for (int k = 1; k < 64; ++k) {
      scans.push_back({1, {c, 0, 0, 0}, k, k, 0, 1});
      scans.push_back({1, {c, 0, 0, 0}, k, k, 1, 0});
    }
  }
  cinfo.scan_info = scans.data();
  cinfo.num_scans = static_cast<int>(scans.size());
  jpeg_start_compress(&cinfo, TRUE);
  const cv::Mat rgb = NoisyImage(w, h);
  while (cinfo.next_scanline < cinfo.image_height) {
    JSAMPROW row =
        const_cast<JSAMPROW>(rgb.ptr<unsigned char>(static_cast<int>(cinfo.next_scanline)));
    jpeg_write_scanlines(&cinfo, &row, 1);
  }
  jpeg_finish_compress(&cinfo);
  jpeg_destroy_compress(&cinfo);
  std::string bytes(reinterpret_cast<const char*>(out), out_size);
  std::free(out);  // NOLINT(cppcoreguidelines-no-malloc): jpeg_mem_dest's buffer
  return bytes;
}

// Thousands of scans make a small file cost seconds of CPU: more than 256 are refused.
TEST(Intake, RefusesJpegsWithTooManyScans) {
  const std::string jpg = ManyScanJpeg(64, 48);
  try {
    DecodeUpload(jpg, "image/jpeg");
    ADD_FAILURE() << "a 380-scan JPEG was accepted";
  } catch (const Error& e) {
    EXPECT_EQ(e.code(), ErrorCode::kImageDecode);
    EXPECT_NE(std::string(e.what()).find("scans"), std::string::npos) << e.what();
  }
  // The file itself is sound: OpenCV decodes it.
  const cv::Mat raw(1, static_cast<int>(jpg.size()), CV_8U, const_cast<char*>(jpg.data()));
  EXPECT_FALSE(cv::imdecode(raw, cv::IMREAD_COLOR).empty());
}

std::uint32_t Be32At(const std::string& s, size_t at) {
  return static_cast<std::uint32_t>(static_cast<unsigned char>(s[at])) << 24 |
         static_cast<std::uint32_t>(static_cast<unsigned char>(s[at + 1])) << 16 |
         static_cast<std::uint32_t>(static_cast<unsigned char>(s[at + 2])) << 8 |
         static_cast<std::uint32_t>(static_cast<unsigned char>(s[at + 3]));
}

void PutBe32(std::string& s, size_t at, std::uint32_t v) {
  for (int k = 0; k < 4; ++k) s[at + k] = static_cast<char>(v >> (24 - 8 * k));
}

// Recomputes the CRC of the chunk at `at`, so that the damage is in the data, not the CRC.
void FixCrc(std::string& png, size_t at) {
  const std::uint32_t len = Be32At(png, at);
  std::uint32_t crc = 0xFFFFFFFFu;  // PNG's CRC-32 over chunk type and data, bit by bit
  for (size_t i = at + 4; i < at + 8 + len; ++i) {
    crc ^= static_cast<unsigned char>(png[i]);
    for (int k = 0; k < 8; ++k) crc = (crc >> 1) ^ (0xEDB88320u & (0u - (crc & 1u)));
  }
  PutBe32(png, at + 8 + len, ~crc);
}

// libpng already makes OpenCV fail on each of these; kept as a guard beside the JPEG checks.
TEST(Intake, RefusesPngsWithCorruptOrMissingImageData) {
  const std::string png = Encode(NoisyImage(), ".png");
  size_t idat = 8;
  while (png.compare(idat + 4, 4, "IDAT") != 0) idat += 12 + Be32At(png, idat);
  const std::uint32_t len = Be32At(png, idat);
  std::string bad_crc = png;
  bad_crc[idat + 8 + len / 2] ^= 0x11;
  EXPECT_EQ(CodeOf(bad_crc, "image/png"), ErrorCode::kImageDecode);
  std::string bad_zlib = bad_crc;
  FixCrc(bad_zlib, idat);
  EXPECT_EQ(CodeOf(bad_zlib, "image/png"), ErrorCode::kImageDecode);
  // Half the IDAT data in a well-formed chunk, then IEND: "Not enough image data".
  std::string short_idat = png.substr(0, idat + 8 + len / 2) + std::string(4, '\0');
  PutBe32(short_idat, idat, len / 2);
  FixCrc(short_idat, idat);
  short_idat += png.substr(png.size() - 12);
  EXPECT_EQ(CodeOf(short_idat, "image/png"), ErrorCode::kImageDecode);
}

TEST(Intake, InspectReadsTheHeaderOnly) {
  const std::string png = Encode(TestImage(120, 80), ".png");
  const UploadHeader h = InspectUpload(png, "image/png");
  EXPECT_EQ(h.media_type, "image/png");
  EXPECT_EQ(h.width, 120);
  EXPECT_EQ(h.height, 80);
  // Damaged scan data is the full decode's business, not the header check's.
  const std::string jpg = Encode(NoisyImage(), ".jpg");
  EXPECT_NO_THROW(InspectUpload(jpg.substr(0, jpg.size() / 2) + "\xFF\xD9", "image/jpeg"));
}

TEST(Intake, TheDefaultPixelLimitFitsA50MegapixelCameraAndNoMore) {
  std::string png = Encode(TestImage(), ".png");
  auto claim = [&](std::uint32_t w, std::uint32_t h) {
    std::string b = png;
    PutBe32(b, 16, w);
    PutBe32(b, 20, h);
    return b;
  };
  // Canon EOS 5DS: 8688 x 5792 = 50.3 MP gets past the limit (then fails on the bogus data).
  EXPECT_EQ(CodeOf(claim(8688, 5792), "image/png"), ErrorCode::kImageDecode);
  // The 73 KB PNG of 7700 x 7700 (59.3 MP) that cost 2.2 s per push under the old 60 MP limit.
  EXPECT_EQ(CodeOf(claim(7700, 7700), "image/png"), ErrorCode::kImageTooLarge);
}

std::int64_t T(const std::string& text) { return pipeline::ParseRfc3339(text); }

void ExpectRefused(std::int64_t at, std::int64_t now, const CapturedAtPolicy& policy = {}) {
  try {
    CheckCapturedAt(at, now, policy);
    ADD_FAILURE() << pipeline::FormatRfc3339(at) << " was accepted";
  } catch (const Error& e) {
    EXPECT_EQ(e.code(), ErrorCode::kInvalidArgument);
    EXPECT_NE(std::string(e.what()).find("captured_at"), std::string::npos) << e.what();
  }
}

TEST(Intake, CapturedAtMustBeAfter2000AndAtMostADayAhead) {
  const std::int64_t now = T("2026-12-02T10:00:00Z");
  for (const char* bad :
       {"1970-01-01T00:00:00Z", "1999-12-31T23:59:59.999Z", "2026-12-03T10:00:00.001Z",
        "2999-01-01T00:00:00Z", "9999-12-31T23:59:59Z"}) {
    SCOPED_TRACE(bad);
    ExpectRefused(T(bad), now);
  }
  for (const char* good :
       {"2000-01-01T00:00:00Z", "2026-12-02T10:00:00Z", "2026-12-03T10:00:00Z"}) {
    EXPECT_NO_THROW(CheckCapturedAt(T(good), now, {})) << good;
  }
  CapturedAtPolicy strict;
  strict.earliest_ms = T("2020-01-01T00:00:00Z");
  strict.max_ahead_ms = 0;
  ExpectRefused(T("2019-06-01T00:00:00Z"), now, strict);
  ExpectRefused(now + 1, now, strict);
  EXPECT_NO_THROW(CheckCapturedAt(now, now, strict));
  strict.max_ahead_ms = -1;
  EXPECT_THROW(strict.Check(), Error);
}

}  // namespace
}  // namespace skintrack::service
