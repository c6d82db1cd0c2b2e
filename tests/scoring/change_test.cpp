// Change against baseline, agreement metrics and the renderers.
#include "skintrack/scoring/change.h"

#include <gtest/gtest.h>

#include <opencv2/imgproc.hpp>

#include "skintrack/core/error.h"
#include "skintrack/scoring/json.h"

namespace skintrack::scoring {
namespace {

cv::Mat Rect(cv::Rect r) {
  cv::Mat m = cv::Mat::zeros(100, 200, CV_8UC1);
  m(r).setTo(255);
  return m;
}

TEST(CompareMasks, NewPersistingCleared) {
  const cv::Mat base = Rect({10, 10, 50, 40});  // 2000 px
  const cv::Mat now = Rect({40, 10, 50, 40});   // overlap 20 x 40 = 800
  const MaskChange c = CompareMasks(base, now);
  EXPECT_EQ(c.baseline_pixels, 2000);
  EXPECT_EQ(c.current_pixels, 2000);
  EXPECT_EQ(c.persisting_pixels, 800);
  EXPECT_EQ(c.new_pixels, 1200);
  EXPECT_EQ(c.cleared_pixels, 1200);
  ASSERT_TRUE(c.area_change_percent.has_value());
  EXPECT_NEAR(*c.area_change_percent, 0.0, 1e-12);
  EXPECT_TRUE(c.repigmentation.defined);
  EXPECT_NEAR(c.repigmentation.percent, 0.0, 1e-12);
}

TEST(CompareMasks, RepigmentationAndValidRegion) {
  const cv::Mat base = Rect({0, 0, 100, 100});  // 10000
  const cv::Mat now = Rect({0, 0, 25, 100});    // 2500
  MaskChange c = CompareMasks(base, now);
  EXPECT_NEAR(c.repigmentation.percent, 75.0, 1e-12);
  EXPECT_EQ(c.repigmentation.grade, 3);
  EXPECT_NEAR(*c.area_change_percent, -75.0, 1e-12);
  // Only the left half was seen at both visits.
  c = CompareMasks(base, now, Rect({0, 0, 50, 100}));
  EXPECT_EQ(c.baseline_pixels, 5000);
  EXPECT_NEAR(c.repigmentation.percent, 50.0, 1e-12);
  // Nothing at baseline: change is undefined, not a division by zero.
  c = CompareMasks(cv::Mat::zeros(100, 200, CV_8UC1), now);
  EXPECT_FALSE(c.area_change_percent.has_value());
  EXPECT_FALSE(c.repigmentation.defined);
}

TEST(CompareMasks, RejectsMismatch) {
  EXPECT_THROW(CompareMasks(Rect({0, 0, 5, 5}), cv::Mat::zeros(10, 10, CV_8UC1)), Error);
  EXPECT_THROW(CompareMasks(Rect({0, 0, 5, 5}), cv::Mat::zeros(100, 200, CV_8UC3)), Error);
}

TEST(CompareToTruth, DiceIouAndArea) {
  const cv::Mat a = Rect({0, 0, 100, 100});
  const cv::Mat b = Rect({50, 0, 100, 100});
  const MaskAgreement m = CompareToTruth(a, b);
  EXPECT_NEAR(m.dice, 0.5, 1e-12);
  EXPECT_NEAR(m.iou, 1.0 / 3.0, 1e-12);
  EXPECT_NEAR(m.area_error_points, 0.0, 1e-12);
  const MaskAgreement e =
      CompareToTruth(cv::Mat::zeros(100, 200, CV_8UC1), cv::Mat::zeros(100, 200, CV_8UC1));
  EXPECT_EQ(e.dice, 1.0);
  const MaskAgreement d =
      CompareToTruth(Rect({0, 0, 20, 100}), Rect({0, 0, 10, 100}), Rect({0, 0, 100, 100}));
  EXPECT_NEAR(d.area_error_points, 10.0, 1e-12);
  const std::string j = ToJson(d);
  EXPECT_NE(j.find("\"dice\""), std::string::npos);
}

TEST(Render, OverlayAndChangeMapColourTheRightPixels) {
  const cv::Mat photo(100, 200, CV_8UC3, cv::Scalar(120, 140, 180));
  const cv::Mat lesion = Rect({60, 30, 60, 40});
  const cv::Mat ov = RenderOverlay(photo, lesion);
  ASSERT_EQ(ov.size(), photo.size());
  ASSERT_EQ(ov.type(), CV_8UC3);
  EXPECT_EQ(ov.at<cv::Vec3b>(5, 5), photo.at<cv::Vec3b>(5, 5));  // untouched outside
  const cv::Vec3b inside = ov.at<cv::Vec3b>(50, 90);
  EXPECT_GT(inside[0], 120);  // tinted toward magenta (blue and red up, green down)
  EXPECT_LT(inside[1], 140);
  const MaskChange c = CompareMasks(Rect({10, 10, 50, 40}), Rect({40, 10, 50, 40}));
  const cv::Mat map = RenderChangeMap(photo, c);
  const cv::Vec3b cleared = map.at<cv::Vec3b>(30, 20);
  const cv::Vec3b fresh = map.at<cv::Vec3b>(30, 80);
  EXPECT_GT(cleared[1], cleared[2]);  // green
  EXPECT_GT(fresh[2], fresh[1]);      // red
  EXPECT_THROW(RenderOverlay(photo, cv::Mat::zeros(10, 10, CV_8UC1)), Error);
  EXPECT_THROW(RenderChangeMap(cv::Mat(10, 10, CV_8UC3), c), Error);
}

}  // namespace
}  // namespace skintrack::scoring
