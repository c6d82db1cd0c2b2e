// skintrack's extension fields of issue 14's dataset export: the annotation versions a dataset
// holds (info.skintrack) and each annotator's image-level labels (images[].skintrack) survive a
// write and a read, and malformed ones are refused with their place.
#include <gtest/gtest.h>

#include <string>

#include "skintrack/annotation/coco.h"
#include "skintrack/core/error.h"

namespace skintrack::annotation {
namespace {

CocoDataset Minimal() {
  CocoDataset d;
  CocoImage im;
  im.id = 1;
  im.width = 8;
  im.height = 6;
  im.annotator_labels["coco:alice"] = {{"diagnosis", "psoriasis"}, {"erythema", "2"}};
  im.annotator_labels["token:0011223344556677"] = {{"monk", "4"}};
  d.images.push_back(im);
  d.annotation_versions = {3, 9, 12};
  return d;
}

TEST(CocoExtensionTest, VersionsAndAnnotatorLabelsRoundTrip) {
  const std::string text = WriteCoco(Minimal());
  const CocoDataset back = ParseCoco(text);
  EXPECT_EQ(back.annotation_versions, (std::vector<std::int64_t>{3, 9, 12}));
  ASSERT_EQ(back.images.size(), 1U);
  EXPECT_EQ(back.images[0].annotator_labels.at("coco:alice").at("erythema"), "2");
  EXPECT_EQ(back.images[0].annotator_labels.at("token:0011223344556677").at("monk"), "4");
  EXPECT_EQ(WriteCoco(back), text);
}

TEST(CocoExtensionTest, MalformedExtensionsAreNamed) {
  const std::string base = R"({"images":[{"id":1,"width":8,"height":6%s}],"categories":[],)"
                           R"("annotations":[]%s})";
  auto with = [&](const std::string& image, const std::string& root) {
    std::string s = base;
    s.replace(s.find("%s"), 2, image);
    s.replace(s.find("%s"), 2, root);
    return s;
  };
  auto message = [](const std::string& text) {
    try {
      ParseCoco(text);
    } catch (const Error& e) {
      return std::string(e.what());
    }
    return std::string("accepted");
  };
  EXPECT_NE(message(with("", R"(,"info":{"skintrack":{"annotation_versions":[1,"x"]}})"))
                .find("info.skintrack.annotation_versions[1]"),
            std::string::npos);
  EXPECT_NE(message(with(R"(,"skintrack":{"annotator_labels":{"a":{"erythema":2}}})", ""))
                .find("images[0].skintrack.annotator_labels.a.erythema"),
            std::string::npos);
  EXPECT_NE(message(with(R"(,"skintrack":{"annotator_labels":[]})", ""))
                .find("images[0].skintrack.annotator_labels"),
            std::string::npos);
}

}  // namespace
}  // namespace skintrack::annotation
