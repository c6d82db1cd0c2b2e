// Clinician input (clinician, admin), kept beside the automated results, never over them: the
// choice of a site's baseline, severity grades, and a corrected lesion mask. Each stores a new
// version and re-scores the capture.
#include <opencv2/core.hpp>
#include <set>

#include "api_support.h"
#include "routes.h"
#include "skintrack/core/error.h"
#include "skintrack/pipeline/pipeline.h"
#include "skintrack/pipeline/results.h"
#include "skintrack/pipeline/workers.h"

namespace skintrack::service {
namespace {

using nlohmann::json;
using storage::Role;

// The grades of an assessment body, validated; Error(kInvalidArgument) for anything else.
json ValidateGrades(const json& body) {
  json grades = json::object();
  const std::set<std::string> severity = {"erythema", "induration", "desquamation"};
  for (const auto& [key, value] : body.items()) {
    if (key == "note") continue;
    if (severity.count(key)) {
      grades[key] = IntegerValue(value, key + " (a grade)", 0, 4);
    } else if (key == "depigmentation_level") {
      const std::set<long long> ladder = {0, 10, 25, 50, 75, 90, 100};
      const long long level = IntegerValue(value, key, 0, 100);
      if (!ladder.count(level)) {
        throw Error(ErrorCode::kInvalidArgument,
                    "depigmentation_level must be one of 0, 10, 25, 50, 75, 90, 100");
      }
      grades[key] = level;
    } else {
      throw Error(ErrorCode::kInvalidArgument, "unknown assessment field '" + key + "'");
    }
  }
  if (grades.empty()) throw Error(ErrorCode::kInvalidArgument, "no grades given");
  return grades;
}

// A corrected mask: a PNG of the capture's size; non-zero in its first channel = lesion.
cv::Mat ValidateMask(ApiContext& ctx, const HttpRequest& req, const storage::Capture& c) {
  const DecodedImage img = DecodeUpload(req.Body(), req.Header("content-type"), ctx.limits);
  if (img.media_type != "image/png") {
    throw Error(ErrorCode::kUnsupportedMedia, "a corrected mask must be a PNG");
  }
  if (img.bgr.cols != c.width || img.bgr.rows != c.height) {
    throw Error(ErrorCode::kInvalidArgument, "mask is " + std::to_string(img.bgr.cols) + "x" +
                                                 std::to_string(img.bgr.rows) +
                                                 " but the capture is " + std::to_string(c.width) +
                                                 "x" + std::to_string(c.height));
  }
  cv::Mat grey;
  cv::extractChannel(img.bgr, grey, 0);
  return grey > 0;
}

HttpResponse CaptureWithResults(ApiContext& ctx, const storage::TokenInfo& token,
                                const storage::Capture& c) {
  return JsonResponse(201,
                      CaptureJson(ctx, token, *ctx.store.repository().FindCapture(c.id), true));
}

}  // namespace

HttpResponse PutBaseline(ApiContext& ctx, const HttpRequest& req, const PathParams& params) {
  const auto token = Authorize(ctx, req, {Role::kClinician, Role::kAdmin});
  const storage::Capture c = LoadCapture(ctx, params.at("id"));
  const auto quality = pipeline::LatestResult(ctx.store, c.id, pipeline::result::kQuality);
  if (!quality || !quality->value || *quality->value != 1.0) {
    throw Error(ErrorCode::kConflict, "capture " + params.at("id") +
                                          " has not passed the quality gate: it cannot be a "
                                          "baseline");
  }
  pipeline::ResultRecord choice;
  choice.name = pipeline::result::kBaselineChoice;
  choice.source = storage::ResultSource::kClinician;
  choice.algorithm = "clinician-choice";
  choice.value = 1.0;
  choice.payload = {{"site", c.site}, {"condition", ConditionName(c.condition)}};
  pipeline::Append(ctx.store, c.id, choice, Actor(token));
  // The chosen capture is processed now (it becomes the baseline, identity registration); the
  // series' other processed captures go back in the durable queue and the workers register them
  // again, to it (new versions; the earlier results stay in the history).
  const int requeued = pipeline::ProcessCapture(ctx.store, c, ctx.pipeline, Actor(token));
  if (ctx.workers) ctx.workers->Notify();
  return JsonResponse(200, {{"baseline_capture_id", c.id},
                            {"site", c.site},
                            {"condition", ConditionName(c.condition)},
                            {"requeued_captures", requeued}});
}

HttpResponse PutAssessment(ApiContext& ctx, const HttpRequest& req, const PathParams& params) {
  const auto token = Authorize(ctx, req, {Role::kClinician, Role::kAdmin});
  const storage::Capture c = LoadCapture(ctx, params.at("id"));
  const json body = ParseBodyObject(req);
  storage::NewAssessment a;
  a.capture_id = c.id;
  a.grades_json = ValidateGrades(body).dump();
  a.note = StringField(body, "note").value_or("");
  ctx.store.AppendAssessment(a, std::nullopt, Actor(token));
  pipeline::Rescore(ctx.store, c, ctx.pipeline, Actor(token));
  return CaptureWithResults(ctx, token, c);
}

HttpResponse PutMask(ApiContext& ctx, const HttpRequest& req, const PathParams& params) {
  const auto token = Authorize(ctx, req, {Role::kClinician, Role::kAdmin});
  const storage::Capture c = LoadCapture(ctx, params.at("id"));
  const cv::Mat mask = ValidateMask(ctx, req, c);
  const std::string bytes = pipeline::EncodePng(mask);
  const auto append = [&] {
    storage::NewAssessment a;
    a.capture_id = c.id;
    a.note = "corrected lesion mask";
    ctx.store.AppendAssessment(a, std::string_view(bytes), Actor(token));
    pipeline::ResultRecord r;
    r.kind = storage::ResultKind::kMask;
    r.name = pipeline::result::kLesionMask;
    r.source = storage::ResultSource::kClinician;
    r.algorithm = "clinician-mask";
    r.payload = {{"pixels", cv::countNonZero(mask)}};
    r.provenance = {{"area", "clinician"}};
    r.blob = bytes;
    pipeline::Append(ctx.store, c.id, r, Actor(token));
  };
  // Rescored; a baseline's corrected mask teaches its site's follow-ups: they are requeued.
  if (pipeline::ApplyReviewedMask(ctx.store, c, ctx.pipeline, Actor(token), append) > 0 &&
      ctx.workers) {
    ctx.workers->Notify();
  }
  return CaptureWithResults(ctx, token, c);
}

}  // namespace skintrack::service
