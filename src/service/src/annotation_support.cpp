#include "annotation_support.h"

#include <algorithm>
#include <climits>

#include "api_support.h"
#include "skintrack/annotation/document.h"
#include "skintrack/core/error.h"
#include "skintrack/pipeline/time_format.h"

namespace skintrack::service {

using nlohmann::json;
using storage::Role;

const std::vector<Role>& AnnotationRoles() {
  static const std::vector<Role> kRoles = {Role::kAnnotator, Role::kClinician, Role::kAdmin};
  return kRoles;
}

pipeline::Annotator AnnotatorOf(const storage::TokenInfo& token) {
  return pipeline::Annotator{Actor(token), token.role};
}

void RequireAssignedIfAnnotator(ApiContext& ctx, const storage::TokenInfo& token,
                                const storage::Capture& capture) {
  if (token.role != Role::kAnnotator) return;
  if (ctx.store.repository().ListAssignments(capture.id, Actor(token)).empty()) {
    throw Error(ErrorCode::kForbidden,
                "capture " + std::to_string(capture.id) + " is not assigned to this annotator");
  }
}

void RejectUnknownFields(const json& body, std::initializer_list<const char*> allowed) {
  for (const auto& item : body.items()) {
    const bool known = std::any_of(allowed.begin(), allowed.end(),
                                   [&](const char* name) { return item.key() == name; });
    if (!known) throw Error(ErrorCode::kInvalidArgument, "unknown field '" + item.key() + "'");
  }
}

int ExpectedVersion(const json& body) {
  const auto v = IntegerField(body, "expected_version", 0, INT_MAX);
  if (!v) {
    throw Error(ErrorCode::kInvalidArgument,
                "expected_version is required (the version last read; 0 for a new annotation)");
  }
  return static_cast<int>(*v);
}

std::optional<annotation::AnnotationContent> ContentField(const json& body,
                                                          const storage::Capture& capture) {
  if (!body.contains("content")) return std::nullopt;
  const json& content = body["content"];
  if (!content.is_object()) {
    throw Error(ErrorCode::kInvalidArgument, "content must be an annotation document (an object)");
  }
  try {
    return annotation::DecodeDocument(content.dump(), cv::Size(capture.width, capture.height));
  } catch (const Error& e) {
    // The codec names the place inside the document; the client sent it as "content".
    if (e.code() != ErrorCode::kInvalidArgument) throw;
    throw Error(ErrorCode::kInvalidArgument, std::string("content.") + e.what());
  }
}

std::string RequiredString(const json& body, const char* key, const char* what) {
  auto value = StringField(body, key);
  if (!value) {
    throw Error(ErrorCode::kInvalidArgument, std::string(key) + " is required (" + what + ")");
  }
  return *value;
}

int LimitQuery(const HttpRequest& req, int fallback) {
  const auto it = req.query.find("limit");
  if (it == req.query.end()) return fallback;
  const std::string& t = it->second;
  const bool digits = !t.empty() && t.size() <= 5 &&
                      std::all_of(t.begin(), t.end(), [](char c) { return c >= '0' && c <= '9'; });
  if (!digits || std::stoi(t) < 1 || std::stoi(t) > 10000) {
    throw Error(ErrorCode::kInvalidArgument, "limit must be an integer from 1 to 10000");
  }
  return std::stoi(t);
}

json VersionJson(storage::Store& store, const storage::AnnotationVersion& v,
                 const storage::Capture* capture, bool with_note) {
  json j = {{"id", v.id},
            {"annotation_id", v.annotation_id},
            {"capture_id", v.capture_id},
            {"author", v.author},
            {"author_role", storage::RoleName(v.author_role)},
            {"version", v.version},
            {"state", annotation::AnnotationStateName(v.state)},
            {"decision", v.decision ? json(annotation::ReviewDecisionName(*v.decision)) : json()},
            {"content_sha256", v.content.sha256},
            {"actor", v.actor},
            {"created_at", pipeline::FormatRfc3339(v.created_at)}};
  if (with_note) j["note"] = v.note;
  if (capture) {
    const cv::Size size(capture->width, capture->height);
    // Decoded and encoded again through the codec: what is answered is checked and canonical.
    const annotation::AnnotationContent content =
        pipeline::LoadAnnotationContent(store, *capture, v);
    j["content"] = json::parse(annotation::EncodeDocument(content, size));
  }
  return j;
}

json AssignmentJson(const storage::Assignment& a) {
  json j = {{"capture_id", a.capture_id},
            {"annotator", a.annotator},
            {"assigned_by", a.assigned_by},
            {"assigned_at", pipeline::FormatRfc3339(a.assigned_at)}};
  const std::string prefix = "token:";
  if (a.annotator.compare(0, prefix.size(), prefix) == 0) {
    j["token_id"] = a.annotator.substr(prefix.size());
  }
  return j;
}

json ConsensusJson(const storage::Result& agreement) {
  // The figures are stored by the workflow (pipeline/annotations.cpp) in the agreement's payload:
  // method, annotators, pairwise_dice_mean, consensus_fraction, per_annotator, mask_result_id.
  json j = json::parse(agreement.payload_json);
  j["capture_id"] = agreement.capture_id;
  j["agreement_result_id"] = agreement.id;
  j["created_at"] = pipeline::FormatRfc3339(agreement.created_at);
  return j;
}

}  // namespace skintrack::service
