// The annotation document: every field round-trips, a client's form (counts as a list, members
// missing or null, keys in any order) reads, the stored form is canonical (equal content, equal
// bytes), and bad documents are refused naming the place of the first problem.
#include "skintrack/annotation/document.h"

#include <gtest/gtest.h>

#include <nlohmann/json.hpp>
#include <opencv2/imgproc.hpp>

#include "skintrack/annotation/rle.h"
#include "skintrack/core/error.h"

namespace skintrack::annotation {
namespace {

using nlohmann::json;

const cv::Size kSize{40, 30};  // width 40, height 30

cv::Mat Disc(cv::Point centre, int radius) {
  cv::Mat m = cv::Mat::zeros(kSize, CV_8UC1);
  cv::circle(m, centre, radius, 255, cv::FILLED);
  return m;
}

AnnotationContent Full() {
  AnnotationContent c;
  c.masks[MaskClass::kPsoriasisPlaque] = Disc({12, 10}, 6);
  c.masks[MaskClass::kSkin] = Disc({20, 15}, 14);
  c.masks[MaskClass::kExclude] = cv::Mat::zeros(kSize, CV_8UC1);  // an empty mask is a mask
  c.boxes = {{MaskClass::kPsoriasisPlaque, 6, 4, 12.5, 12}, {MaskClass::kExclude, 0, 0, 40, 30}};
  c.keypoints = {{"navel", 20.5, 15}, {"mole_1", 0, 30}};
  c.labels.diagnosis = Condition::kPsoriasis;
  c.labels.subtype = "plaque";
  c.labels.erythema = 2;
  c.labels.induration = 1;
  c.labels.desquamation = 0;
  c.labels.locations = {"trunk-anterior", "left-forearm"};
  c.labels.fitzpatrick = 3;
  c.labels.monk = 4;
  c.labels.image_quality = 5;
  return c;
}

bool SameMask(const cv::Mat& a, const cv::Mat& b) {
  return a.size() == b.size() && a.type() == b.type() && cv::countNonZero(a != b) == 0;
}

TEST(AnnotationDocument, EveryFieldRoundTrips) {
  const AnnotationContent c = Full();
  const std::string bytes = EncodeDocument(c, kSize);
  const AnnotationContent back = DecodeDocument(bytes, kSize);
  ASSERT_EQ(back.masks.size(), 3U);
  for (const auto& [cls, mask] : c.masks) {
    ASSERT_TRUE(back.masks.count(cls)) << MaskClassName(cls);
    EXPECT_TRUE(SameMask(back.masks.at(cls), mask)) << MaskClassName(cls);
  }
  ASSERT_EQ(back.boxes.size(), 2U);
  EXPECT_EQ(back.boxes[0].mask_class, MaskClass::kPsoriasisPlaque);
  EXPECT_DOUBLE_EQ(back.boxes[0].x, 6);
  EXPECT_DOUBLE_EQ(back.boxes[0].y, 4);
  EXPECT_DOUBLE_EQ(back.boxes[0].width, 12.5);
  EXPECT_DOUBLE_EQ(back.boxes[0].height, 12);
  EXPECT_EQ(back.boxes[1].mask_class, MaskClass::kExclude);
  ASSERT_EQ(back.keypoints.size(), 2U);
  EXPECT_EQ(back.keypoints[0].name, "navel");
  EXPECT_DOUBLE_EQ(back.keypoints[0].x, 20.5);
  EXPECT_DOUBLE_EQ(back.keypoints[1].y, 30);
  const ImageLabels& l = back.labels;
  EXPECT_EQ(l.diagnosis, Condition::kPsoriasis);
  EXPECT_EQ(l.subtype, "plaque");
  EXPECT_EQ(l.erythema, 2);
  EXPECT_EQ(l.induration, 1);
  EXPECT_EQ(l.desquamation, 0);
  EXPECT_EQ(l.locations, (std::vector<std::string>{"trunk-anterior", "left-forearm"}));
  EXPECT_EQ(l.fitzpatrick, 3);
  EXPECT_EQ(l.monk, 4);
  EXPECT_EQ(l.image_quality, 5);
  EXPECT_EQ(EncodeDocument(back, kSize), bytes);  // a second pass gives the same bytes
}

TEST(AnnotationDocument, StoredFormIsCanonical) {
  const std::string bytes = EncodeDocument(Full(), kSize);
  const json j = json::parse(bytes);
  EXPECT_TRUE(j["masks"]["skin"]["counts"].is_string());  // compressed, not a list
  EXPECT_EQ(j["masks"]["skin"]["size"], json::array({30, 40}));
  // Keys sorted at every level, no whitespace.
  EXPECT_EQ(bytes.rfind("{\"boxes\":[{\"class\":", 0), 0U) << bytes.substr(0, 40);
  EXPECT_EQ(bytes.find(' '), std::string::npos);
  EXPECT_EQ(EncodeDocument({}, kSize), R"({"boxes":[],"keypoints":[],"labels":{},"masks":{}})");
}

TEST(AnnotationDocument, EqualContentGivesEqualBytes) {
  // The same content reached two ways: a client's document (list counts, another key order,
  // whitespace, nulls, -0) and the typed value.
  AnnotationContent typed;
  typed.masks[MaskClass::kVitiligoDepigmented] = Disc({8, 8}, 4);
  typed.keypoints = {{"navel", 0, 3}};
  typed.labels.diagnosis = Condition::kVitiligo;
  typed.labels.monk = 2;
  const Rle rle = EncodeRle(typed.masks[MaskClass::kVitiligoDepigmented]);
  const json client = {
      {"labels", {{"monk", 2.0}, {"diagnosis", "vitiligo"}, {"erythema", nullptr}}},
      {"keypoints", {{{"y", 3}, {"x", -0.0}, {"name", "navel"}}}},
      {"boxes", nullptr},
      {"masks", {{"vitiligo_depigmented", {{"counts", rle.counts}, {"size", {30, 40}}}}}}};
  const AnnotationContent read = DecodeDocument(client.dump(2), kSize);
  EXPECT_EQ(EncodeDocument(read, kSize), EncodeDocument(typed, kSize));
  EXPECT_FALSE(read.labels.erythema.has_value());
}

TEST(AnnotationDocument, ListCountsReadAsTheSamePixels) {
  const cv::Mat mask = Disc({30, 5}, 3);
  const Rle rle = EncodeRle(mask);
  const json doc = {{"masks", {{"psoriasis_scale", {{"size", {30, 40}}, {"counts", rle.counts}}}}}};
  const AnnotationContent c = DecodeDocument(doc.dump(), kSize);
  ASSERT_TRUE(c.masks.count(MaskClass::kPsoriasisScale));
  EXPECT_TRUE(SameMask(c.masks.at(MaskClass::kPsoriasisScale), mask));
  // The compressed string of the same runs reads to the same pixels too.
  const json compressed = {
      {"masks",
       {{"psoriasis_scale", {{"size", {30, 40}}, {"counts", RleCountsToString(rle.counts)}}}}}};
  EXPECT_TRUE(SameMask(
      DecodeDocument(compressed.dump(), kSize).masks.at(MaskClass::kPsoriasisScale), mask));
}

// The message of the error DecodeDocument throws for `text`, or "" when it does not throw.
std::string Refusal(const std::string& text, cv::Size size = kSize) {
  try {
    DecodeDocument(text, size);
  } catch (const Error& e) {
    EXPECT_EQ(e.code(), ErrorCode::kInvalidArgument);
    return e.what();
  }
  return "";
}

TEST(AnnotationDocument, BadDocumentsAreRefusedNamingThePlace) {
  const std::string ok_mask = R"({"size": [30, 40], "counts": [1200]})";
  struct Case {
    std::string text;
    std::string message;  // the start of the expected message
  };
  const std::vector<Case> cases = {
      {"not json", "document: is not JSON"},
      {"[]", "document: must be a JSON object"},
      {R"({"mask": {}})", "document: unknown member \"mask\""},
      {R"({"masks": []})", "masks: must be an object"},
      {R"({"masks": {"plaque": )" + ok_mask + "}}", "masks.plaque: unknown mask class"},
      {R"({"masks": {"skin": {"size": [40, 30], "counts": [1200]}}})",
       "masks.skin.size: is 40x30 (height x width) but the image is 30x40"},
      {R"({"masks": {"skin": {"size": [30], "counts": [1200]}}})", "masks.skin.size: must be"},
      {R"({"masks": {"skin": {"size": [-30, 40], "counts": [1200]}}})", "masks.skin.size[0]:"},
      {R"({"masks": {"skin": {"size": [30, 40]}}})", "masks.skin: has no counts"},
      {R"({"masks": {"skin": {"size": [30, 40], "counts": [1000, 100]}}})",
       "masks.skin.counts: sum to 1100 pixels"},
      // 4294967296 + 1200 wraps to 1200 as a uint32: it must be refused, not read as 1200.
      {R"({"masks": {"skin": {"size": [30, 40], "counts": [4294968496]}}})",
       "masks.skin.counts[0]: must be an integer"},
      {R"({"masks": {"skin": {"size": [30, 40], "counts": [600, -1, 601]}}})",
       "masks.skin.counts[1]: must be an integer"},
      {R"({"masks": {"skin": {"size": [30, 40], "counts": "!!"}}})", "masks.skin.counts:"},
      {R"({"masks": {"skin": {"size": [30, 40], "counts": [1200], "area": 0}}})",
       "masks.skin: unknown member \"area\""},
      {R"({"boxes": [{"class": "skin", "x": 0, "y": 0, "width": 5}]})", "boxes[0]: has no height"},
      {R"({"boxes": [{"class": "skin", "x": "0", "y": 0, "width": 5, "height": 5}]})",
       "boxes[0].x: must be a number"},
      {R"({"boxes": [{"class": "lesion", "x": 0, "y": 0, "width": 5, "height": 5}]})",
       "boxes[0].class: unknown mask class"},
      {R"({"boxes": [{"class": "skin", "x": 30, "y": 0, "width": 20, "height": 5}]})",
       "boxes[0]: must be a non-empty box inside the image"},
      {R"({"keypoints": [{"name": "a", "x": 1, "y": 1}, {"name": "a", "x": 2, "y": 2}]})",
       "keypoints[1]: repeats the name"},
      {R"({"keypoints": [{"name": "a", "x": 1, "y": 1, "z": 0}]})",
       "keypoints[0]: unknown member \"z\""},
      {R"({"labels": {"erythema": 7}})", "labels.erythema: must be 0..4"},
      // 4294967299 is 3 after a 32-bit narrowing: refused before it.
      {R"({"labels": {"fitzpatrick": 4294967299}})", "labels.fitzpatrick: must be an integer"},
      {R"({"labels": {"monk": 2.5}})", "labels.monk: must be an integer"},
      {R"({"labels": {"diagnosis": "eczema"}})", "labels.diagnosis:"},
      {R"({"labels": {"diagnosis": "vitiligo", "subtype": "plaque"}})", "labels.subtype:"},
      {R"({"labels": {"locations": ["elbow"]}})", "labels.locations: unknown body site"},
      {R"({"labels": {"locations": "trunk-anterior"}})", "labels.locations: must be an array"},
      {R"({"labels": {"erythma": 2}})", "labels: unknown member \"erythma\""},
  };
  for (const Case& c : cases) {
    const std::string message = Refusal(c.text);
    EXPECT_EQ(message.rfind(c.message, 0), 0U) << c.text << "\n  gave: " << message;
  }
}

TEST(AnnotationDocument, EncodeChecksTheContent) {
  AnnotationContent c;
  c.masks[MaskClass::kSkin] = cv::Mat::zeros(10, 10, CV_8UC1);  // not the image's size
  try {
    EncodeDocument(c, kSize);
    FAIL() << "a mask of another size was encoded";
  } catch (const Error& e) {
    EXPECT_EQ(std::string(e.what()).rfind("masks.skin:", 0), 0U) << e.what();
  }
  c.masks[MaskClass::kSkin] = cv::Mat(kSize, CV_8UC1, cv::Scalar(7));  // not 0/255
  EXPECT_THROW(EncodeDocument(c, kSize), Error);
  AnnotationContent labels;
  labels.labels.image_quality = 0;
  EXPECT_THROW(EncodeDocument(labels, kSize), Error);
}

}  // namespace
}  // namespace skintrack::annotation
