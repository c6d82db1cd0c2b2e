// The `segment`, `score` and `eval` subcommands as a user runs them: exit codes, masks, JSON.
#include <gtest/gtest.h>

#include <fstream>
#include <nlohmann/json.hpp>
#include <opencv2/imgcodecs.hpp>
#include <opencv2/imgproc.hpp>

#include "../support/run_cli.h"

namespace skintrack {
namespace {

using skintrack::testing::RunCli;
using skintrack::testing::TempDir;

// Skin-coloured ellipse on a blue-grey background with two red plaques.
std::string WritePhoto(const TempDir& dir, const std::string& name, cv::Mat* truth = nullptr) {
  cv::Mat img(300, 400, CV_8UC3, cv::Scalar(110, 90, 70));
  cv::ellipse(img, {200, 150}, {170, 120}, 0, 0, 360, cv::Scalar(140, 160, 205), cv::FILLED);
  cv::Mat lesion = cv::Mat::zeros(img.size(), CV_8UC1);
  cv::circle(lesion, {150, 130}, 30, cv::Scalar(255), cv::FILLED);
  cv::circle(lesion, {260, 170}, 25, cv::Scalar(255), cv::FILLED);
  img.setTo(cv::Scalar(120, 120, 215), lesion);
  if (truth) *truth = lesion;
  const std::string path = dir.str() + "/" + name;
  cv::imwrite(path, img);
  return path;
}

TEST(SegmentCli, WritesFullSizeMasksAndJson) {
  TempDir dir("seg");
  cv::Mat truth;
  const std::string photo = WritePhoto(dir, "photo.png", &truth);
  const std::string mask = dir.str() + "/mask.png", skin = dir.str() + "/skin.png";
  auto r = RunCli("segment --condition psoriasis " + photo + " --out " + mask + " --skin-out " +
                  skin + " --overlay " + dir.str() + "/ov.png --json");
  ASSERT_EQ(r.exit_code, 0) << r.err;
  const cv::Mat m = cv::imread(mask, cv::IMREAD_UNCHANGED);
  ASSERT_EQ(m.type(), CV_8UC1);
  ASSERT_EQ(m.size(), cv::Size(400, 300));
  EXPECT_EQ(cv::countNonZero((m != 0) & (m != 255)), 0);
  const double inter = cv::countNonZero(m & truth);
  EXPECT_GT(2 * inter / (cv::countNonZero(m) + cv::countNonZero(truth)), 0.9);
  const auto j = nlohmann::json::parse(r.out);
  EXPECT_EQ(j["condition"], "psoriasis");
  EXPECT_GT(j["lesion_fraction"].get<double>(), 0.05);
  EXPECT_EQ(j["erythema"]["provenance"], "measured");
  EXPECT_EQ(j["induration"]["provenance"], "imputed");
  EXPECT_TRUE(j.contains("ita_degrees"));
  EXPECT_TRUE(j.contains("algorithm_version"));
  EXPECT_EQ(cv::imread(skin, cv::IMREAD_UNCHANGED).size(), cv::Size(400, 300));
}

TEST(SegmentCli, BadInputGivesClearErrors) {
  TempDir dir("segbad");
  const std::string photo = WritePhoto(dir, "photo.png");
  auto r = RunCli("segment --condition eczema " + photo + " --out " + dir.str() + "/m.png");
  EXPECT_EQ(r.exit_code, 2);
  EXPECT_NE(r.err.find("unknown condition"), std::string::npos) << r.err;
  { std::ofstream(dir.str() + "/junk.png") << "not an image"; }
  r = RunCli("segment --condition vitiligo " + dir.str() + "/junk.png --out " + dir.str() +
             "/m.png");
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_NE(r.err.find("cannot decode"), std::string::npos) << r.err;
  r = RunCli("segment --condition vitiligo " + dir.str() + "/missing.png --out " + dir.str() +
             "/m.png");
  EXPECT_EQ(r.exit_code, 1);
  cv::imwrite(dir.str() + "/small.png", cv::Mat::zeros(10, 10, CV_8UC1));
  r = RunCli("segment --condition psoriasis " + photo + " --mask " + dir.str() +
             "/small.png --out " + dir.str() + "/m.png");
  EXPECT_EQ(r.exit_code, 2);
  EXPECT_NE(r.err.find("10x10"), std::string::npos) << r.err;
  EXPECT_FALSE(std::filesystem::exists(dir.str() + "/m.png"));  // nothing written on error
}

TEST(ScoreCli, WorkedPasiExampleFromEnteredValues) {
  TempDir dir("score");
  const std::string manifest = dir.str() + "/visit.json";
  std::ofstream(manifest) << R"({"condition": "psoriasis", "baseline": {"pasi": 25.2},
    "captures": [
      {"site": "face", "lesion_fraction": 0.15, "erythema": 2, "induration": 1, "desquamation": 2},
      {"site": "left-forearm", "lesion_fraction": 0.05, "erythema": 2, "induration": 1, "desquamation": 2},
      {"site": "trunk-anterior", "lesion_fraction": 0.20, "erythema": 3, "induration": 2, "desquamation": 2},
      {"site": "left-thigh", "lesion_fraction": 0.25, "erythema": 3, "induration": 2, "desquamation": 3}]})";
  auto r = RunCli("score --manifest " + manifest + " --json");
  ASSERT_EQ(r.exit_code, 0) << r.err;
  const auto j = nlohmann::json::parse(r.out);
  EXPECT_NEAR(j["visit"]["pasi"]["pasi"].get<double>(), 12.6, 1e-9);
  EXPECT_TRUE(j["visit"]["pasi"]["complete"].get<bool>());
  EXPECT_TRUE(j["response"]["pasi50"].get<bool>());
  EXPECT_FALSE(j["response"]["pasi75"].get<bool>());
  for (const auto& region : j["visit"]["pasi"]["regions"]) {
    EXPECT_EQ(region["erythema"]["provenance"], "clinician");
    EXPECT_EQ(region["area_provenance"], "clinician");
  }
}

