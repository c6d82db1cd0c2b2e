// COCO run-length encoding: hand-worked known answers, round trips, polygons.
#include "skintrack/annotation/rle.h"

#include <gtest/gtest.h>

#include <opencv2/imgproc.hpp>

#include "skintrack/core/error.h"

namespace skintrack::annotation {
namespace {

TEST(RleTest, CountsRunDownEachColumnStartingUnmarked) {
  // 2 rows x 3 columns; column-major: 0 0 | 1 1 | 1 0 -> runs 2, 3, 1.
  cv::Mat m = (cv::Mat_<uchar>(2, 3) << 0, 255, 255, 0, 255, 0);
  const Rle rle = EncodeRle(m);
  EXPECT_EQ(rle.height, 2);
  EXPECT_EQ(rle.width, 3);
  EXPECT_EQ(rle.counts, (std::vector<std::uint32_t>{2, 3, 1}));
  EXPECT_EQ(RleArea(rle), 3);
  EXPECT_EQ(cv::countNonZero(DecodeRle(rle) != m), 0);
  // A mask whose first pixel is marked starts with an empty unmarked run.
  cv::Mat first = cv::Mat::zeros(2, 2, CV_8U);
  first.at<uchar>(0, 0) = 1;
  EXPECT_EQ(EncodeRle(first).counts, (std::vector<std::uint32_t>{0, 1, 3}));
}

TEST(RleTest, CompressedStringsMatchHandWorkedExamples) {
  EXPECT_EQ(RleCountsToString({2, 3, 1}), "231");
  EXPECT_EQ(RleCountsToString({2, 3, 1, 5}), "2312");  // from the 4th: difference to 2 before
  // 20 needs a continuation group; 5 - 20 = -15 is one sign-extended group.
  EXPECT_EQ(RleCountsToString({10, 20, 1, 5}), ":d01A");
  EXPECT_EQ(RleCountsFromString(":d01A"), (std::vector<std::uint32_t>{10, 20, 1, 5}));
}

TEST(RleTest, RandomMasksAndCountsRoundTrip) {
  cv::RNG rng(11);
  for (int t = 0; t < 20; ++t) {
    cv::Mat m(rng.uniform(1, 60), rng.uniform(1, 60), CV_8U);
    rng.fill(m, cv::RNG::UNIFORM, 0, 2);
    m *= 255;
    const Rle rle = EncodeRle(m);
    EXPECT_EQ(cv::countNonZero(DecodeRle(rle) != m), 0);
    EXPECT_EQ(RleArea(rle), cv::countNonZero(m));
    EXPECT_EQ(RleCountsFromString(RleCountsToString(rle.counts)), rle.counts);
  }
  const std::vector<std::uint32_t> big = {0, 4000000000U, 7, 123456789, 1, 4000000000U};
  EXPECT_EQ(RleCountsFromString(RleCountsToString(big)), big);
}

TEST(RleTest, RefusesBrokenEncodings) {
  EXPECT_THROW(RleCountsFromString("d"), Error);   // ends inside a number
  EXPECT_THROW(RleCountsFromString("2~"), Error);  // outside the alphabet
  EXPECT_THROW(RleCountsFromString("A"), Error);   // a negative first run
  EXPECT_THROW(DecodeRle({2, 2, {1, 2}}), Error);  // sums to 3, not 4
  EXPECT_THROW(EncodeRle(cv::Mat::zeros(2, 2, CV_16U)), Error);
}

TEST(RleTest, PolygonsFillWithTheirEdges) {
  const cv::Mat m = RasterisePolygons({{1, 1, 4, 1, 4, 3, 1, 3}}, {8, 6});
  EXPECT_EQ(cv::countNonZero(m), 4 * 3);
  EXPECT_EQ(m.at<uchar>(1, 1), 255);
  EXPECT_EQ(m.at<uchar>(3, 4), 255);
  EXPECT_EQ(m.at<uchar>(0, 0), 0);
  // Two overlapping polygons are a union, not an even-odd fill.
  const cv::Mat both =
      RasterisePolygons({{0, 0, 3, 0, 3, 3, 0, 3}, {1, 1, 5, 1, 5, 5, 1, 5}}, {8, 8});
  EXPECT_EQ(both.at<uchar>(2, 2), 255);
  EXPECT_THROW(RasterisePolygons({{0, 0, 3, 0}}, {8, 8}), Error);
}

TEST(RleTest, ContoursTracedAroundAMaskFillBackToIt) {
  cv::Mat m = cv::Mat::zeros(120, 160, CV_8U);
  cv::ellipse(m, {80, 60}, {50, 30}, 25, 0, 360, 255, cv::FILLED);
  cv::rectangle(m, {5, 5}, {30, 20}, 255, cv::FILLED);
  std::vector<std::vector<cv::Point>> contours;
  cv::findContours(m.clone(), contours, cv::RETR_EXTERNAL, cv::CHAIN_APPROX_NONE);
  std::vector<std::vector<double>> polygons;
  for (const auto& c : contours) {
    std::vector<double> p;
    for (const cv::Point& q : c) p.insert(p.end(), {double(q.x), double(q.y)});
    polygons.push_back(p);
  }
  EXPECT_EQ(cv::countNonZero(RasterisePolygons(polygons, m.size()) != m), 0);
}

}  // namespace
}  // namespace skintrack::annotation
