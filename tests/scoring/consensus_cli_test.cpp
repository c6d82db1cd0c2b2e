// `skintrack consensus` as a user runs it: the consensus PNG, the JSON figures, errors that name
// the problem and write nothing.
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>
#include <opencv2/imgcodecs.hpp>

#include "../support/run_cli.h"

namespace skintrack {
namespace {

using skintrack::testing::RunCli;
using skintrack::testing::TempDir;

std::string WriteMask(const TempDir& dir, const std::string& name, cv::Rect marked,
                      cv::Size size = {12, 4}) {
  cv::Mat m = cv::Mat::zeros(size, CV_8U);
  m(marked).setTo(255);
  const std::string path = dir.str() + "/" + name;
  cv::imwrite(path, m);
  return path;
}

TEST(ConsensusCli, WritesTheMajorityMaskAndTheAgreementFigures) {
  TempDir dir("consensus");
  const std::string a = WriteMask(dir, "a.png", {0, 0, 6, 4});
  const std::string b = WriteMask(dir, "b.png", {3, 0, 6, 4});
  const std::string c = WriteMask(dir, "c.png", {5, 0, 7, 4});
  const std::string out = dir.str() + "/out.png";
  auto r = RunCli("consensus " + a + " " + b + " " + c + " --out " + out + " --json");
  ASSERT_EQ(r.exit_code, 0) << r.err;
  const cv::Mat m = cv::imread(out, cv::IMREAD_UNCHANGED);
  ASSERT_EQ(m.size(), cv::Size(12, 4));
  cv::Mat expected = cv::Mat::zeros(4, 12, CV_8U);
  expected(cv::Rect(3, 0, 6, 4)).setTo(255);
  EXPECT_EQ(cv::countNonZero(m != expected), 0);
  const auto j = nlohmann::json::parse(r.out);
  EXPECT_EQ(j["annotators"], 3);
  EXPECT_EQ(j["method"], "majority");
  EXPECT_NEAR(j["consensus_fraction"].get<double>(), 0.5, 1e-12);
  EXPECT_NEAR(j["pairwise_dice_mean"].get<double>(), (0.5 + 2.0 / 13 + 8.0 / 13) / 3, 1e-9);
  ASSERT_EQ(j["per_annotator"].size(), 3U);
  EXPECT_EQ(j["per_annotator"][0]["mask"], a);
  EXPECT_NEAR(j["per_annotator"][0]["dice_vs_others"].get<double>(), 0.4, 1e-9);
  for (const char* key : {"dice_vs_consensus", "sensitivity", "specificity"}) {
    EXPECT_TRUE(j["per_annotator"][1].contains(key)) << key;
  }
  r = RunCli("consensus --method staple " + a + " " + b + " " + c + " --out " + out);
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_NE(r.out.find("staple consensus"), std::string::npos) << r.out;
}

TEST(ConsensusCli, BadInputNamesTheProblemAndWritesNothing) {
  TempDir dir("consensus-bad");
  const std::string a = WriteMask(dir, "a.png", {0, 0, 6, 4});
  const std::string small = WriteMask(dir, "small.png", {0, 0, 2, 2}, {10, 4});
  const std::string out = dir.str() + "/out.png";
  auto r = RunCli("consensus " + a + " " + small + " --out " + out);
  EXPECT_EQ(r.exit_code, 2);
  EXPECT_NE(r.err.find("10x4"), std::string::npos) << r.err;
  r = RunCli("consensus " + a + " --out " + out);
  EXPECT_EQ(r.exit_code, 2);
  EXPECT_NE(r.err.find("at least 2"), std::string::npos) << r.err;
  r = RunCli("consensus --method vote " + a + " " + a + " --out " + out);
  EXPECT_EQ(r.exit_code, 2);
  EXPECT_NE(r.err.find("majority or staple"), std::string::npos) << r.err;
  r = RunCli("consensus " + a + " " + dir.str() + "/missing.png --out " + out);
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_NE(r.err.find("missing.png"), std::string::npos) << r.err;
  EXPECT_FALSE(std::filesystem::exists(out));
}

}  // namespace
}  // namespace skintrack
