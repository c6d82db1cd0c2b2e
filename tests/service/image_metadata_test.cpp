// Lossless metadata removal: photos carrying EXIF (orientation, GPS, serial number), XMP, IPTC,
// comments, trailing pictures or PNG text lose exactly those bytes and keep every pixel.
#include "skintrack/service/image_metadata.h"

#include <gtest/gtest.h>

#include <opencv2/imgcodecs.hpp>
#include <string>

#include "skintrack/core/error.h"

namespace skintrack::service {
namespace {

using namespace std::string_literals;  // payloads with NUL bytes

std::string Encode(const std::string& ext, const std::vector<int>& params = {}) {
  cv::Mat img(48, 64, CV_8UC3);
  cv::randu(img, 0, 255);
  std::vector<unsigned char> buf;
  cv::imencode(ext, img, buf, params);
  return {buf.begin(), buf.end()};
}

cv::Mat Pixels(const std::string& bytes) {
  const cv::Mat raw(1, static_cast<int>(bytes.size()), CV_8U, const_cast<char*>(bytes.data()));
  return cv::imdecode(raw, cv::IMREAD_COLOR | cv::IMREAD_IGNORE_ORIENTATION);
}

bool SamePixels(const std::string& a, const std::string& b) {
  const cv::Mat pa = Pixels(a), pb = Pixels(b);
  return !pa.empty() && pa.size() == pb.size() && cv::norm(pa, pb, cv::NORM_INF) == 0;
}

std::string Segment(unsigned marker, const std::string& payload) {
  const size_t n = payload.size() + 2;
  return std::string{'\xFF', static_cast<char>(marker), static_cast<char>(n >> 8),
                     static_cast<char>(n & 0xFF)} +
         payload;
}

// EXIF in little-endian TIFF: IFD0 with Orientation = `orientation` and a GPS pointer, followed
// by text a photo could carry (position, camera serial number).
std::string ExifPayload(int orientation) {
  std::string t("Exif\0\0II*\0\x08\0\0\0", 14);
  t += std::string("\x02\0", 2);  // 2 entries
  t += std::string("\x12\x01\x03\0\x01\0\0\0", 8) + static_cast<char>(orientation) +
       std::string("\0\0\0", 3);                               // Orientation
  t += std::string("\x25\x88\x04\0\x01\0\0\0\x26\0\0\0", 12);  // GPS IFD
  t += std::string("\0\0\0\0", 4);                             // no IFD1
  return t + "GPS 52.37N 4.89E SERIAL-0451-XYZ";
}

// After the JFIF segment that OpenCV writes first.
std::string InsertAfterJfif(const std::string& jpeg, const std::string& segments) {
  const size_t jfif_end =
      4 + ((static_cast<unsigned char>(jpeg[4]) << 8) | static_cast<unsigned char>(jpeg[5]));
  return jpeg.substr(0, jfif_end) + segments + jpeg.substr(jfif_end);
}

TEST(ImageMetadataTest, JpegLosesExactlyItsMetadataSegments) {
  const std::string plain = Encode(".jpg", {cv::IMWRITE_JPEG_QUALITY, 90});
  const std::string tagged =
      InsertAfterJfif(
          plain,
          Segment(0xE1, ExifPayload(6)) +
              Segment(0xE1, "http://ns.adobe.com/xap/1.0/\0<x:xmpmeta>Jane Doe</x:xmpmeta>"s) +
              Segment(0xED, "Photoshop 3.0\0IPTC byline Jane Doe"s) +
              Segment(0xFE, "patient P002 Jane Doe")) +
      std::string("\xFF\xD8 trailing thumbnail with its own EXIF SERIAL-0451", 50);
  const StrippedImage s = StripMetadata(tagged);
  EXPECT_EQ(s.bytes, plain);  // byte for byte what the encoder wrote, metadata aside
  EXPECT_TRUE(SamePixels(s.bytes, tagged));
  EXPECT_EQ(s.exif_orientation, 6);
  for (const char* secret : {"Jane", "SERIAL", "GPS", "Exif", "P002"}) {
    EXPECT_EQ(s.bytes.find(secret), std::string::npos) << secret;
  }
  EXPECT_EQ(s.removed, (std::vector<std::string>{"APP1 Exif", "APP1 XMP", "APP13 IPTC", "COM",
                                                 "data after EOI"}));
  EXPECT_EQ(StripMetadata(s.bytes).bytes, s.bytes);  // idempotent
  EXPECT_TRUE(StripMetadata(s.bytes).removed.empty());
}

TEST(ImageMetadataTest, ProgressiveJpegKeepsEveryScan) {
  const std::string plain = Encode(".jpg", {cv::IMWRITE_JPEG_PROGRESSIVE, 1});
  // A comment between the first and the second scan.
  const size_t first_sos = plain.find("\xFF\xDA");
  ASSERT_NE(first_sos, std::string::npos);
  size_t next = first_sos + 2;
  while (!(plain[next] == '\xFF' && plain[next + 1] != '\0' &&
           (static_cast<unsigned char>(plain[next + 1]) < 0xD0 ||
            static_cast<unsigned char>(plain[next + 1]) > 0xD7))) {
    ++next;
  }
  const std::string tagged =
      plain.substr(0, next) + Segment(0xFE, "between scans") + plain.substr(next);
  const StrippedImage s = StripMetadata(tagged);
  EXPECT_EQ(s.bytes, plain);
  EXPECT_TRUE(SamePixels(s.bytes, plain));
}

TEST(ImageMetadataTest, BrokenJpegStructureIsRefused) {
  const std::string plain = Encode(".jpg");
  try {
    StripMetadata(plain.substr(0, plain.size() / 2));
    ADD_FAILURE() << "a truncated JPEG was accepted";
  } catch (const Error& e) {
    EXPECT_EQ(e.code(), ErrorCode::kImageDecode);
  }
  std::string bad_length = InsertAfterJfif(plain, std::string("\xFF\xE1\xFF\xFF", 4));
  EXPECT_THROW(StripMetadata(bad_length.substr(0, 200)), Error);
  EXPECT_THROW(StripMetadata("GIF89a"), Error);
}

std::uint32_t Crc32(std::string_view data) {
  std::uint32_t c = 0xFFFFFFFFU;
  for (char ch : data) {
    c ^= static_cast<unsigned char>(ch);
    for (int k = 0; k < 8; ++k) c = (c >> 1) ^ (0xEDB88320U & (0U - (c & 1U)));
  }
  return c ^ 0xFFFFFFFFU;
}

std::string Chunk(const std::string& type, const std::string& data) {
  auto be32 = [](std::uint32_t v) {
    return std::string{static_cast<char>(v >> 24), static_cast<char>(v >> 16),
                       static_cast<char>(v >> 8), static_cast<char>(v)};
  };
  return be32(static_cast<std::uint32_t>(data.size())) + type + data + be32(Crc32(type + data));
}

TEST(ImageMetadataTest, PngLosesTextAndExifKeepsColourChunks) {
  const std::string plain = Encode(".png");
  const size_t after_ihdr = 8 + 25;
  const std::string gama = Chunk("gAMA", std::string("\0\0\xB1\x8F", 4));
  std::string exif = ExifPayload(3).substr(6);  // PNG's eXIf holds the TIFF structure directly
  const std::string tagged = plain.substr(0, after_ihdr) + gama +
                             Chunk("tEXt", std::string("Comment\0Jane Doe P002", 21)) +
                             Chunk("eXIf", exif) +
                             Chunk("tIME", std::string("\x07\xEA\x0C\x02\x01\x02\x03", 7)) +
                             Chunk("prVt", "private maker data") + plain.substr(after_ihdr);
  const StrippedImage s = StripMetadata(tagged);
  EXPECT_EQ(s.bytes, plain.substr(0, after_ihdr) + gama + plain.substr(after_ihdr));
  EXPECT_TRUE(SamePixels(s.bytes, plain));
  EXPECT_EQ(s.exif_orientation, 3);
  EXPECT_EQ(s.removed, (std::vector<std::string>{"tEXt", "eXIf", "tIME", "prVt"}));
  EXPECT_EQ(s.bytes.find("Jane"), std::string::npos);
  EXPECT_EQ(StripMetadata(s.bytes).bytes, s.bytes);
  EXPECT_THROW(StripMetadata(plain.substr(0, plain.size() - 20)), Error);
}

}  // namespace
}  // namespace skintrack::service
