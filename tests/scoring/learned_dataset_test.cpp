// Reading annotated sets: mask folders, DermX-style annotator folders, and every refusal.
#include "skintrack/scoring/learned_dataset.h"

#include <gtest/gtest.h>

#include <filesystem>
#include <opencv2/imgcodecs.hpp>

#include "../support/run_cli.h"
#include "learned_test_scenes.h"
#include "skintrack/core/error.h"

namespace skintrack::scoring {
namespace {

namespace fs = std::filesystem;
using testing::ErrorOf;

class MaskFolder : public ::testing::Test {
 protected:
  void SetUp() override {
    fs::create_directories(images_);
    fs::create_directories(masks_);
    for (int i = 0; i < 2; ++i) {
      const LabelledImage s = testing::TextureScene(i);
      cv::imwrite(images_ + "/p" + std::to_string(i) + ".png", s.bgr);
      cv::imwrite(masks_ + "/p" + std::to_string(i) + ".png", s.mask);
    }
  }
  skintrack::testing::TempDir dir_{"learned_ds"};
  std::string images_ = dir_.str() + "/images", masks_ = dir_.str() + "/masks";
};

TEST_F(MaskFolder, ReadsSortedPairs) {
  const auto set = LoadMaskFolder(images_, masks_);
  ASSERT_EQ(set.size(), 2u);
  EXPECT_EQ(set[0].name, "p0.png");
  EXPECT_EQ(cv::countNonZero(set[1].mask != testing::TextureScene(1).mask), 0);
}

TEST_F(MaskFolder, NamesTheBadFile) {
  cv::imwrite(images_ + "/p2.png", testing::TextureScene(2).bgr);
  EXPECT_NE(ErrorOf([&] { LoadMaskFolder(images_, masks_); }).find("p2.png has no mask"),
            std::string::npos);
  cv::imwrite(masks_ + "/p2.png", cv::Mat::zeros(10, 10, CV_8UC1));
  EXPECT_NE(ErrorOf([&] { LoadMaskFolder(images_, masks_); }).find("p2.png is 10x10"),
            std::string::npos);
  cv::imwrite(masks_ + "/p2.png", testing::TextureScene(2).mask / 2);
  EXPECT_NE(ErrorOf([&] { LoadMaskFolder(images_, masks_); }).find("p2.png is not binary"),
            std::string::npos);
  // Asked for explicitly, other values are thresholded at 128 instead.
  cv::Mat grey = testing::TextureScene(2).mask / 255 * 200;  // 0/200
  cv::imwrite(masks_ + "/p2.png", grey);
  const auto set = LoadMaskFolder(images_, masks_, /*binarise=*/true);
  ASSERT_EQ(set.size(), 3u);
  EXPECT_EQ(cv::countNonZero(set[2].mask != testing::TextureScene(2).mask), 0);
  skintrack::testing::TempDir empty("learned_ds_empty");
  EXPECT_NE(ErrorOf([&] { LoadMaskFolder(empty.str(), masks_); }).find("no image in"),
            std::string::npos);
  EXPECT_NE(
      ErrorOf([&] { LoadMaskFolder(images_, dir_.str() + "/none"); }).find("no such directory"),
      std::string::npos);
}

TEST(AnnotatorFolder, ConsensusIsHalfTheAnnotatorsAndTheHumanBarScoresEachAgainstTheOthers) {
  skintrack::testing::TempDir dir("learned_ann");
  fs::create_directories(dir.str() + "/images");
  fs::create_directories(dir.str() + "/ann/photo");
  cv::imwrite(dir.str() + "/images/photo.jpg", cv::Mat(40, 40, CV_8UC3, cv::Scalar(150, 170, 215)));
  auto rect = [](int x0, int x1) {
    cv::Mat m = cv::Mat::zeros(40, 40, CV_8UC1);
    m.colRange(x0, x1).setTo(255);
    return m;
  };
  const std::string a = dir.str() + "/ann/photo/";
  cv::imwrite(a + "labeller1_Plaque.png", rect(0, 20));
  cv::imwrite(a + "labeller1_Scale.png", rect(20, 30));  // same annotator, another class
  cv::imwrite(a + "labeller2_Plaque.png", rect(10, 30));
  cv::imwrite(a + "labeller3_Patch.png", rect(0, 40));  // not a psoriasis class: empty
  const auto set =
      LoadAnnotatorFolder(dir.str() + "/images", dir.str() + "/ann", LearnedTarget::kPsoriasis);
  ASSERT_EQ(set.size(), 1u);
  const AnnotatedPhoto& p = set[0];
  ASSERT_EQ(p.annotators.size(), 3u);
  // Votes: columns 0-9: 1, 10-29: 2, 30-39: 0; consensus needs 2 of 3 -> columns 10-29.
  EXPECT_EQ(cv::countNonZero(p.image.mask != rect(10, 30)), 0);
  // labeller1 (0-29) vs consensus of {2, 3} (at least 1 of 2: 10-29): 2*20/(30+20) = 0.8;
  // labeller2 (10-29) vs {1, 3} (0-29): 2*20/(20+30) = 0.8; labeller3 (empty) vs {1, 2}
  // (0-29): 0.
  ASSERT_TRUE(HumanAgreement(p).has_value());
  EXPECT_NEAR(*HumanAgreement(p), (0.8 + 0.8 + 0.0) / 3, 1e-9);
  EXPECT_THROW(LoadAnnotatorFolder(dir.str() + "/images", dir.str() + "/ann", LearnedTarget::kSkin),
               Error);
}

}  // namespace
}  // namespace skintrack::scoring
