#include "skintrack/pipeline/registration_json.h"

#include <nlohmann/json.hpp>

#include "skintrack/core/error.h"

namespace skintrack::registration {

using nlohmann::json;

namespace {

json MatrixJson(const cv::Matx23d& m) {
  return {{m(0, 0), m(0, 1), m(0, 2)}, {m(1, 0), m(1, 1), m(1, 2)}};
}

cv::Size SizeFrom(const json& j) { return cv::Size(j.at(0).get<int>(), j.at(1).get<int>()); }

}  // namespace

void to_json(json& j, const RegistrationResult& r) {
  j = {{"matrix", MatrixJson(r.matrix)},
       {"model", TransformModelName(r.model)},
       {"converged", r.converged},
       {"stop_reason", r.stop_reason},
       {"metric", r.metric},
       {"iterations", r.iterations},
       {"seconds", r.seconds},
       {"quality", r.quality},
       {"quality_features", r.quality_features},
       {"overlap_fraction", r.overlap_fraction},
       {"feature_matches", r.feature_matches},
       {"feature_inliers", r.feature_inliers},
       {"feature_residual_px", r.feature_residual_px},
       {"refined", r.refined},
       {"refinement_note", r.refinement_note},
       {"polished", r.polished},
       {"polish_note", r.polish_note},
       {"fixed_size", {r.fixed_size.width, r.fixed_size.height}},
       {"moving_size", {r.moving_size.width, r.moving_size.height}}};
}

void from_json(const json& j, RegistrationResult& r) {
  const json& m = j.at("matrix");
  if (!m.is_array() || m.size() != 2 || !m[0].is_array() || m[0].size() != 3 || !m[1].is_array() ||
      m[1].size() != 3) {
    throw Error(ErrorCode::kInvalidArgument, "a registration matrix must be 2x3 numbers");
  }
  for (int i = 0; i < 2; ++i) {
    for (int k = 0; k < 3; ++k) {
      if (!m[i][k].is_number()) {
        throw Error(ErrorCode::kInvalidArgument, "a registration matrix must be 2x3 numbers");
      }
      r.matrix(i, k) = m[i][k].get<double>();
    }
  }
  if (j.contains("model")) r.model = ParseTransformModel(j["model"].get<std::string>());
  r.converged = j.value("converged", r.converged);
  r.stop_reason = j.value("stop_reason", r.stop_reason);
  r.metric = j.value("metric", r.metric);
  r.iterations = j.value("iterations", r.iterations);
  r.seconds = j.value("seconds", r.seconds);
  r.quality = j.value("quality", r.quality);
  r.quality_features = j.value("quality_features", r.quality_features);
  r.overlap_fraction = j.value("overlap_fraction", r.overlap_fraction);
  r.feature_matches = j.value("feature_matches", r.feature_matches);
  r.feature_inliers = j.value("feature_inliers", r.feature_inliers);
  r.feature_residual_px = j.value("feature_residual_px", r.feature_residual_px);
  r.refined = j.value("refined", r.refined);
  r.refinement_note = j.value("refinement_note", r.refinement_note);
  r.polished = j.value("polished", r.polished);
  r.polish_note = j.value("polish_note", r.polish_note);
  if (j.contains("fixed_size")) r.fixed_size = SizeFrom(j["fixed_size"]);
  if (j.contains("moving_size")) r.moving_size = SizeFrom(j["moving_size"]);
}

}  // namespace skintrack::registration

namespace skintrack::pipeline {

using nlohmann::json;

void to_json(json& j, const BaselineRegistration& s) {
  if (s.is_baseline) {
    j = {{"matrix", {{1, 0, 0}, {0, 1, 0}}},
         {"converged", true},
         {"stop_reason", s.result.stop_reason}};
  } else {
    j = s.result;
  }
  j["baseline_capture_id"] = s.baseline_capture_id;
  j["is_baseline"] = s.is_baseline;
}

void from_json(const json& j, BaselineRegistration& s) {
  s = BaselineRegistration{};
  s.baseline_capture_id = j.at("baseline_capture_id").get<std::int64_t>();
  s.is_baseline = j.value("is_baseline", false);
  j.get_to(s.result);
}

}  // namespace skintrack::pipeline
