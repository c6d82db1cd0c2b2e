#include "skintrack/pipeline/registration_json.h"

#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

#include "skintrack/core/error.h"

namespace skintrack::pipeline {
namespace {

using nlohmann::json;

TEST(RegistrationJson, RoundTripsTheStoredRegistration) {
  BaselineRegistration s;
  s.baseline_capture_id = 7;
  s.result.matrix = cv::Matx23d(0.99, -0.1, 12.25, 0.1, 0.99, -3.125);
  s.result.model = registration::TransformModel::kAffine;
  s.result.converged = true;
  s.result.stop_reason = "converged";
  s.result.quality = 0.4321;
  s.result.feature_inliers = 80;
  s.result.fixed_size = cv::Size(640, 480);
  s.result.moving_size = cv::Size(600, 400);
  const json j = s;
  EXPECT_EQ(j["baseline_capture_id"], 7);
  EXPECT_FALSE(j["is_baseline"].get<bool>());
  EXPECT_EQ(j["model"], "affine");
  const BaselineRegistration back = j.get<BaselineRegistration>();
  EXPECT_EQ(back.baseline_capture_id, 7);
  EXPECT_EQ(back.result.model, registration::TransformModel::kAffine);
  EXPECT_EQ(cv::norm(back.result.matrix - s.result.matrix), 0.0);  // doubles round-trip exactly
  EXPECT_EQ(back.result.quality, s.result.quality);
  EXPECT_EQ(back.result.feature_inliers, 80);
  EXPECT_EQ(back.result.moving_size, cv::Size(600, 400));
}

TEST(RegistrationJson, ABaselineStoresOnlyItsIdentity) {
  BaselineRegistration s;
  s.baseline_capture_id = 3;
  s.is_baseline = true;
  s.result.converged = true;
  s.result.stop_reason = "this capture is the baseline";
  const json j = s;
  EXPECT_EQ(j, json::parse(R"({"baseline_capture_id": 3, "is_baseline": true,
      "matrix": [[1, 0, 0], [0, 1, 0]], "converged": true,
      "stop_reason": "this capture is the baseline"})"));
  const BaselineRegistration back = j.get<BaselineRegistration>();
  EXPECT_TRUE(back.is_baseline);
  EXPECT_TRUE(back.result.converged);
  EXPECT_EQ(back.result.matrix(0, 0), 1.0);
}

TEST(RegistrationJson, AMalformedMatrixIsAnError) {
  EXPECT_THROW(json::parse(R"({"baseline_capture_id": 1, "matrix": [[1, 0], [0, 1]]})")
                   .get<BaselineRegistration>(),
               Error);
  EXPECT_THROW(json::parse(R"({"baseline_capture_id": 1, "matrix": [[1, 0, "x"], [0, 1, 0]]})")
                   .get<BaselineRegistration>(),
               Error);
}

}  // namespace
}  // namespace skintrack::pipeline
