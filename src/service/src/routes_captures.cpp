// Ingest: POST /v1/patients/{patient}/sites/{site}/captures?condition=&captured_at=[&visit=]
// [&wait=true], the image as the body. In five steps: parse and validate the request (the
// captured_at window included), answer a retry of a stored upload from its hash without decoding
// (409 when its facts differ), validate the image and strip its metadata (no full decode) under
// the decode limit, store it durably, and optionally wait for processing under the waiter limit.
// The limits: docs/service.md, "Capture intake limits"; the idempotency keys: "Lossless intake
// (issue 15)".
#include "api_support.h"
#include "routes.h"
#include "skintrack/core/error.h"
#include "skintrack/pipeline/time_format.h"
#include "skintrack/pipeline/workers.h"
#include "skintrack/storage/sha256.h"

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
  CheckCapturedAt(in.capture.captured_at, storage::NowMs(), ctx.captured_at);
  in.capture.visit = q("visit").value_or("");
  in.capture.device = token.role == Role::kDevice ? token.id : "";
  in.wait = BoolQuery(req, "wait").value_or(false);
  return in;
}

// 2. A fact of the request that differs from the capture already stored from the same bytes.
struct Conflict {
  const char* field;
  std::string stored;  // what the stored capture says, for the message
};

// `validated`: the request's image was checked (so its orientation is known), not answered from
// its upload hash.
std::optional<Conflict> DifferingFact(const storage::Capture& stored,
                                      const storage::NewCapture& asked, bool validated) {
  if (stored.site != asked.site) return Conflict{"site", "site " + stored.site};
  if (stored.condition != asked.condition) {
    return Conflict{"condition", std::string("condition ") + ConditionName(stored.condition)};
  }
  if (stored.captured_at != asked.captured_at) {
    return Conflict{"captured_at", "captured_at " + pipeline::FormatRfc3339(stored.captured_at)};
  }
  // Visit labels are free text: named, not echoed.
  if (stored.visit != asked.visit) return Conflict{"visit", "another visit label"};
  // The same pixels shown another way up (a photo whose EXIF differed only in orientation).
  if (validated && stored.orientation != asked.orientation) {
    return Conflict{"orientation", "EXIF orientation " + std::to_string(stored.orientation)};
  }
  return std::nullopt;
}

HttpResponse ConflictResponse(const storage::Capture& stored, const Conflict& conflict) {
  const nlohmann::json body = {
      {"error",
       {{"code", ErrorCodeName(ErrorCode::kConflict)},
        {"message", "these image bytes are already stored as capture " + std::to_string(stored.id) +
                        " with " + conflict.stored + "; this request's " + conflict.field +
                        " differs (a capture's facts never change)"},
        {"field", conflict.field},
        {"capture_id", stored.id}}}};
  HttpResponse r = JsonResponse(409, body);
  r.headers.emplace_back("Location", "/v1/captures/" + std::to_string(stored.id));
  return r;
}

// 3. The image: header checks and metadata stripped (the stored bytes); the full-stream check
// runs while they are written (step 4).
ValidatedUpload PrepareImage(ApiContext& ctx, const HttpRequest& req, storage::NewCapture& nc) {
  ValidatedUpload img = PrepareUpload(req.Body(), req.Header("content-type"), ctx.limits);
  nc.media_type = img.media_type;
  nc.width = img.width;
  nc.height = img.height;
  nc.orientation = img.orientation;
  nc.Check();
  return img;
}

HttpResponse DecodersBusy(const ApiContext& ctx) {
  HttpResponse r = ErrorResponse(
      503, "busy",
      "all " + std::to_string(ctx.decodes->capacity()) +
          " image decoders are busy; nothing was stored, retry after the Retry-After seconds");
  r.headers.emplace_back("Retry-After", "1");
  return r;
}

bool Finished(const storage::Capture& c) {
  return c.status == storage::CaptureStatus::kProcessed ||
         c.status == storage::CaptureStatus::kFailed;
}

}  // namespace

HttpResponse PushCapture(ApiContext& ctx, const HttpRequest& req, const PathParams& params) {
  const auto token = Authorize(ctx, req, {Role::kDevice, Role::kClinician, Role::kAdmin});
  IngestRequest in = ParseIngest(ctx, req, params, token);
  // A spooled body was hashed while it arrived (server.h, upload_spool_dir).
  in.capture.upload_sha256 = req.spooled ? req.spooled->sha256() : storage::Sha256Hex(req.Body());
  storage::IngestResult result;
  bool validated = false;
  if (auto stored = ctx.store.repository().FindCaptureByUpload(in.capture.patient_id,
                                                               in.capture.upload_sha256)) {
    // A retry of an acknowledged upload: answered from the hash, whatever the limits are now.
    result.capture = std::move(*stored);
  } else {
    // The cheap refusals first, so that a bad upload never waits for a decode slot.
    InspectUpload(req.Body(), req.Header("content-type"), ctx.limits);
    const ConcurrencySlot slot(*ctx.decodes, ctx.decode_wait_s);
    if (!slot.held()) return DecodersBusy(ctx);
    const ValidatedUpload img = PrepareImage(ctx, req, in.capture);
    validated = true;
    // 4. Store: the blob durably while its stream is checked, then (only if the check passed)
    // the capture row and its queue entry in one transaction. A photo whose stripped bytes are
    // already a capture of this patient and site (the same photo with other metadata) maps to
    // that capture (InsertCapture's blob lookup).
    result = ctx.store.IngestCapture(in.capture, img.bytes, Actor(token),
                                     [&img] { CheckUploadStream(img); });
    if (ctx.workers && result.created) ctx.workers->Notify();
  }
  if (!result.created) {
    if (const auto conflict = DifferingFact(result.capture, in.capture, validated)) {
      return ConflictResponse(result.capture, *conflict);
    }
  }
  // 5. With ?wait=true, the capture as the workers left it (or as it is after max_wait_s), for
  // at most ctx.waiters requests at once: the others are answered now (the capture is stored).
  storage::Capture c = result.capture;
  bool wait_skipped = false;
  if (in.wait && ctx.workers && !Finished(c)) {
    const ConcurrencySlot slot(*ctx.waiters, 0);
    if (slot.held()) {
      ctx.workers->WaitFor(c.id, ctx.max_wait_s);
      c = ctx.store.repository().FindCapture(c.id).value_or(c);
    } else {
      wait_skipped = true;
    }
  }
  const bool full = token.role != Role::kDevice;
  HttpResponse r = JsonResponse(result.created ? 201 : 200, CaptureJson(ctx, token, c, full));
  r.headers.emplace_back("Location", "/v1/captures/" + std::to_string(c.id));
  if (wait_skipped) r.headers.emplace_back("Skintrack-Wait", "skipped");
  return r;
}

}  // namespace skintrack::service
