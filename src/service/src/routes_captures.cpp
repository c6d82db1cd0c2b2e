// Ingest: POST /v1/patients/{patient}/sites/{site}/captures?condition=&captured_at=[&visit=]
// [&wait=true], the image as the body. In four steps: parse and validate the request, validate
// and decode the image, store it (idempotent by content hash: a retry answers 200 with the
// same capture), and optionally wait for processing.
#include "api_support.h"
#include "routes.h"
#include "skintrack/core/error.h"
#include "skintrack/pipeline/time_format.h"
#include "skintrack/pipeline/workers.h"

namespace skintrack::service {
namespace {

using storage::Role;

struct IngestRequest {
  storage::NewCapture capture;  // without the image's fields yet
  bool wait = false;
};

// 1. What the path and query say; Error(kInvalidArgument) / (kNotFound) / (kForbidden).
IngestRequest ParseIngest(ApiContext& ctx, const HttpRequest& req, const PathParams& params,
                          const storage::TokenInfo& token) {
  IngestRequest in;
  in.capture.patient_id = ResolvePatient(ctx, token, params.at("patient"));
  const std::string& site = params.at("site");
  storage::ValidateId(site, "site");
  FindBodySite(site);
  auto q = [&](const char* name) -> std::optional<std::string> {
    auto it = req.query.find(name);
    return it == req.query.end() ? std::nullopt : std::optional<std::string>(it->second);
  };
  const auto condition_text = q("condition");
  if (!condition_text) {
    throw Error(ErrorCode::kInvalidArgument, "query parameter condition is required");
  }
  const auto captured_text = q("captured_at");
  if (!captured_text) {
    throw Error(ErrorCode::kInvalidArgument, "query parameter captured_at (RFC 3339) is required");
  }
  in.capture.site = site;
  in.capture.condition = ParseCondition(*condition_text);
  in.capture.captured_at = pipeline::ParseRfc3339(*captured_text);
  in.capture.visit = q("visit").value_or("");
  in.capture.device = token.role == Role::kDevice ? token.id : "";
  in.wait = BoolQuery(req, "wait").value_or(false);
  return in;
}

// 2. The image: header checks, full decode within the limits, metadata stripped.
DecodedImage ValidateImage(ApiContext& ctx, const HttpRequest& req, storage::NewCapture& nc) {
  DecodedImage img = DecodeUpload(req.body, req.Header("content-type"), ctx.limits);
  nc.media_type = img.media_type;
  nc.width = img.bgr.cols;
  nc.height = img.bgr.rows;
  nc.Check();
  return img;
}

// 4. With ?wait=true, the capture as the workers left it (or as it is after max_wait_s).
storage::Capture WaitForProcessing(ApiContext& ctx, const storage::Capture& c) {
  if (!ctx.workers) return c;
  ctx.workers->WaitFor(c.id, ctx.max_wait_s);
  return ctx.store.repository().FindCapture(c.id).value_or(c);
}

}  // namespace

HttpResponse PushCapture(ApiContext& ctx, const HttpRequest& req, const PathParams& params) {
  const auto token = Authorize(ctx, req, {Role::kDevice, Role::kClinician, Role::kAdmin});
  IngestRequest in = ParseIngest(ctx, req, params, token);
  const DecodedImage img = ValidateImage(ctx, req, in.capture);
  // 3. Store: the blob durably, then the capture row and its queue entry in one transaction.
  const storage::IngestResult result =
      ctx.store.IngestCapture(in.capture, img.encoded, Actor(token));
  if (ctx.workers) ctx.workers->Notify();
  const storage::Capture c = in.wait ? WaitForProcessing(ctx, result.capture) : result.capture;
  const bool full = token.role != Role::kDevice;
  HttpResponse r = JsonResponse(result.created ? 201 : 200, CaptureJson(ctx, token, c, full));
  r.headers.emplace_back("Location", "/v1/captures/" + std::to_string(c.id));
  return r;
}

}  // namespace skintrack::service
