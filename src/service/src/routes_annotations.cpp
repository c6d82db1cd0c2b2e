// Annotations (annotator, clinician, admin; docs/annotation.md "HTTP API"): the annotations of a
// capture, an author's own annotation (save, submit, reopen), one annotation's versions and a
// reviewer's decision. The rules (who may take which step, what content is valid, who sees what)
// are the workflow's (pipeline/annotations.h); these handlers read the request, call it and
// answer. A tier-1 annotator sees only the captures assigned to it and only its own work.
#include "annotation_support.h"
#include "api_support.h"
#include "routes.h"
#include "skintrack/core/error.h"

namespace skintrack::service {
namespace {

using annotation::AnnotationAction;
using nlohmann::json;

AnnotationAction ParseOwnAction(const std::string& text) {
  if (text == "save") return AnnotationAction::kSaveDraft;
  if (text == "submit") return AnnotationAction::kSubmit;
  if (text == "reopen") return AnnotationAction::kReopen;
  throw Error(ErrorCode::kInvalidArgument,
              "action must be save, submit or reopen, not '" + text + "'");
}

std::int64_t AnnotationIdOf(const std::string& text) {
  const bool digits = !text.empty() && text.size() <= 18 &&
                      text.find_first_not_of("0123456789") == std::string::npos;
  if (!digits) throw Error(ErrorCode::kInvalidArgument, "annotation id must be a positive integer");
  return std::stoll(text);
}

// Every version of the annotation a path names, with its capture. Error(kNotFound) when unknown.
std::vector<storage::AnnotationVersion> LoadHistory(ApiContext& ctx, const std::string& id_text,
                                                    storage::Capture& capture) {
  auto history = ctx.store.repository().AnnotationHistory(AnnotationIdOf(id_text));
  if (history.empty()) throw Error(ErrorCode::kNotFound, "unknown annotation " + id_text);
  capture = LoadCapture(ctx, std::to_string(history.front().capture_id));
  return history;
}

}  // namespace

HttpResponse ListCaptureAnnotations(ApiContext& ctx, const HttpRequest& req,
                                    const PathParams& params) {
  const auto token = Authorize(ctx, req, AnnotationRoles());
  const storage::Capture c = LoadCapture(ctx, params.at("id"));
  RequireAssignedIfAnnotator(ctx, token, c);
  const pipeline::Annotator who = AnnotatorOf(token);
  json list = json::array();
  for (const storage::AnnotationVersion& v : ctx.store.repository().LatestAnnotations(c.id)) {
    if (pipeline::MaySee(who, v)) list.push_back(VersionJson(ctx.store, v, &c));
  }
  return JsonResponse(200, {{"capture_id", c.id}, {"annotations", list}});
}

HttpResponse PutOwnAnnotation(ApiContext& ctx, const HttpRequest& req, const PathParams& params) {
  const auto token = Authorize(ctx, req, AnnotationRoles());
  const storage::Capture c = LoadCapture(ctx, params.at("id"));
  RequireAssignedIfAnnotator(ctx, token, c);
  const json body = ParseBodyObject(req);
  RejectUnknownFields(body, {"action", "expected_version", "note", "content"});
  const AnnotationAction action =
      ParseOwnAction(RequiredString(body, "action", "save, submit or reopen"));
  const int expected = ExpectedVersion(body);
  const std::string note = StringField(body, "note").value_or("");
  const auto content = ContentField(body, c);
  const storage::AnnotationVersion v =
      pipeline::ChangeOwnAnnotation(ctx.store, c, AnnotatorOf(token), action, content, note,
                                    expected);
  return JsonResponse(201, VersionJson(ctx.store, v, &c));
}

HttpResponse GetAnnotationVersions(ApiContext& ctx, const HttpRequest& req,
                                   const PathParams& params) {
  const auto token = Authorize(ctx, req, AnnotationRoles());
  storage::Capture c;
  const auto history = LoadHistory(ctx, params.at("annotation_id"), c);
  const pipeline::Annotator who = AnnotatorOf(token);
  json list = json::array();
  for (const storage::AnnotationVersion& v : history) {
    if (pipeline::MaySee(who, v)) list.push_back(VersionJson(ctx.store, v, &c));
  }
  // Blind annotation: someone else's work that this caller may not see at all is refused, not
  // answered as an empty history.
  if (list.empty()) {
    throw Error(ErrorCode::kForbidden, "annotation " + params.at("annotation_id") +
                                           " is another author's and not visible to this token");
  }
  return JsonResponse(200, {{"annotation_id", history.front().annotation_id},
                            {"capture_id", c.id},
                            {"versions", list}});
}

HttpResponse ReviewAnnotationRoute(ApiContext& ctx, const HttpRequest& req,
                                   const PathParams& params) {
  const auto token = Authorize(ctx, req, {storage::Role::kClinician, storage::Role::kAdmin});
  storage::Capture c;
  const auto history = LoadHistory(ctx, params.at("annotation_id"), c);
  const json body = ParseBodyObject(req);
  RejectUnknownFields(body, {"decision", "expected_version", "note", "content"});
  const annotation::ReviewDecision decision = annotation::ParseReviewDecision(
      RequiredString(body, "decision", "accepted, corrected or rejected"));
  const int expected = ExpectedVersion(body);
  const std::string note = StringField(body, "note").value_or("");
  const auto corrected = ContentField(body, c);
  const storage::AnnotationVersion v =
      pipeline::ReviewAnnotation(ctx.store, c, history.front().annotation_id, AnnotatorOf(token),
                                 decision, corrected, note, expected);
  return JsonResponse(201, VersionJson(ctx.store, v, &c));
}

}  // namespace skintrack::service
