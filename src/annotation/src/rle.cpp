#include "skintrack/annotation/rle.h"

#include <cmath>
#include <opencv2/imgproc.hpp>

#include "skintrack/core/error.h"

namespace skintrack::annotation {
namespace {

constexpr int kPolygonShift = 3;  // cv::fillPoly sub-pixel bits: vertices to 1/8 pixel

std::int64_t Total(const std::vector<std::uint32_t>& counts) {
  std::int64_t sum = 0;
  for (std::uint32_t c : counts) sum += c;
  return sum;
}

}  // namespace

Rle EncodeRle(const cv::Mat& mask) {
  if (mask.empty() || mask.type() != CV_8UC1) {
    throw Error(ErrorCode::kInvalidArgument, "RLE encoding needs a single-channel 8-bit mask");
  }
  Rle rle;
  rle.height = mask.rows;
  rle.width = mask.cols;
  // Column-major: the transpose's rows are the mask's columns.
  const cv::Mat by_column = mask.t();
  bool marked = false;
  std::uint32_t run = 0;
  for (int c = 0; c < by_column.rows; ++c) {
    const uchar* p = by_column.ptr<uchar>(c);
    for (int r = 0; r < by_column.cols; ++r) {
      if ((p[r] != 0) != marked) {
        rle.counts.push_back(run);
        run = 0;
        marked = !marked;
      }
      ++run;
    }
  }
  rle.counts.push_back(run);
  return rle;
}

cv::Mat DecodeRle(const Rle& rle) {
  if (rle.height <= 0 || rle.width <= 0) {
    throw Error(ErrorCode::kInvalidArgument, "RLE size must be positive");
  }
  const std::int64_t total = static_cast<std::int64_t>(rle.height) * rle.width;
  if (Total(rle.counts) != total) {
    throw Error(ErrorCode::kInvalidArgument, "RLE counts sum to " +
                                                 std::to_string(Total(rle.counts)) +
                                                 ", not height x width " + std::to_string(total));
  }
  cv::Mat by_column = cv::Mat::zeros(rle.width, rle.height, CV_8U);
  auto* p = by_column.ptr<uchar>(0);  // continuous: a fresh matrix
  std::int64_t at = 0;
  bool marked = false;
  for (std::uint32_t run : rle.counts) {
    if (marked) std::fill(p + at, p + at + run, uchar{255});
    at += run;
    marked = !marked;
  }
  return by_column.t();
}

std::int64_t RleArea(const Rle& rle) {
  std::int64_t area = 0;
  for (size_t i = 1; i < rle.counts.size(); i += 2) area += rle.counts[i];
  return area;
}

// Each count (from the fourth on, as the difference to the count two before) in 5-bit groups,
// least significant first, 0x20 marking "more follows", offset into printable ASCII by 48.
std::string RleCountsToString(const std::vector<std::uint32_t>& counts) {
  std::string out;
  for (size_t i = 0; i < counts.size(); ++i) {
    std::int64_t x = counts[i];
    if (i > 2) x -= static_cast<std::int64_t>(counts[i - 2]);
    bool more = true;
    while (more) {
      int c = static_cast<int>(x & 0x1f);
      x >>= 5;  // arithmetic shift: negative differences end at -1
      more = (c & 0x10) != 0 ? x != -1 : x != 0;
      if (more) c |= 0x20;
      out.push_back(static_cast<char>(c + 48));
    }
  }
  return out;
}

std::vector<std::uint32_t> RleCountsFromString(const std::string& text) {
  std::vector<std::uint32_t> counts;
  size_t p = 0;
  while (p < text.size()) {
    std::int64_t x = 0;
    int k = 0;
    bool more = true;
    while (more) {
      if (p >= text.size()) {
        throw Error(ErrorCode::kInvalidArgument, "RLE string ends inside a number");
      }
      const int c = static_cast<unsigned char>(text[p]) - 48;
      if (c < 0 || c > 63 || k >= 12) {
        throw Error(ErrorCode::kInvalidArgument,
                    "RLE string has a bad character at offset " + std::to_string(p));
      }
      x |= static_cast<std::int64_t>(c & 0x1f) << (5 * k);
      more = (c & 0x20) != 0;
      ++p;
      ++k;
      if (!more && (c & 0x10) != 0) x |= -(std::int64_t{1} << (5 * k));  // sign-extend
    }
    if (counts.size() > 2) x += counts[counts.size() - 2];
    if (x < 0 || x > static_cast<std::int64_t>(UINT32_MAX)) {
      throw Error(ErrorCode::kInvalidArgument,
                  "RLE string decodes to a run of " + std::to_string(x) + " pixels");
    }
    counts.push_back(static_cast<std::uint32_t>(x));
  }
  return counts;
}

cv::Mat RasterisePolygons(const std::vector<std::vector<double>>& polygons, cv::Size size) {
  cv::Mat mask = cv::Mat::zeros(size, CV_8U);
  const double scale = 1 << kPolygonShift;
  std::vector<std::vector<cv::Point>> contours;
  for (const auto& poly : polygons) {
    if (poly.size() < 6 || poly.size() % 2 != 0) {
      throw Error(ErrorCode::kInvalidArgument,
                  "a polygon needs an even number of coordinates, at least 3 points");
    }
    std::vector<cv::Point> pts;
    for (size_t i = 0; i < poly.size(); i += 2) {
      if (!std::isfinite(poly[i]) || !std::isfinite(poly[i + 1]) || std::abs(poly[i]) > 1e6 ||
          std::abs(poly[i + 1]) > 1e6) {
        throw Error(ErrorCode::kInvalidArgument, "a polygon coordinate is out of range");
      }
      // A vertex at integer coordinates is a pixel centre, as in polygons traced around a mask
      // (cv::findContours), which then fill back to the same pixels.
      pts.emplace_back(static_cast<int>(std::lround(poly[i] * scale)),
                       static_cast<int>(std::lround(poly[i + 1] * scale)));
    }
    contours.push_back(std::move(pts));
  }
  // Polygons of one annotation are a union (COCO), not an even-odd fill: one at a time.
  for (const auto& c : contours) {
    cv::fillPoly(mask, std::vector<std::vector<cv::Point>>{c}, 255, cv::LINE_8, kPolygonShift);
  }
  return mask;
}

}  // namespace skintrack::annotation
