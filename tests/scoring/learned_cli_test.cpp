// `skintrack train`, `segment --model / --reference` and `eval --folds / --model` as a user runs
// them, on small synthetic texture scenes: exit codes, files written (or not), JSON.
#include <gtest/gtest.h>

#include <algorithm>
#include <filesystem>
#include <nlohmann/json.hpp>
#include <opencv2/imgcodecs.hpp>

#include "../support/run_cli.h"
#include "learned_test_scenes.h"

namespace skintrack {
namespace {

namespace fs = std::filesystem;
using skintrack::testing::RunCli;
using skintrack::testing::TempDir;

// images/ and masks/ with `count` texture scenes.
void WriteSet(const TempDir& dir, int count) {
  fs::create_directories(dir.str() + "/images");
  fs::create_directories(dir.str() + "/masks");
  for (int i = 0; i < count; ++i) {
    const auto s = scoring::testing::TextureScene(i);
    cv::imwrite(dir.str() + "/images/s" + std::to_string(i) + ".png", s.bgr);
    cv::imwrite(dir.str() + "/masks/s" + std::to_string(i) + ".png", s.mask);
  }
}

const char* kFast = " --trees 6 --work-size 192";

TEST(TrainCli, TrainsSavesAndTheModelSegments) {
  TempDir dir("train_cli");
  WriteSet(dir, 5);
  const std::string model = dir.str() + "/m.sktseg";
  auto r = RunCli("train --condition psoriasis --images " + dir.str() + "/images --masks " +
                  dir.str() + "/masks --out " + model + kFast + " --validation-share 0.2 --json");
  ASSERT_EQ(r.exit_code, 0) << r.err;
  const auto j = nlohmann::json::parse(r.out);
  EXPECT_EQ(j["training_images"], 4);
  EXPECT_EQ(j["validation_images"], 1);
  ASSERT_EQ(j["validation"].size(), 1u);
  EXPECT_GT(j["validation"][0]["dice"].get<double>(), 0.7);
  EXPECT_TRUE(j["validation_summary"]["groups"][0]["group"] == "all");
  ASSERT_TRUE(fs::exists(model));

  const auto photo = scoring::testing::TextureScene(50);
  cv::imwrite(dir.str() + "/new.png", photo.bgr);
  r = RunCli("segment --condition psoriasis " + dir.str() + "/new.png --out " + dir.str() +
             "/mask.png --model " + model + " --json");
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_NE(nlohmann::json::parse(r.out)["segmenter"].get<std::string>().find("learned-forest"),
            std::string::npos);
  const cv::Mat mask = cv::imread(dir.str() + "/mask.png", cv::IMREAD_GRAYSCALE);
  EXPECT_GT(scoring::testing::DiceOf(mask, photo.mask), 0.75);

  r = RunCli("segment --condition vitiligo " + dir.str() + "/new.png --out " + dir.str() +
             "/v.png --model " + model);
  EXPECT_NE(r.exit_code, 0);
  EXPECT_NE(r.err.find(model), std::string::npos) << r.err;
  EXPECT_NE(r.err.find("a psoriasis model, but a vitiligo model is needed"), std::string::npos);
  EXPECT_FALSE(fs::exists(dir.str() + "/v.png"));

  r = RunCli("eval --condition psoriasis --images " + dir.str() + "/images --masks " + dir.str() +
             "/masks --model " + model + " --json");
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_EQ(nlohmann::json::parse(r.out)["protocol"], "apply");
}

TEST(TrainCli, BadInputWritesNothing) {
  TempDir dir("train_bad");
  WriteSet(dir, 3);
  const std::string model = dir.str() + "/m.sktseg";
  const std::string base = "train --condition psoriasis --images " + dir.str() +
                           "/images --masks " + dir.str() + "/masks --out " + model + kFast;
  cv::imwrite(dir.str() + "/masks/s1.png", scoring::testing::TextureScene(1).mask / 2);
  auto r = RunCli(base);
  EXPECT_NE(r.exit_code, 0);
  EXPECT_NE(r.err.find("s1.png is not binary"), std::string::npos) << r.err;
  cv::imwrite(dir.str() + "/masks/s1.png", cv::Mat::zeros(8, 8, CV_8UC1));
  r = RunCli(base);
  EXPECT_NE(r.err.find("s1.png is 8x8"), std::string::npos) << r.err;
  fs::remove(dir.str() + "/masks/s1.png");
  r = RunCli(base);
  EXPECT_NE(r.err.find("s1.png has no mask"), std::string::npos) << r.err;
  fs::remove_all(dir.str() + "/images");
  fs::create_directories(dir.str() + "/images");
  r = RunCli(base);
  EXPECT_NE(r.err.find("no image in"), std::string::npos) << r.err;
  r = RunCli("train --condition eczema --images x --masks y --out " + model);
  EXPECT_NE(r.err.find("unknown condition"), std::string::npos) << r.err;
  EXPECT_FALSE(fs::exists(model));
  EXPECT_FALSE(fs::exists(model + ".tmp"));
}

TEST(SegmentCli, ReferenceTeachesThePatientsLesions) {
  TempDir dir("seg_ref");
  const auto ref = scoring::testing::TextureScene(60), follow = scoring::testing::TextureScene(61);
  cv::imwrite(dir.str() + "/ref.png", ref.bgr);
  cv::imwrite(dir.str() + "/ref_mask.png", ref.mask);
  cv::imwrite(dir.str() + "/follow.png", follow.bgr);
  auto r = RunCli("segment --condition psoriasis " + dir.str() + "/follow.png --out " + dir.str() +
                  "/m.png --reference " + dir.str() + "/ref.png --reference-mask " + dir.str() +
                  "/ref_mask.png --json");
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_GT(
      scoring::testing::DiceOf(cv::imread(dir.str() + "/m.png", cv::IMREAD_GRAYSCALE), follow.mask),
      0.75);
  r = RunCli("segment --condition psoriasis " + dir.str() + "/follow.png --out " + dir.str() +
             "/m2.png --reference " + dir.str() + "/ref.png");
  EXPECT_NE(r.err.find("--reference and --reference-mask go together"), std::string::npos);
}

TEST(EvalCli, CrossValidationScoresEveryPhoto) {
  TempDir dir("eval_cv");
  WriteSet(dir, 4);
  auto r = RunCli("eval --condition psoriasis --images " + dir.str() + "/images --masks " +
                  dir.str() + "/masks --folds 2 --trees 4 --model-work-size 192 --json");
  ASSERT_EQ(r.exit_code, 0) << r.err;
  const auto j = nlohmann::json::parse(r.out);
  EXPECT_EQ(j["protocol"], "cross-validation");
  EXPECT_EQ(j["images"].size(), 4u);
  EXPECT_GT(j["summary"]["groups"][0]["dice_mean"].get<double>(), 0.7);
  r = RunCli("eval --condition psoriasis --images " + dir.str() + "/images --masks " + dir.str() +
             "/masks --reference-mode thirds");
  EXPECT_NE(r.err.find("must be 'halves'"), std::string::npos) << r.err;
}

// --seeds N: the cross-validation once per seed, each seed's summary and their mean / min / max.
TEST(EvalCli, SeedsRepeatTheCrossValidationAndAverage) {
  TempDir dir("eval_seeds");
  WriteSet(dir, 4);
  const std::string base = "eval --condition psoriasis --images " + dir.str() + "/images --masks " +
                           dir.str() + "/masks --trees 4 --model-work-size 192 --seed 5 --seeds 3";
  auto r = RunCli(base + " --folds 2 --json");
  ASSERT_EQ(r.exit_code, 0) << r.err;
  const auto j = nlohmann::json::parse(r.out);
  ASSERT_EQ(j["runs"].size(), 3u);
  double sum = 0, lo = 1, hi = 0;
  for (size_t k = 0; k < 3; ++k) {
    EXPECT_EQ(j["runs"][k]["seed"], 5 + k);
    const double d = j["runs"][k]["summary"]["groups"][0]["dice_mean"].get<double>();
    sum += d;
    lo = std::min(lo, d);
    hi = std::max(hi, d);
  }
  EXPECT_NEAR(j["over_seeds"]["dice_mean"].get<double>(), sum / 3, 1e-9);
  EXPECT_EQ(j["over_seeds"]["dice_min"].get<double>(), lo);
  EXPECT_EQ(j["over_seeds"]["dice_max"].get<double>(), hi);
  EXPECT_EQ(j["over_seeds"]["seeds"], 3);
  r = RunCli(base + " --folds 2");
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_NE(r.out.find("seed 7: dice mean"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("over 3 seeds: dice mean"), std::string::npos) << r.out;
  r = RunCli(base);  // a model applied, or the classical segmenter: no seed to vary
  EXPECT_NE(r.exit_code, 0);
  EXPECT_NE(r.err.find("--seeds repeats the training under other seeds: it needs --folds"),
            std::string::npos)
      << r.err;
}

}  // namespace
}  // namespace skintrack
