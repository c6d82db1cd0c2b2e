// COCO datasets: skintrack's own files round-trip exactly; files in other tools' conventions
// (polygons, list counts, missing optional fields) read; malformed files are refused whole with
// the first problem named.
#include "skintrack/annotation/coco.h"

#include <gtest/gtest.h>

#include <nlohmann/json.hpp>
#include <opencv2/imgproc.hpp>

#include "skintrack/core/error.h"

namespace skintrack::annotation {
namespace {

using nlohmann::json;

CocoDataset Sample() {
  CocoDataset d;
  d.description = "sample";
  CocoImage im;
  im.id = 7;
  im.width = 40;
  im.height = 30;
  im.file_name = "capture-7.png";
  im.capture_id = 7;
  im.subject = "S-1a2b";
  im.fitzpatrick = 5;
  im.monk = 7;
  im.ita_degrees = -12.5;
  im.labels = {{"diagnosis", "psoriasis"}, {"subtype", "plaque"}};
  d.images.push_back(im);
  d.categories.push_back({1, "psoriasis_plaque", "psoriasis", {}});
  d.categories.push_back({2, "landmark", "registration", {"navel", "nipple_left"}});
  cv::Mat mask = cv::Mat::zeros(30, 40, CV_8U);
  cv::circle(mask, {20, 15}, 8, 255, cv::FILLED);
  CocoAnnotation a;
  a.id = 100;
  a.image_id = 7;
  a.category_id = 1;
  a.segmentation = EncodeRle(mask);
  a.annotator = "token:ann1";
  d.annotations.push_back(a);
  CocoAnnotation k;
  k.id = 101;
  k.image_id = 7;
  k.category_id = 2;
  k.keypoints = {{10.5, 4, 2}, {0, 0, 0}};
  k.bbox = CocoBox{1, 2, 3, 4};
  d.annotations.push_back(k);
  return d;
}

TEST(CocoTest, OwnFilesRoundTripExactly) {
  const CocoDataset d = Sample();
  const std::string text = WriteCoco(d);
  const CocoDataset back = ParseCoco(text);
  EXPECT_EQ(WriteCoco(back), text);  // byte-identical on a second pass
  ASSERT_EQ(back.images.size(), 1U);
  EXPECT_EQ(back.images[0].capture_id, 7);
  EXPECT_EQ(back.images[0].fitzpatrick, 5);
  EXPECT_EQ(back.images[0].monk, 7);
  EXPECT_EQ(back.images[0].labels.at("subtype"), "plaque");
  ASSERT_EQ(back.annotations.size(), 2U);
  ASSERT_TRUE(back.annotations[0].segmentation);
  EXPECT_EQ(cv::countNonZero(DecodeRle(*back.annotations[0].segmentation) !=
                             DecodeRle(*d.annotations[0].segmentation)),
            0);
  EXPECT_EQ(back.annotations[0].annotator, "token:ann1");
  EXPECT_EQ(back.annotations[1].keypoints.size(), 2U);
  EXPECT_DOUBLE_EQ(back.annotations[1].keypoints[0].x, 10.5);
  EXPECT_EQ(back.categories[1].keypoint_names[1], "nipple_left");
  // The written file carries what other tools expect: area, bbox, num_keypoints.
  const json j = json::parse(text);
  const json& a = j["annotations"][0];
  EXPECT_EQ(a["area"].get<double>(), cv::countNonZero(DecodeRle(*d.annotations[0].segmentation)));
  EXPECT_EQ(a["bbox"], json({12.0, 7.0, 17.0, 17.0}));
  EXPECT_TRUE(a["segmentation"]["counts"].is_string());
  EXPECT_EQ(j["annotations"][1]["num_keypoints"], 1);
}

TEST(CocoTest, ReadsOtherToolsConventions) {
  // Polygons, list counts, no bbox / area / iscrowd / info / supercategory, unknown fields.
  const std::string text = R"({
    "images": [{"id": 1, "width": 8, "height": 6, "date_captured": "x"}],
    "categories": [{"id": 3, "name": "vitiligo"}],
    "annotations": [
      {"id": 1, "image_id": 1, "category_id": 3, "segmentation": [[1, 1, 4, 1, 4, 3, 1, 3]],
       "attributes": {"occluded": false}},
      {"id": 2, "image_id": 1, "category_id": 3, "iscrowd": 1,
       "segmentation": {"size": [6, 8], "counts": [8, 2, 38]}},
      {"id": 3, "image_id": 1, "category_id": 3, "segmentation": [], "bbox": [0, 0, 2, 2]}
    ]})";
  const CocoDataset d = ParseCoco(text);
  ASSERT_EQ(d.annotations.size(), 3U);
  EXPECT_EQ(RleArea(*d.annotations[0].segmentation), 12);
  EXPECT_TRUE(d.annotations[1].iscrowd);
  const cv::Mat second = DecodeRle(*d.annotations[1].segmentation);
  // Runs go down the columns of 6 rows: pixels 8 and 9 are rows 2 and 3 of column 1.
  EXPECT_EQ(second.at<uchar>(2, 1), 255);
  EXPECT_EQ(second.at<uchar>(3, 1), 255);
  EXPECT_EQ(cv::countNonZero(second), 2);
  EXPECT_FALSE(d.annotations[2].segmentation);
  EXPECT_TRUE(d.annotations[2].bbox);
}

