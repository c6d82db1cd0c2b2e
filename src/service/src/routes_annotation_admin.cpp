// Around the annotations: an annotator's queue, the clinicians' review queue, the assignment of
// captures to annotators (tier 3 assigns, tier 2 reads), the consensus of a capture's annotations
// (tier 2+ builds it; the capture is rescored from it) and the COCO dataset export.
// docs/annotation.md, "HTTP API".
#include <algorithm>
#include <optional>

#include "annotation_support.h"
#include "api_support.h"
#include "routes.h"
#include "skintrack/annotation/coco.h"
#include "skintrack/core/error.h"
#include "skintrack/pipeline/annotation_agreement.h"
#include "skintrack/pipeline/annotation_dataset.h"
#include "skintrack/pipeline/results.h"
#include "skintrack/pipeline/time_format.h"
#include "skintrack/pipeline/workers.h"
#include "skintrack/storage/sha256.h"

namespace skintrack::service {
namespace {

using nlohmann::json;
using storage::Role;

[[noreturn]] void RefuseEntry(size_t index, const std::string& why) {
  throw Error(ErrorCode::kInvalidArgument, "annotators[" + std::to_string(index) + "]: " + why);
}

// Why the token `id` cannot be assigned captures, or "" when it can: it must exist, be active and
// be of a role that annotates.
std::string WhyNotAnnotator(const std::vector<storage::TokenInfo>& tokens, const std::string& id) {
  const auto t = std::find_if(tokens.begin(), tokens.end(),
                              [&](const storage::TokenInfo& x) { return x.id == id; });
  if (t == tokens.end()) return "no token '" + id + "'";
  const auto& roles = AnnotationRoles();
  if (std::find(roles.begin(), roles.end(), t->role) == roles.end()) {
    return "token " + id + " is a " + storage::RoleName(t->role) +
           " token; captures are assigned to annotator, clinician or admin tokens";
  }
  const std::string status = TokenJson(*t)["status"].get<std::string>();
  if (status != "active") return "token " + id + " is " + status;
  return "";
}

// The authors ("token:<id>") of an assignment body's token ids; validated whole before anything
// is written. Error(kInvalidArgument) naming the first bad entry.
std::vector<std::string> AssignedAuthors(ApiContext& ctx, const json& body) {
  RejectUnknownFields(body, {"annotators"});
  if (!body.contains("annotators") || !body["annotators"].is_array() ||
      body["annotators"].empty()) {
    throw Error(ErrorCode::kInvalidArgument,
                "annotators is required: a non-empty array of token ids");
  }
  const std::vector<storage::TokenInfo> tokens = ctx.store.repository().ListTokens();
  std::vector<std::string> authors;
  for (size_t i = 0; i < body["annotators"].size(); ++i) {
    const json& entry = body["annotators"][i];
    if (!entry.is_string()) RefuseEntry(i, "must be a token id");
    const std::string id = entry.get<std::string>();
    const std::string why = WhyNotAnnotator(tokens, id);
    if (!why.empty()) RefuseEntry(i, why);
    authors.push_back("token:" + id);  // Actor() of that token
  }
  return authors;
}

HttpResponse AssignmentsAnswer(ApiContext& ctx, const storage::Capture& c, int status,
                               std::optional<int> added) {
  json list = json::array();
  for (const storage::Assignment& a : ctx.store.repository().ListAssignments(c.id, "")) {
    list.push_back(AssignmentJson(a));
  }
  json body = {{"capture_id", c.id}, {"assignments", list}};
  if (added) body["added"] = *added;
  return JsonResponse(status, body);
}

}  // namespace

HttpResponse GetAnnotationQueue(ApiContext& ctx, const HttpRequest& req, const PathParams&) {
  const auto token = Authorize(ctx, req, AnnotationRoles());
  const int limit = LimitQuery(req, 100);
  json list = json::array();
  for (const std::int64_t id : ctx.store.repository().AnnotationQueue(Actor(token), limit)) {
    if (const auto c = ctx.store.repository().FindCapture(id)) {
      list.push_back(CaptureJson(ctx, token, *c, false));
    }
  }
  return JsonResponse(200, {{"captures", list}});
}

HttpResponse GetReviewQueue(ApiContext& ctx, const HttpRequest& req, const PathParams&) {
  const auto token = Authorize(ctx, req, {Role::kClinician, Role::kAdmin});
  const int limit = LimitQuery(req, 100);
  json list = json::array();
  for (const std::int64_t id : ctx.store.repository().ReviewQueue(limit)) {
    const auto c = ctx.store.repository().FindCapture(id);
    if (!c) continue;  // deleted (a patient's erasure) between the two reads
    int submitted = 0;
    int reviewed = 0;
    std::int64_t waiting_since = 0;  // the oldest submission still waiting
    for (const storage::AnnotationVersion& v : ctx.store.repository().LatestAnnotations(id)) {
      if (v.state == annotation::AnnotationState::kSubmitted) {
        ++submitted;
        if (waiting_since == 0 || v.created_at < waiting_since) waiting_since = v.created_at;
      } else if (v.state == annotation::AnnotationState::kReviewed) {
        ++reviewed;
      }
    }
    if (submitted == 0) continue;  // reviewed between the two reads
    json entry = CaptureJson(ctx, token, *c, false);
    entry["review"] = {{"submitted", submitted},
                       {"reviewed", reviewed},
                       {"waiting_since", pipeline::FormatRfc3339(waiting_since)}};
    list.push_back(std::move(entry));
  }
  return JsonResponse(200, {{"captures", list}});
}

HttpResponse PostAssignments(ApiContext& ctx, const HttpRequest& req, const PathParams& params) {
  const auto token = Authorize(ctx, req, {Role::kAdmin});
  const storage::Capture c = LoadCapture(ctx, params.at("id"));
  const std::vector<std::string> authors = AssignedAuthors(ctx, ParseBodyObject(req));
  int added = 0;
  for (const std::string& author : authors) {
    storage::NewAssignment a;
    a.capture_id = c.id;
    a.annotator = author;
    if (ctx.store.repository().AssignCapture(a, Actor(token))) ++added;
  }
  return AssignmentsAnswer(ctx, c, 200, added);
}

HttpResponse GetAssignments(ApiContext& ctx, const HttpRequest& req, const PathParams& params) {
  Authorize(ctx, req, {Role::kClinician, Role::kAdmin});
  return AssignmentsAnswer(ctx, LoadCapture(ctx, params.at("id")), 200, std::nullopt);
}

HttpResponse PostConsensus(ApiContext& ctx, const HttpRequest& req, const PathParams& params) {
  const auto token = Authorize(ctx, req, {Role::kClinician, Role::kAdmin});
  const storage::Capture c = LoadCapture(ctx, params.at("id"));
  // An empty body is the default method.
  json body = json::object();
  if (!req.body.empty()) body = ParseBodyObject(req);
  RejectUnknownFields(body, {"method"});
  const scoring::ConsensusMethod method =
      scoring::ParseConsensusMethod(StringField(body, "method").value_or("majority"));
  const pipeline::CaptureConsensus consensus =
      pipeline::BuildCaptureConsensus(ctx.store, c, method, AnnotatorOf(token), ctx.pipeline);
  // A baseline's consensus teaches its site's follow-ups: they were requeued.
  if (consensus.requeued_captures > 0 && ctx.workers) ctx.workers->Notify();
  json answer = ConsensusJson(consensus.agreement);
  answer["requeued_captures"] = consensus.requeued_captures;
  return JsonResponse(201, answer);
}

HttpResponse GetConsensus(ApiContext& ctx, const HttpRequest& req, const PathParams& params) {
  Authorize(ctx, req, {Role::kClinician, Role::kAdmin});
  const storage::Capture c = LoadCapture(ctx, params.at("id"));
  const auto agreement =
      pipeline::LatestResult(ctx.store, c.id, pipeline::result::kAnnotationAgreement);
  if (!agreement) {
    throw Error(ErrorCode::kNotFound,
                "capture " + params.at("id") + " has no consensus of its annotations yet");
  }
  return JsonResponse(200, ConsensusJson(*agreement));
}

// The dataset the CLI's `annotations export` writes, built by the same function; a coordinator's
// is pseudonymised (subject ids, opaque annotator ids; notes are never exported). The ETag is the
// SHA-256 of the bytes: with info.skintrack.annotation_versions it names a dataset version.
HttpResponse GetAnnotationExport(ApiContext& ctx, const HttpRequest& req, const PathParams&) {
  const auto token = Authorize(ctx, req, {Role::kAdmin, Role::kClinician, Role::kCoordinator});
  pipeline::CocoExportOptions options;
  options.condition = OptionalCondition(req);
  if (Pseudonymised(token)) options.pseudonymise = ctx.pseudonym;
  const pipeline::CocoExport exported = pipeline::BuildCocoDataset(ctx.store, options);
  HttpResponse r;
  r.body = annotation::WriteCoco(exported.dataset);
  r.headers.emplace_back("ETag", "\"" + storage::Sha256Hex(r.body) + "\"");
  return r;
}

// The dataset's label agreement, as `skintrack annotations agreement --json`. Staff only: it names
// every annotator and what each labelled.
HttpResponse GetAnnotationAgreement(ApiContext& ctx, const HttpRequest& req, const PathParams&) {
  Authorize(ctx, req, {Role::kAdmin, Role::kClinician});
  pipeline::DatasetAgreementOptions options;
  options.condition = OptionalCondition(req);
  return JsonResponse(
      200, pipeline::DatasetAgreementJson(pipeline::ComputeDatasetAgreement(ctx.store, options)));
}

}  // namespace skintrack::service