// A grade is range-checked as the JSON integer: 4294967298 must not wrap to 2 and score.
TEST(ScoreCli, HugeGradesAreRefusedNotTruncated) {
  TempDir dir("score-huge");
  const std::string manifest = dir.str() + "/visit.json";
  std::ofstream(manifest) << R"({"condition": "psoriasis", "captures": [
      {"site": "face", "lesion_fraction": 0.15, "erythema": 4294967298, "induration": 1,
       "desquamation": 2}]})";
  auto r = RunCli("score --manifest " + manifest + " --json");
  EXPECT_EQ(r.exit_code, 2) << r.out;
  EXPECT_NE(r.err.find("'erythema' must be an integer 0..4"), std::string::npos) << r.err;
}

TEST(ScoreCli, ImageScoreIsIncompleteAndMarksImputedInduration) {
  TempDir dir("score2");
  const std::string photo = WritePhoto(dir, "photo.png");
  auto r = RunCli("score --condition psoriasis --site left-forearm " + photo + " --json");
  ASSERT_EQ(r.exit_code, 0) << r.err;
  const auto j = nlohmann::json::parse(r.out);
  EXPECT_FALSE(j["visit"]["pasi"]["complete"].get<bool>());
  EXPECT_EQ(j["visit"]["pasi"]["missing_regions"].size(), 3u);
  EXPECT_TRUE(j["visit"]["pasi"]["any_imputed"].get<bool>());
  EXPECT_EQ(j["visit"]["pasi"]["regions"][0]["induration"]["provenance"], "imputed");
  r = RunCli("score --condition psoriasis --site left-wing " + photo);
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_NE(r.err.find("left-wing"), std::string::npos);
}

TEST(ScoreCli, VasiFromAMaskWithClinicianLevel) {
  TempDir dir("vasi");
  cv::Mat mask = cv::Mat::zeros(200, 200, CV_8UC1);
  mask(cv::Rect(0, 0, 100, 200)).setTo(255);  // half of the imaged face
  cv::imwrite(dir.str() + "/face.png", mask);
  auto r = RunCli("score --condition vitiligo --site face --mask " + dir.str() +
                  "/face.png --level 75 --baseline-f-vasi 3 --json");
  ASSERT_EQ(r.exit_code, 0) << r.err;
  const auto j = nlohmann::json::parse(r.out);
  // face 3 % BSA x envelope 0.5 x 75 % = 1.125
  EXPECT_NEAR(j["vasi"]["f_vasi"].get<double>(), 1.125, 1e-6);
  EXPECT_EQ(j["vasi"]["sites"][0]["level_provenance"], "clinician");
  EXPECT_NEAR(j["f_vasi_response"]["change_percent"].get<double>(), 62.5, 1e-6);
  EXPECT_TRUE(j["f_vasi_response"]["vasi50"].get<bool>());
}

TEST(ScoreCli, RepigmentationAgainstABaselineMask) {
  TempDir dir("repig");
  cv::Mat base = cv::Mat::zeros(100, 100, CV_8UC1), now = cv::Mat::zeros(100, 100, CV_8UC1);
  base(cv::Rect(0, 0, 50, 100)).setTo(255);  // 5000 px
  now(cv::Rect(0, 0, 20, 100)).setTo(255);   // 2000 px: 60 % repigmented
  cv::imwrite(dir.str() + "/base.png", base);
  cv::imwrite(dir.str() + "/now.png", now);
  auto r = RunCli("score --condition vitiligo --site left-hand --mask " + dir.str() +
                  "/now.png --baseline-mask " + dir.str() + "/base.png --json");
  ASSERT_EQ(r.exit_code, 0) << r.err;
  const auto j = nlohmann::json::parse(r.out);
  const auto& change = j["sites"][0]["change"];
  EXPECT_EQ(change["cleared_pixels"], 3000);
  EXPECT_EQ(change["new_pixels"], 0);
  EXPECT_NEAR(change["repigmentation"]["percent"].get<double>(), 60.0, 1e-9);
  EXPECT_EQ(change["repigmentation"]["grade"], "G3");
  cv::imwrite(dir.str() + "/small.png", cv::Mat::zeros(10, 10, CV_8UC1));
  r = RunCli("score --condition vitiligo --site left-hand --mask " + dir.str() +
             "/now.png --baseline-mask " + dir.str() + "/small.png");
  EXPECT_EQ(r.exit_code, 2);
}

TEST(EvalCli, PrintsRowsAndSummaries) {
  TempDir images("evimg");
  TempDir masks("evmask");
  cv::Mat truth;
  WritePhoto(images, "a.png", &truth);
  cv::imwrite(masks.str() + "/a.png", truth);
  WritePhoto(images, "b.png");  // no mask: skipped, said so
  auto r = RunCli("eval --images " + images.str() + " --masks " + masks.str() +
                  " --condition psoriasis --json");
  ASSERT_EQ(r.exit_code, 0) << r.err;
  const auto j = nlohmann::json::parse(r.out);
  ASSERT_EQ(j["images"].size(), 1u);
  EXPECT_GT(j["images"][0]["dice"].get<double>(), 0.9);
  EXPECT_EQ(j["summary"][0]["group"], "all");
  EXPECT_EQ(j["skipped"].size(), 1u);
  r = RunCli("eval --images /nonexistent --masks " + masks.str() + " --condition psoriasis");
  EXPECT_EQ(r.exit_code, 1);
}

}  // namespace
}  // namespace skintrack
