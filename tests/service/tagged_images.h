// Photos carrying the metadata a phone or camera writes, built byte by byte around a plain
// OpenCV encoding: EXIF (orientation, camera serial number, GPS position, a thumbnail in IFD1),
// XMP, IPTC, a comment, a trailing picture after EOI; PNG tEXt / zTXt / iTXt / eXIf / tIME and a
// private chunk. Removing exactly these bytes gives back the plain encoding, byte for byte.
#pragma once

#include <zlib.h>

#include <cstdint>
#include <opencv2/imgcodecs.hpp>
#include <opencv2/imgproc.hpp>
#include <string>
#include <vector>

namespace skintrack::testing {

// Words that occur in the metadata only: none may survive in a stored photo.
inline const std::vector<std::string>& MetadataSecrets() {
  static const std::vector<std::string> kSecrets = {
      "SERIAL-0451", "Jane Doe", "xmpmeta", "Photoshop", "Exif", "eXIf",           "tEXt",
      "zTXt",        "iTXt",     "tIME",    "prVt",      "GPS",  "clinic-comment", "THUMB"};
  return kSecrets;
}

inline std::string EncodeImage(const cv::Mat& img, const std::string& ext,
                               const std::vector<int>& params = {}) {
  std::vector<unsigned char> b;
  cv::imencode(ext, img, b, params);
  return {b.begin(), b.end()};
}

// Texture with an asymmetric red block, so that every orientation gives different pixels.
inline cv::Mat Texture(int w, int h, int seed = 1) {
  cv::Mat img(h, w, CV_8UC3);
  cv::RNG rng(static_cast<std::uint64_t>(seed));
  rng.fill(img, cv::RNG::UNIFORM, 0, 255);
  cv::GaussianBlur(img, img, {5, 5}, 1.5);
  cv::rectangle(img, {w / 8, h / 8}, {w / 3, h / 2}, cv::Scalar(40, 40, 230), cv::FILLED);
  return img;
}

inline std::string Le16(unsigned v) {
  return {static_cast<char>(v & 0xFF), static_cast<char>((v >> 8) & 0xFF)};
}
inline std::string Le32(std::uint32_t v) { return Le16(v & 0xFFFF) + Le16(v >> 16); }
inline std::string Be32(std::uint32_t v) {
  return {static_cast<char>(v >> 24), static_cast<char>((v >> 16) & 0xFF),
          static_cast<char>((v >> 8) & 0xFF), static_cast<char>(v & 0xFF)};
}

// A little-endian TIFF IFD entry whose value fits in 4 bytes or is an offset.
inline std::string Entry(unsigned tag, unsigned type, std::uint32_t count, std::uint32_t value) {
  return Le16(tag) + Le16(type) + Le32(count) + Le32(value);
}

// The EXIF body: IFD0 {Make "SERIAL-0451 camera", Orientation, GPS IFD pointer}, the GPS IFD
// {LatitudeRef "N", Latitude 52/1 22/1 0/1}, IFD1 {JPEGInterchangeFormat, ...Length} and the
// thumbnail's bytes.
inline std::string ExifTiff(int orientation, const std::string& thumbnail) {
  const std::string make("SERIAL-0451 camera\0", 19);
  // header 8 | IFD0: 2 + 3 x 12 + 4 = 42 | make 19 + 1 pad | GPS IFD: 2 + 2 x 12 + 4 = 30 |
  // latitude 3 rationals = 24 | IFD1: 30 | thumbnail
  const std::uint32_t ifd0 = 8, make_at = ifd0 + 42, gps = make_at + 20, lat = gps + 30,
                      ifd1 = lat + 24, thumb = ifd1 + 30;
  std::string t = std::string("II*\0", 4) + Le32(ifd0);
  t += Le16(3) + Entry(0x010F, 2, 19, make_at) +
       Entry(0x0112, 3, 1, static_cast<std::uint32_t>(orientation)) + Entry(0x8825, 4, 1, gps) +
       Le32(ifd1);
  t += make + std::string(1, '\0');
  t += Le16(2) + Entry(0x0001, 2, 2, 'N') + Entry(0x0002, 5, 3, lat) + Le32(0);
  t += Le32(52) + Le32(1) + Le32(22) + Le32(1) + Le32(0) + Le32(1);
  t += Le16(2) + Entry(0x0201, 4, 1, thumb) +
       Entry(0x0202, 4, 1, static_cast<std::uint32_t>(thumbnail.size())) + Le32(0);
  return t + thumbnail;
}

inline std::string Segment(unsigned marker, const std::string& payload) {
  const size_t n = payload.size() + 2;
  return std::string{'\xFF', static_cast<char>(marker), static_cast<char>(n >> 8),
                     static_cast<char>(n & 0xFF)} +
         payload;
}

// A small JPEG marked THUMB in a comment: the kind of preview EXIF carries (and leaks).
inline std::string Thumbnail() {
  const std::string t = EncodeImage(Texture(40, 30, 7), ".jpg");
  return t.substr(0, 2) + Segment(0xFE, "THUMB of the patient") + t.substr(2);
}

// `plain` (OpenCV's JPEG: SOI, APP0 JFIF, tables...) with metadata after the JFIF segment and a
// trailing picture after EOI.
inline std::string TaggedJpeg(const std::string& plain, int orientation,
                              const std::string& comment = "clinic-comment: patient Jane Doe") {
  const size_t jfif_end =
      4 + ((static_cast<unsigned char>(plain[4]) << 8) | static_cast<unsigned char>(plain[5]));
  const std::string meta =
      Segment(0xE1, std::string("Exif\0\0", 6) + ExifTiff(orientation, Thumbnail())) +
      Segment(0xE1, std::string("http://ns.adobe.com/xap/1.0/\0", 29) +
                        "<x:xmpmeta><dc:creator>Jane Doe</dc:creator></x:xmpmeta>") +
      // Photoshop IRB 0x0404 holding IPTC dataset 2:80 (By-line), 8 bytes.
      Segment(0xED, std::string("Photoshop 3.0\0"
                                "8BIM\x04\x04\0\0\0\0\0\x0d",
                                26) +
                        std::string("\x1c\x02\x50\0\x08"
                                    "Jane Doe",
                                    13)) +
      Segment(0xFE, comment);
  return plain.substr(0, jfif_end) + meta + plain.substr(jfif_end) + Thumbnail();
}

inline std::string PngChunk(const std::string& type, const std::string& data) {
  std::string body = type + data;
  const uLong crc =
      crc32(0L, reinterpret_cast<const Bytef*>(body.data()), static_cast<uInt>(body.size()));
  return Be32(static_cast<std::uint32_t>(data.size())) + body +
         Be32(static_cast<std::uint32_t>(crc));
}

inline std::string Deflate(const std::string& data) {
  uLongf size = compressBound(static_cast<uLong>(data.size()));
  std::string out(size, '\0');
  compress(reinterpret_cast<Bytef*>(out.data()), &size, reinterpret_cast<const Bytef*>(data.data()),
           static_cast<uLong>(data.size()));
  out.resize(size);
  return out;
}

// `plain` (OpenCV's PNG: signature, IHDR, IDAT..., IEND) with text, EXIF, time and a private
// chunk after IHDR and before IEND.
inline std::string TaggedPng(const std::string& plain, int orientation) {
  const size_t ihdr_end = 8 + 25;
  const std::string before =
      PngChunk("tEXt", std::string("Author\0Jane Doe", 15)) +
      PngChunk("zTXt", std::string("Comment\0\0", 9) + Deflate("clinic-comment: SERIAL-0451")) +
      PngChunk("iTXt",
               std::string("XML:com.adobe.xmp\0\0\0\0\0", 22) + "<x:xmpmeta>Jane Doe</x:xmpmeta>") +
      PngChunk("eXIf", ExifTiff(orientation, Thumbnail())) +
      PngChunk("tIME", std::string("\x07\xEA\x01\x02\x03\x04\x05", 7));
  const std::string after = PngChunk("prVt", "GPS 52.37N 4.89E");
  return plain.substr(0, ihdr_end) + before + plain.substr(ihdr_end, plain.size() - 12 - ihdr_end) +
         after + plain.substr(plain.size() - 12);
}

}  // namespace skintrack::testing
