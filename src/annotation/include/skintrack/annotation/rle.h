// Run-length encoded masks as COCO stores them: runs over the pixels in column-major order
// (down each column, then the next column), alternating unmarked and marked, starting with
// unmarked. Either as a list of counts or as COCO's compressed string (pycocotools' format, so
// files move to and from CVAT, Label Studio and pycocotools unchanged).
#pragma once

#include <cstdint>
#include <opencv2/core.hpp>
#include <string>
#include <vector>

namespace skintrack::annotation {

struct Rle {
  int height = 0;
  int width = 0;
  std::vector<std::uint32_t> counts;  // sums to height * width
};

// Non-zero pixels of a CV_8UC1 mask are marked. Throws Error(kInvalidArgument) for another type.
Rle EncodeRle(const cv::Mat& mask);
// CV_8UC1 0/255. Throws Error(kInvalidArgument) when the counts do not sum to height * width.
cv::Mat DecodeRle(const Rle& rle);
// Marked pixels without decoding.
std::int64_t RleArea(const Rle& rle);

// COCO's compressed counts string and back. The parser throws Error(kInvalidArgument) for a
// character outside the alphabet, a truncated number or a negative run.
std::string RleCountsToString(const std::vector<std::uint32_t>& counts);
std::vector<std::uint32_t> RleCountsFromString(const std::string& text);

// Polygons (x0, y0, x1, y1, ... in pixel coordinates, as COCO stores them) filled into a mask of
// `size`: the union of the polygons, edges included, a vertex at integer coordinates being a pixel
// centre (so a polygon traced around a mask by cv::findContours fills back to the same pixels).
// Throws Error(kInvalidArgument) for a polygon of fewer than 3 points or an odd coordinate count.
cv::Mat RasterisePolygons(const std::vector<std::vector<double>>& polygons, cv::Size size);

}  // namespace skintrack::annotation
