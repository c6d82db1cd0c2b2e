#include "api_support.h"

#include <algorithm>
#include <opencv2/imgcodecs.hpp>
#include <opencv2/imgproc.hpp>

#include "skintrack/core/error.h"
#include "skintrack/pipeline/results.h"
#include "skintrack/pipeline/time_format.h"

namespace skintrack::service {

using nlohmann::json;
using pipeline::FormatRfc3339;
using storage::Role;

namespace {

bool AllDigits(const std::string& text) {
  return !text.empty() &&
         std::all_of(text.begin(), text.end(), [](char c) { return c >= '0' && c <= '9'; });
}

}  // namespace

storage::TokenInfo Authorize(ApiContext& ctx, const HttpRequest& req,
                             const std::vector<Role>& roles) {
  const std::string header = req.Header("authorization");
  const std::string prefix = "Bearer ";
  if (header.size() <= prefix.size() || header.compare(0, prefix.size(), prefix) != 0) {
    throw Error(ErrorCode::kUnauthorized, "missing bearer token (Authorization: Bearer <token>)");
  }
  const auto info = ctx.store.repository().VerifyToken(header.substr(prefix.size()));
  if (!info) throw Error(ErrorCode::kUnauthorized, "invalid, revoked or expired token");
  if (std::find(roles.begin(), roles.end(), info->role) == roles.end()) {
    throw Error(ErrorCode::kForbidden,
                std::string("a ") + storage::RoleName(info->role) + " token may not do this");
  }
  return *info;
}

const std::vector<Role>& AllReaders() {
  static const std::vector<Role> kReaders = {Role::kAdmin, Role::kClinician, Role::kCoordinator};
  return kReaders;
}

std::string Actor(const storage::TokenInfo& token) { return "token:" + token.id; }

// Annotators label photos; who the patient is and the clinic's free text are not theirs to see.
bool Pseudonymised(const storage::TokenInfo& token) {
  return token.role == Role::kCoordinator || token.role == Role::kAnnotator;
}

std::string ResolvePatient(ApiContext& ctx, const storage::TokenInfo& token,
                           const std::string& path_id) {
  if (token.role == Role::kCoordinator) {
    for (const storage::Patient& p : ctx.store.repository().ListPatients()) {
      if (pipeline::SubjectId(ctx.pseudonym, p.info.id) == path_id) return p.info.id;
    }
    throw Error(ErrorCode::kNotFound, "unknown subject '" + path_id + "'");
  }
  storage::ValidateId(path_id, "patient id");
  if (token.role == Role::kDevice) {
    // One answer for "unknown" and "someone else's" (and the scope is checked first, so the
    // database is not even asked about a patient outside it).
    const auto& scope = token.patient_scope;
    const bool in_scope =
        scope.empty() || std::find(scope.begin(), scope.end(), path_id) != scope.end();
    if (!in_scope || !ctx.store.repository().FindPatient(path_id)) {
      throw Error(ErrorCode::kNotFound,
                  "unknown patient '" + path_id + "' or not in this token's scope");
    }
    return path_id;
  }
  if (!ctx.store.repository().FindPatient(path_id)) {
    throw Error(ErrorCode::kNotFound, "unknown patient '" + path_id + "'");
  }
  return path_id;
}

storage::Capture LoadCapture(ApiContext& ctx, const std::string& id_text) {
  if (!AllDigits(id_text) || id_text.size() > 18) {
    throw Error(ErrorCode::kInvalidArgument, "capture id must be a positive integer");
  }
  auto c = ctx.store.repository().FindCapture(std::stoll(id_text));
  if (!c) throw Error(ErrorCode::kNotFound, "unknown capture " + id_text);
  return *c;
}

cv::Mat RequireMask(ApiContext& ctx, const storage::Capture& c, const std::string& name) {
  auto m = pipeline::LatestMask(ctx.store, c.id, name);
  if (!m) {
    throw Error(ErrorCode::kNotFound, "capture " + std::to_string(c.id) + " has no " + name +
                                          " mask yet (status " +
                                          storage::CaptureStatusName(c.status) + ")");
  }
  return *m;
}

std::optional<bool> BoolQuery(const HttpRequest& req, const std::string& name) {
  auto it = req.query.find(name);
  if (it == req.query.end()) return std::nullopt;
  if (it->second != "true" && it->second != "false") {
    throw Error(ErrorCode::kInvalidArgument, name + " must be true or false");
  }
  return it->second == "true";
}

std::optional<Condition> OptionalCondition(const HttpRequest& req) {
  auto it = req.query.find("condition");
  if (it == req.query.end()) return std::nullopt;
  return ParseCondition(it->second);
}

int MaxSide(const HttpRequest& req) {
  auto it = req.query.find("max_side");
  if (it == req.query.end()) return 0;
  const std::string& t = it->second;
  if (!AllDigits(t) || t.size() > 5 || std::stoi(t) < 64 || std::stoi(t) > 8192) {
    throw Error(ErrorCode::kInvalidArgument, "max_side must be an integer from 64 to 8192");
  }
  return std::stoi(t);
}

json ParseBodyObject(const HttpRequest& req) {
  json body;
  try {
    body = json::parse(req.body);
  } catch (const json::exception&) {
    throw Error(ErrorCode::kInvalidArgument, "body must be a JSON object");
  }
  if (!body.is_object()) throw Error(ErrorCode::kInvalidArgument, "body must be a JSON object");
  return body;
}

std::optional<std::string> StringField(const json& body, const char* key) {
  if (!body.contains(key)) return std::nullopt;
  if (!body[key].is_string()) {
    throw Error(ErrorCode::kInvalidArgument, std::string(key) + " must be a string");
  }
  return body[key].get<std::string>();
}

long long IntegerValue(const json& value, const std::string& what, long long lo, long long hi) {
  // nlohmann keeps non-negative integers as uint64 and negative ones as int64; each is compared
  // in its own type, so nothing wraps. Numbers beyond 64 bits parse as floats and fail here.
  bool ok = false;
  long long x = 0;
  if (value.is_number_unsigned()) {
    const auto u = value.get<std::uint64_t>();
    ok = hi >= 0 && u <= static_cast<std::uint64_t>(hi);
    if (ok) x = static_cast<long long>(u);
    ok = ok && x >= lo;
  } else if (value.is_number_integer()) {
    x = value.get<std::int64_t>();
    ok = x >= lo && x <= hi;
  }
  if (!ok) {
    throw Error(ErrorCode::kInvalidArgument, what + " must be an integer from " +
                                                 std::to_string(lo) + " to " + std::to_string(hi));
  }
  return x;
}

std::optional<long long> IntegerField(const json& body, const char* key, long long lo,
                                      long long hi) {
  if (!body.contains(key)) return std::nullopt;
  return IntegerValue(body[key], key, lo, hi);
}

HttpResponse JsonResponse(int status, const json& body) {
  HttpResponse r;
  r.status = status;
  // Request bytes end up in answers (ids, labels); what is not UTF-8 becomes U+FFFD, not a throw.
  r.body = body.dump(-1, ' ', false, json::error_handler_t::replace);
  return r;
}

HttpResponse PngResponse(const cv::Mat& full, int max_side) {
  cv::Mat image = full;
  const int longer = std::max(full.cols, full.rows);
  if (max_side > 0 && longer > max_side) {
    const double f = static_cast<double>(max_side) / longer;
    cv::resize(full, image, cv::Size(), f, f, cv::INTER_AREA);
  }
  HttpResponse r;
  r.content_type = "image/png";
  r.body = pipeline::EncodePng(image);
  return r;
}

json TokenJson(const storage::TokenInfo& t) {
  auto time = [](const std::optional<storage::TimeMs>& at) {
    return at ? json(FormatRfc3339(*at)) : json(nullptr);
  };
  const char* status = "active";
  if (t.revoked_at) {
    status = "revoked";
  } else if (t.expires_at && *t.expires_at <= storage::NowMs()) {
    status = "expired";
  }
  return {{"id", t.id},
          {"role", storage::RoleName(t.role)},
          {"patients", t.patient_scope},
          {"label", t.label},
          {"created_at", FormatRfc3339(t.created_at)},
          {"expires_at", time(t.expires_at)},
          {"revoked_at", time(t.revoked_at)},
          {"status", status}};
}

json PatientField(ApiContext& ctx, const storage::TokenInfo& token, const std::string& id) {
  return Pseudonymised(token) ? json(pipeline::SubjectId(ctx.pseudonym, id)) : json(id);
}

json ResultJson(const storage::Result& r) {
  json j = {{"id", r.id},
            {"kind", storage::ResultKindName(r.kind)},
            {"name", r.name},
            {"version", r.version},
            {"source", storage::ResultSourceName(r.source)},
            {"algorithm", r.algorithm},
            {"algorithm_version", r.algorithm_version},
            {"value", r.value ? json(*r.value) : json(nullptr)},
            {"payload", json::parse(r.payload_json)},
            {"inputs", json::parse(r.inputs_json)},
            {"provenance", json::parse(r.provenance_json)},
            {"created_at", FormatRfc3339(r.created_at)}};
  if (!r.blob_sha256.empty()) j["blob_sha256"] = r.blob_sha256;
  return j;
}

json CaptureJson(ApiContext& ctx, const storage::TokenInfo& token, const storage::Capture& c,
                 bool with_results) {
  const bool pseudonymised = Pseudonymised(token);
  json j = {{"id", c.id},
            {"patient", PatientField(ctx, token, c.patient_id)},
            {"site", c.site},
            {"condition", ConditionName(c.condition)},
            {"captured_at", FormatRfc3339(c.captured_at)},
            {"received_at", FormatRfc3339(c.received_at)},
            {"visit",
             pseudonymised ? pipeline::PseudonymisedVisitLabel(ctx.pseudonym, c.visit) : c.visit},
            {"device", c.device},
            {"media_type", c.media_type},
            {"sha256", c.blob.sha256},
            {"bytes", c.blob.size},
            {"width", c.width},
            {"height", c.height},
            {"orientation", c.orientation},
            {"status", storage::CaptureStatusName(c.status)},
            {"attempts", c.attempts}};
  // A processing error is an exception's text: it may quote ids, paths or input.
  if (!c.last_error.empty() && !pseudonymised) j["last_error"] = c.last_error;
  if (!with_results) return j;
  json results = json::object();
  for (const storage::Result& r : ctx.store.repository().LatestResults(c.id)) {
    results[r.name] = ResultJson(r);
  }
  j["results"] = results;
  json assessments = json::array();
  for (const storage::Assessment& a : ctx.store.repository().AssessmentHistory(c.id)) {
    json entry = {{"id", a.id},
                  {"version", a.version},
                  {"grades", json::parse(a.grades_json)},
                  {"mask_sha256", a.mask_sha256},
                  {"created_at", FormatRfc3339(a.created_at)}};
    if (!pseudonymised) entry["note"] = a.note;
    assessments.push_back(std::move(entry));
  }
  j["assessments"] = assessments;
  return j;
}

}  // namespace skintrack::service