void ExpectRefused(const std::string& text, const std::string& named) {
  try {
    ParseCoco(text);
    ADD_FAILURE() << "accepted: " << text;
  } catch (const Error& e) {
    EXPECT_EQ(e.code(), ErrorCode::kInvalidArgument);
    EXPECT_NE(std::string(e.what()).find(named), std::string::npos) << e.what();
  }
}

TEST(CocoTest, MalformedFilesAreRefusedNamingTheFirstProblem) {
  const std::string head = R"({"images": [{"id": 1, "width": 8, "height": 6}],
    "categories": [{"id": 3, "name": "plaque", "keypoints": ["a"]}], "annotations": [)";
  ExpectRefused("{", "not JSON");
  ExpectRefused(R"({"categories": [], "annotations": []})", "\"images\"");
  ExpectRefused(head + R"({"id": 1, "image_id": 9, "category_id": 3}]})",
                "annotations[0].image_id");
  ExpectRefused(head + R"({"id": 1, "image_id": 1, "category_id": 4}]})",
                "annotations[0].category_id");
  ExpectRefused(head + R"({"id": 1, "image_id": 1, "category_id": 3,
    "segmentation": {"size": [8, 6], "counts": [48]}}]})",
                "annotations[0].segmentation.size");
  ExpectRefused(head + R"({"id": 1, "image_id": 1, "category_id": 3,
    "segmentation": {"size": [6, 8], "counts": [40]}}]})",
                "sum to 40");
  ExpectRefused(head + R"({"id": 1, "image_id": 1, "category_id": 3},
    {"id": 1, "image_id": 1, "category_id": 3}]})",
                "repeats id 1");
  ExpectRefused(head + R"({"id": 1, "image_id": 1, "category_id": 3,
    "keypoints": [1, 2, 2, 3, 4, 2]}]})",
                "names 1");
  ExpectRefused(head + R"({"id": 1, "image_id": 1, "category_id": 3,
    "segmentation": [[1, 2, 3]]}]})",
                "annotations[0].segmentation[0]");
  // Integers are range-checked as JSON numbers: 4294967299 must not wrap to 3.
  ExpectRefused(R"({"images": [{"id": 1, "width": 8, "height": 6,
    "skintrack": {"fitzpatrick": 4294967299}}], "categories": [], "annotations": []})",
                "images[0].skintrack.fitzpatrick");
  ExpectRefused(R"({"images": [{"id": 1, "width": 8.5, "height": 6}], "categories": [],
    "annotations": []})",
                "images[0].width");
}

}  // namespace
}  // namespace skintrack::annotation
