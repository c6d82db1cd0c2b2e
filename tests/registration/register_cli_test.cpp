// Contract tests of `skintrack register`: JSON fields and convention, warped output, exit codes.
#include <gtest/gtest.h>

#include <nlohmann/json.hpp>
#include <opencv2/imgcodecs.hpp>

#include "../support/run_cli.h"
#include "synthetic.h"

namespace skintrack::testing {
namespace {

const cv::Size kSize(320, 240);

TEST(RegisterCli, PrintsMatrixMovingToFixedAndWritesWarped) {
  TempDir dir("register-cli");
  const auto blobs = RandomBlobs(21, 260, kSize);
  const cv::Matx23d truth(1, 0, 7.5, 0, 1, -3.25);
  const std::string fixed = dir.str() + "/fixed.png", moving = dir.str() + "/moving.png",
                    warped = dir.str() + "/warped.png";
  ASSERT_TRUE(cv::imwrite(fixed, RenderScene(blobs, kSize, cv::Matx23d(1, 0, 0, 0, 1, 0))));
  ASSERT_TRUE(cv::imwrite(moving, RenderScene(blobs, kSize, truth)));
  const CliResult r = RunCli("register --fixed " + fixed + " --moving " + moving +
                             " --model rigid --warped " + warped + " --json");
  ASSERT_EQ(r.exit_code, 0) << r.err << r.out;
  const auto j = nlohmann::json::parse(r.out);
  EXPECT_EQ(j.at("model"), "rigid");
  EXPECT_TRUE(j.at("converged").get<bool>());
  EXPECT_NEAR(j.at("matrix")[0][2].get<double>(), 7.5, 0.05);
  EXPECT_NEAR(j.at("matrix")[1][2].get<double>(), -3.25, 0.05);
  EXPECT_NEAR(j.at("matrix")[0][0].get<double>(), 1.0, 1e-3);
  // A pure shift of a sharp scene: the polish takes it to the hundredth.
  EXPECT_NEAR(j.at("matrix")[0][2].get<double>(), 7.5, 0.01) << j.at("polish_note");
  EXPECT_NEAR(j.at("matrix")[1][2].get<double>(), -3.25, 0.01) << j.at("polish_note");
  for (const char* key : {"metric", "iterations", "seconds", "quality", "overlap_fraction",
                          "feature_residual_px", "stop_reason", "polished", "polish_note"}) {
    EXPECT_TRUE(j.contains(key)) << key;
  }
  const cv::Mat out = cv::imread(warped);
  ASSERT_FALSE(out.empty());
  EXPECT_EQ(out.size(), kSize);
}

TEST(RegisterCli, UnreadableInputExitsNonZeroWithMessage) {
  TempDir dir("register-cli");
  const std::string junk = dir.str() + "/junk.png";
  {
    std::ofstream f(junk);
    f << "not an image";
  }
  CliResult r = RunCli("register --fixed " + junk + " --moving " + junk + " --json");
  EXPECT_NE(r.exit_code, 0);
  EXPECT_NE(r.err.find("decod"), std::string::npos) << r.err;
  r = RunCli("register --fixed " + dir.str() + "/missing.png --moving " + junk);
  EXPECT_NE(r.exit_code, 0);
  EXPECT_NE(r.err.find("missing.png"), std::string::npos) << r.err;
  r = RunCli("register --fixed " + junk + " --moving " + junk + " --model shear");
  EXPECT_EQ(r.exit_code, 2);
  EXPECT_NE(r.err.find("shear"), std::string::npos) << r.err;
}

TEST(RegisterCli, UnrelatedImagesExitThreeWithReason) {
  TempDir dir("register-cli");
  const std::string a = dir.str() + "/a.png", b = dir.str() + "/b.png";
  ASSERT_TRUE(cv::imwrite(a, RenderScene(RandomBlobs(1, 260, kSize), kSize, {1, 0, 0, 0, 1, 0})));
  ASSERT_TRUE(cv::imwrite(b, RenderScene(RandomBlobs(2, 260, kSize), kSize, {1, 0, 0, 0, 1, 0})));
  const CliResult r = RunCli("register --fixed " + a + " --moving " + b + " --json");
  EXPECT_EQ(r.exit_code, 3) << r.err;
  const auto j = nlohmann::json::parse(r.out);
  EXPECT_FALSE(j.at("converged").get<bool>());
  EXPECT_FALSE(j.at("stop_reason").get<std::string>().empty());
}

}  // namespace
}  // namespace skintrack::testing
