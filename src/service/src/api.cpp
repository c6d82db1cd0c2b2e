// The /v1 HTTP API: authentication, ingest, reads, clinician input, response summaries.
#include <algorithm>
#include <cmath>
#include <ctime>
#include <map>
#include <nlohmann/json.hpp>
#include <opencv2/imgcodecs.hpp>
#include <opencv2/imgproc.hpp>
#include <set>

#include "processing.h"
#include "skintrack/core/error.h"
#include "skintrack/registration/registration.h"
#include "skintrack/scoring/change.h"
#include "skintrack/scoring/json.h"
#include "skintrack/scoring/scores.h"
#include "skintrack/service/service.h"
#include "skintrack/storage/sha256.h"
#include "skintrack/storage/store.h"
#include "time_format.h"

namespace skintrack::service {

using nlohmann::json;
using storage::Role;

std::string SubjectId(const std::string& key, const std::string& patient_id) {
  return "S-" + storage::Sha256Hex(key + ":" + patient_id).substr(0, 12);
}

namespace {

bool AllDigits(const std::string& text) {
  return !text.empty() &&
         std::all_of(text.begin(), text.end(), [](char c) { return c >= '0' && c <= '9'; });
}

// An optional true/false query parameter; Error(kInvalidArgument) for any other value.
std::optional<bool> BoolQuery(const HttpRequest& req, const std::string& name) {
  auto it = req.query.find(name);
  if (it == req.query.end()) return std::nullopt;
  if (it->second != "true" && it->second != "false") {
    throw Error(ErrorCode::kInvalidArgument, name + " must be true or false");
  }
  return it->second == "true";
}

HttpResponse JsonResponse(int status, const json& body) {
  HttpResponse r;
  r.status = status;
  r.body = body.dump();
  return r;
}

// The optional ?max_side=N of an image route (N in 64..8192): the PNG is reduced (area
// averaging) so that its longer side is at most N. Absent: full size.
int MaxSide(const HttpRequest& req) {
  auto it = req.query.find("max_side");
  if (it == req.query.end()) return 0;
  const std::string& t = it->second;
  if (!AllDigits(t) || t.size() > 5 || std::stoi(t) < 64 || std::stoi(t) > 8192) {
    throw Error(ErrorCode::kInvalidArgument, "max_side must be an integer from 64 to 8192");
  }
  return std::stoi(t);
}

HttpResponse PngResponse(const cv::Mat& full, int max_side = 0) {
  cv::Mat image = full;
  const int longer = std::max(full.cols, full.rows);
  if (max_side > 0 && longer > max_side) {
    const double f = static_cast<double>(max_side) / longer;
    cv::resize(full, image, cv::Size(), f, f, cv::INTER_AREA);
  }
  std::vector<unsigned char> bytes;
  if (!cv::imencode(".png", image, bytes)) throw Error(ErrorCode::kInternal, "PNG encoding failed");
  HttpResponse r;
  r.content_type = "image/png";
  r.body.assign(bytes.begin(), bytes.end());
  return r;
}

// Who is calling: the verified token, or Error(kUnauthorized) / Error(kForbidden).
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

std::string Actor(const storage::TokenInfo& token) { return "token:" + token.id; }

// The patient a path names. Coordinators name patients by their subject id only.
std::string ResolvePatient(ApiContext& ctx, const storage::TokenInfo& token,
                           const std::string& path_id) {
  if (token.role == Role::kCoordinator) {
    for (const storage::Patient& p : ctx.store.repository().ListPatients()) {
      if (SubjectId(ctx.pseudonym_key, p.info.id) == path_id) return p.info.id;
    }
    throw Error(ErrorCode::kNotFound, "unknown subject '" + path_id + "'");
  }
  storage::ValidateId(path_id, "patient id");
  if (!ctx.store.repository().FindPatient(path_id)) {
    throw Error(ErrorCode::kNotFound, "unknown patient '" + path_id + "'");
  }
  if (token.role == Role::kDevice && !token.patient_scope.empty() &&
      std::find(token.patient_scope.begin(), token.patient_scope.end(), path_id) ==
          token.patient_scope.end()) {
    throw Error(ErrorCode::kForbidden, "this device token is not scoped to patient " + path_id);
  }
  return path_id;
}

// The request body as a JSON object, or Error(kInvalidArgument).
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

// An optional string field of a JSON body; Error(kInvalidArgument) when it is not a string.
std::optional<std::string> StringField(const json& body, const char* key) {
  if (!body.contains(key)) return std::nullopt;
  if (!body[key].is_string()) {
    throw Error(ErrorCode::kInvalidArgument, std::string(key) + " must be a string");
  }
  return body[key].get<std::string>();
}

std::int64_t ParseCaptureId(const std::string& text) {
  if (!AllDigits(text) || text.size() > 18) {
    throw Error(ErrorCode::kInvalidArgument, "capture id must be a positive integer");
  }
  return std::stoll(text);
}

storage::Capture LoadCapture(ApiContext& ctx, const std::string& id_text) {
  const std::int64_t id = ParseCaptureId(id_text);
  auto c = ctx.store.repository().FindCapture(id);
  if (!c) throw Error(ErrorCode::kNotFound, "unknown capture " + id_text);
  return *c;
}

json PatientField(ApiContext& ctx, const storage::TokenInfo& token, const std::string& id) {
  return token.role == Role::kCoordinator ? json(SubjectId(ctx.pseudonym_key, id)) : json(id);
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
  json j = {{"id", c.id},
            {"patient", PatientField(ctx, token, c.patient_id)},
            {"site", c.site},
            {"condition", ConditionName(c.condition)},
            {"captured_at", FormatRfc3339(c.captured_at)},
            {"received_at", FormatRfc3339(c.received_at)},
            {"visit", c.visit},
            {"device", c.device},
            {"media_type", c.media_type},
            {"sha256", c.blob.sha256},
            {"bytes", c.blob.size},
            {"width", c.width},
            {"height", c.height},
            {"status", storage::CaptureStatusName(c.status)},
            {"attempts", c.attempts}};
  if (!c.last_error.empty()) j["last_error"] = c.last_error;
  if (with_results) {
    json results = json::object();
    for (const storage::Result& r : ctx.store.repository().LatestResults(c.id)) {
      results[r.name] = ResultJson(r);
    }
    j["results"] = results;
    json assessments = json::array();
    for (const storage::Assessment& a : ctx.store.repository().AssessmentHistory(c.id)) {
      assessments.push_back({{"id", a.id},
                             {"version", a.version},
                             {"grades", json::parse(a.grades_json)},
                             {"note", a.note},
                             {"mask_sha256", a.mask_sha256},
                             {"created_at", FormatRfc3339(a.created_at)}});
    }
    j["assessments"] = assessments;
  }
  return j;
}

cv::Mat RequireMask(ApiContext& ctx, const storage::Capture& c, const std::string& name) {
  auto m = LatestMask(ctx.store, c.id, name);
  if (!m) {
    throw Error(ErrorCode::kNotFound, "capture " + std::to_string(c.id) + " has no " + name +
                                          " mask yet (status " +
                                          storage::CaptureStatusName(c.status) + ")");
  }
  return *m;
}

// --- response summary ---------------------------------------------------------------------------

scoring::SeverityGrade GradeFromJson(const json& j) {
  scoring::SeverityGrade g;
  g.grade = j.value("grade", 0);
  g.provenance = scoring::ParseProvenance(j.value("provenance", "measured"));
  if (j.contains("continuous") && j["continuous"].is_number()) {
    g.continuous = j["continuous"].get<double>();
  }
  g.method = j.value("method", "");
  return g;
}

std::string VisitKey(const storage::Capture& c) {
  return c.visit.empty() ? FormatRfc3339(c.captured_at).substr(0, 10) : c.visit;
}

json ResponseForCondition(ApiContext& ctx, const storage::TokenInfo& token,
                          const std::string& patient, Condition condition) {
  storage::SeriesQuery q;
  q.patient_id = patient;
  q.condition = condition;
  // Visits in time order; within a visit the latest capture of each site counts.
  std::vector<std::string> order;
  std::map<std::string, std::map<std::string, storage::Capture>> visits;
  std::map<std::string, storage::TimeMs> visit_time;
  for (const storage::SeriesPoint& p : ctx.store.repository().TimeSeries(q)) {
    const std::string key = VisitKey(p.capture);
    if (!visits.count(key)) {
      order.push_back(key);
      visit_time[key] = p.capture.captured_at;
    }
    visits[key][p.capture.site] = p.capture;
  }
  json out = json::array();
  std::optional<double> baseline_value;
  std::map<std::string, double> baseline_depigmented;  // site -> envelope x depig at baseline
  for (const std::string& key : order) {
    json visit = {{"visit", key}, {"date", FormatRfc3339(visit_time[key])}};
    json captures = json::array();
    std::vector<scoring::PsoriasisSiteMeasurement> pso;
    std::vector<scoring::VasiSiteInput> vas;
    std::vector<std::string> pending;
    for (const auto& [site, c] : visits[key]) {
      captures.push_back(c.id);
      const auto score = LatestResult(
          ctx.store, c.id, condition == Condition::kPsoriasis ? "pasi_site" : "vasi_site");
      const auto meas = LatestResult(ctx.store, c.id, "measurements");
      if (!score || !meas) {
        pending.push_back(site + " (capture " + std::to_string(c.id) + ": " +
                          storage::CaptureStatusName(c.status) + ")");
        continue;
      }
      const json payload = json::parse(score->payload_json);
      if (condition == Condition::kPsoriasis) {
        const json& region = payload["pasi"]["regions"][0];
        scoring::PsoriasisSiteMeasurement m;
        m.site = site;
        // The area the site's score used (the site's area in the baseline frame when the
        // capture is registered; see MeasureSiteArea), not the photo's own fraction.
        m.lesion_fraction = region.value("area_percent", 100.0 * meas->value.value_or(0.0)) / 100.0;
        m.area_provenance = scoring::ParseProvenance(region.value("area_provenance", "measured"));
        m.erythema = GradeFromJson(region["erythema"]);
        m.induration = GradeFromJson(region["induration"]);
        m.desquamation = GradeFromJson(region["desquamation"]);
        pso.push_back(m);
      } else {
        const json& s = payload["sites"][0];
        scoring::VasiSiteInput v;
        v.site = site;
        v.envelope_fraction = s.value("envelope_fraction", 0.0);
        v.depigmentation_percent = s.value("depigmentation_percent", 0.0);
        v.provenance = scoring::ParseProvenance(s.value("provenance", "measured"));
        if (s.value("level_provenance", "measured") == std::string("clinician")) {
          v.clinician_level = s.value("level", 0);
        }
        vas.push_back(v);
      }
    }
    visit["captures"] = captures;
    if (!pending.empty()) visit["pending_sites"] = pending;
    if (condition == Condition::kPsoriasis && !pso.empty()) {
      const scoring::PsoriasisVisitScore vs = scoring::ScorePsoriasisVisit(pso);
      visit["score"] = json::parse(scoring::ToJson(vs));
      visit["pasi"] = vs.pasi.pasi;
      visit["bsa_percent"] = vs.bsa_percent;
      if (!baseline_value) baseline_value = vs.pasi.pasi;
      visit["response"] =
          json::parse(scoring::ToJson(scoring::ComputePasiResponse(*baseline_value, vs.pasi.pasi)));
    } else if (condition == Condition::kVitiligo && !vas.empty()) {
      const scoring::VasiResult v = scoring::ComputeVasi(vas);
      visit["score"] = json::parse(scoring::ToJson(v));
      visit["t_vasi"] = v.t_vasi;
      if (v.face_imaged) visit["f_vasi"] = v.f_vasi;
      if (!baseline_value) baseline_value = v.t_vasi;
      visit["response"] =
          json::parse(scoring::ToJson(scoring::ComputeVasiResponse(*baseline_value, v.t_vasi)));
      // Repigmentation per site from the registered change against the site's baseline.
      json repig = json::object();
      for (const auto& [site, c] : visits[key]) {
        if (const auto change = LatestResult(ctx.store, c.id, "change")) {
          repig[site] = json::parse(change->payload_json)["repigmentation"];
        }
      }
      visit["repigmentation"] = repig;
    }
    out.push_back(visit);
  }
  return {{"condition", ConditionName(condition)},
          {"patient", PatientField(ctx, token, patient)},
          {"baseline_visit", order.empty() ? json(nullptr) : json(order.front())},
          {"visits", out},
          {"algorithm_version", scoring::kScoringVersion}};
}

json PatientResponse(ApiContext& ctx, const storage::TokenInfo& token, const std::string& patient,
                     std::optional<Condition> only) {
  json out = json::array();
  for (Condition c : {Condition::kPsoriasis, Condition::kVitiligo}) {
    if (only && *only != c) continue;
    json r = ResponseForCondition(ctx, token, patient, c);
    if (!r["visits"].empty() || only) out.push_back(r);
  }
  return {{"patient", PatientField(ctx, token, patient)}, {"conditions", out}};
}

// Re-scores a capture after clinician input (a new assessment or a corrected mask).
void Rescore(ApiContext& ctx, const storage::Capture& c, const std::string& actor) {
  const cv::Mat image = DecodeStoredImage(ctx.store, c);
  const auto lesion = LatestMask(ctx.store, c.id, "lesion");
  if (!lesion) return;  // not processed yet: the worker will score with the assessment
  const auto skin = LatestMask(ctx.store, c.id, "skin");
  const auto latest_mask = LatestResult(ctx.store, c.id, "lesion");
  std::unique_ptr<scoring::Segmenter> seg;
  if (latest_mask && latest_mask->source == storage::ResultSource::kClinician) {
    seg = std::make_unique<scoring::SuppliedMaskSegmenter>(c.condition, *lesion,
                                                           skin.value_or(cv::Mat()));
  } else {
    scoring::ClassicalSegmenterOptions so;
    so.condition = c.condition;
    seg = scoring::MakeClassicalSegmenter(so);
  }
  ScoreCapture(
      ctx.store, c, image, seg->Segment(image), actor,
      {{"capture_id", c.id}, {"reason", "clinician input"}, {"pipeline", kPipelineVersion}});
}

std::optional<Condition> OptionalCondition(const HttpRequest& req) {
  auto it = req.query.find("condition");
  if (it == req.query.end()) return std::nullopt;
  return ParseCondition(it->second);
}

}  // namespace

void AddApiRoutes(Router& router, ApiContext& ctx) {
  const std::vector<Role> all_readers = {Role::kAdmin, Role::kClinician, Role::kCoordinator};

  router.Add("GET", "/healthz", [&ctx](const HttpRequest&, const PathParams&) {
    const storage::QueueCounts q = ctx.store.repository().CountQueue();
    return JsonResponse(200, {{"status", "ok"},
                              {"queue",
                               {{"queued", q.queued},
                                {"processing", q.processing},
                                {"processed", q.processed},
                                {"failed", q.failed}}}});
  });

  router.Add("GET", "/metrics", [&ctx](const HttpRequest&, const PathParams&) {
    HttpResponse r;
    r.content_type = "text/plain; version=0.0.4";
    r.body = ctx.metrics
                 ? ctx.metrics->Render(ctx.store, ctx.workers ? &ctx.workers->stats() : nullptr)
                 : std::string();
    return r;
  });

  router.Add("POST", "/v1/patients", [&ctx](const HttpRequest& req, const PathParams&) {
    const auto token = Authorize(ctx, req, {Role::kAdmin, Role::kClinician});
    const json body = ParseBodyObject(req);
    const auto id = StringField(body, "id");
    if (!id) {
      throw Error(ErrorCode::kInvalidArgument, "body needs \"id\": the pseudonymous patient id");
    }
    storage::PatientInfo info;
    info.id = *id;
    if (body.contains("fitzpatrick")) {
      if (!body["fitzpatrick"].is_number_integer()) {
        throw Error(ErrorCode::kInvalidArgument, "fitzpatrick must be an integer 1..6");
      }
      info.fitzpatrick = body["fitzpatrick"].get<int>();
    }
    info.age_band = StringField(body, "age_band").value_or("");
    const storage::Patient p = ctx.store.repository().CreatePatient(info, Actor(token));
    return JsonResponse(
        201, {{"id", p.info.id},
              {"fitzpatrick", p.info.fitzpatrick ? json(*p.info.fitzpatrick) : json(nullptr)},
              {"age_band", p.info.age_band},
              {"created_at", FormatRfc3339(p.created_at)}});
  });

  router.Add("POST", "/v1/tokens", [&ctx](const HttpRequest& req, const PathParams&) {
    const auto token = Authorize(ctx, req, {Role::kAdmin});
    const json body = ParseBodyObject(req);
    const auto role = StringField(body, "role");
    if (!role) {
      throw Error(ErrorCode::kInvalidArgument,
                  "body needs \"role\": admin, clinician, coordinator or device");
    }
    storage::NewToken t;
    t.role = storage::ParseRole(*role);
    if (body.contains("patients")) {
      if (!body["patients"].is_array() || t.role != Role::kDevice) {
        throw Error(ErrorCode::kInvalidArgument, "patients: an array, for device tokens only");
      }
      for (const json& p : body["patients"]) {
        if (!p.is_string()) throw Error(ErrorCode::kInvalidArgument, "patients must be ids");
        t.patient_scope.push_back(p.get<std::string>());
      }
    }
    t.label = StringField(body, "label").value_or("");
    const storage::CreatedToken created = ctx.store.repository().CreateToken(t, Actor(token));
    return JsonResponse(201, {{"id", created.info.id},
                              {"role", storage::RoleName(created.info.role)},
                              {"patients", created.info.patient_scope},
                              {"token", created.token}});
  });

  router.Add("GET", "/v1/patients", [&ctx, all_readers](const HttpRequest& req, const PathParams&) {
    const auto token = Authorize(ctx, req, all_readers);
    json list = json::array();
    for (const storage::Patient& p : ctx.store.repository().ListPatients()) {
      json j = {{"id", PatientField(ctx, token, p.info.id)}, {"age_band", p.info.age_band}};
      if (p.info.fitzpatrick) j["fitzpatrick"] = *p.info.fitzpatrick;
      std::map<std::pair<std::string, std::string>, std::int64_t> latest;  // (site, cond)
      storage::SeriesQuery q;
      q.patient_id = p.info.id;
      for (const storage::SeriesPoint& point : ctx.store.repository().TimeSeries(q)) {
        latest[{point.capture.site, ConditionName(point.capture.condition)}] = point.capture.id;
      }
      json sites = json::array();
      for (const auto& [key, capture_id] : latest) {
        sites.push_back(
            {{"site", key.first}, {"condition", key.second}, {"latest_capture", capture_id}});
      }
      j["sites"] = sites;
      list.push_back(j);
    }
    return JsonResponse(200, {{"patients", list}});
  });

  router.Add(
      "POST", "/v1/patients/{patient}/sites/{site}/captures",
      [&ctx](const HttpRequest& req, const PathParams& params) {
        const auto token = Authorize(ctx, req, {Role::kDevice, Role::kClinician, Role::kAdmin});
        const std::string patient = ResolvePatient(ctx, token, params.at("patient"));
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
          throw Error(ErrorCode::kInvalidArgument,
                      "query parameter captured_at (RFC 3339) is required");
        }
        storage::NewCapture nc;
        nc.patient_id = patient;
        nc.site = site;
        nc.condition = ParseCondition(*condition_text);
        nc.captured_at = ParseRfc3339(*captured_text);
        nc.visit = q("visit").value_or("");
        nc.device = token.role == Role::kDevice ? token.id : "";
        const bool wait = BoolQuery(req, "wait").value_or(false);
        const DecodedImage img = DecodeUpload(req.body, req.Header("content-type"), ctx.limits);
        nc.media_type = img.media_type;
        nc.width = img.bgr.cols;
        nc.height = img.bgr.rows;
        nc.Check();
        const storage::IngestResult result = ctx.store.IngestCapture(nc, img.encoded, Actor(token));
        if (ctx.workers) ctx.workers->Notify();
        storage::Capture c = result.capture;
        if (wait && ctx.workers) {
          ctx.workers->WaitFor(c.id, ctx.max_wait_s);
          c = ctx.store.repository().FindCapture(c.id).value_or(c);
        }
        const bool full = token.role != Role::kDevice;
        HttpResponse r = JsonResponse(result.created ? 201 : 200, CaptureJson(ctx, token, c, full));
        r.headers.emplace_back("Location", "/v1/captures/" + std::to_string(c.id));
        return r;
      });

  router.Add("GET", "/v1/captures/{id}",
             [&ctx, all_readers](const HttpRequest& req, const PathParams& params) {
               const auto token = Authorize(ctx, req, all_readers);
               return JsonResponse(
                   200, CaptureJson(ctx, token, LoadCapture(ctx, params.at("id")), true));
             });

  router.Add("GET", "/v1/captures/{id}/image",
             [&ctx](const HttpRequest& req, const PathParams& params) {
               Authorize(ctx, req, {Role::kAdmin, Role::kClinician});
               const storage::Capture c = LoadCapture(ctx, params.at("id"));
               HttpResponse r;
               r.content_type = c.media_type;
               r.body = ctx.store.ReadBlob(c.blob.sha256);
               return r;
             });

  router.Add("GET", "/v1/captures/{id}/mask.png",
             [&ctx](const HttpRequest& req, const PathParams& params) {
               Authorize(ctx, req, {Role::kAdmin, Role::kClinician});
               const storage::Capture c = LoadCapture(ctx, params.at("id"));
               return PngResponse(RequireMask(ctx, c, "lesion"));
             });

  router.Add("GET", "/v1/captures/{id}/overlay.png",
             [&ctx](const HttpRequest& req, const PathParams& params) {
               Authorize(ctx, req, {Role::kAdmin, Role::kClinician});
               const storage::Capture c = LoadCapture(ctx, params.at("id"));
               const cv::Mat lesion = RequireMask(ctx, c, "lesion");
               const cv::Mat image = DecodeStoredImage(ctx.store, c);
               return PngResponse(
                   scoring::RenderOverlay(image, lesion,
                                          LatestMask(ctx.store, c.id, "skin").value_or(cv::Mat())),
                   MaxSide(req));
             });

  router.Add("GET", "/v1/captures/{id}/aligned.png",
             [&ctx](const HttpRequest& req, const PathParams& params) {
               Authorize(ctx, req, {Role::kAdmin, Role::kClinician});
               const storage::Capture c = LoadCapture(ctx, params.at("id"));
               const auto reg = StoredRegistration(ctx.store, c);
               if (!reg) {
                 throw Error(ErrorCode::kNotFound,
                             "capture " + params.at("id") +
                                 " has no successful registration to its baseline");
               }
               const bool overlay = BoolQuery(req, "overlay").value_or(false);
               const int max_side = MaxSide(req);
               cv::Mat warped =
                   registration::WarpImageToBaseline(DecodeStoredImage(ctx.store, c), reg->second);
               if (overlay) {
                 // The lesion outline in the baseline's frame: the capture's own masks warped
                 // with the same transform (nearest neighbour), drawn on the warped photo.
                 const cv::Mat lesion =
                     registration::WarpMaskToBaseline(RequireMask(ctx, c, "lesion"), reg->second);
                 const auto skin = LatestMask(ctx.store, c.id, "skin");
                 warped = scoring::RenderOverlay(
                     warped, lesion,
                     skin ? registration::WarpMaskToBaseline(*skin, reg->second) : cv::Mat());
               }
               return PngResponse(warped, max_side);
             });

  router.Add(
      "GET", "/v1/captures/{id}/change.png",
      [&ctx](const HttpRequest& req, const PathParams& params) {
        Authorize(ctx, req, {Role::kAdmin, Role::kClinician});
        const storage::Capture c = LoadCapture(ctx, params.at("id"));
        const auto reg = StoredRegistration(ctx.store, c);
        if (!reg) {
          throw Error(ErrorCode::kNotFound, "capture " + params.at("id") +
                                                " has no successful registration to its baseline");
        }
        const auto base = ctx.store.repository().FindCapture(reg->first);
        const cv::Mat base_lesion = RequireMask(ctx, *base, "lesion");
        const cv::Mat warped =
            registration::WarpMaskToBaseline(RequireMask(ctx, c, "lesion"), reg->second);
        const cv::Mat seen = registration::WarpMaskToBaseline(
            cv::Mat(cv::Size(c.width, c.height), CV_8U, cv::Scalar(255)), reg->second);
        const scoring::MaskChange change = scoring::CompareMasks(base_lesion, warped, seen);
        return PngResponse(scoring::RenderChangeMap(DecodeStoredImage(ctx.store, *base), change),
                           MaxSide(req));
      });

  router.Add(
      "GET", "/v1/patients/{patient}/timeseries",
      [&ctx, all_readers](const HttpRequest& req, const PathParams& params) {
        const auto token = Authorize(ctx, req, all_readers);
        storage::SeriesQuery q;
        q.patient_id = ResolvePatient(ctx, token, params.at("patient"));
        if (auto it = req.query.find("site"); it != req.query.end()) {
          storage::ValidateId(it->second, "site");
          FindBodySite(it->second);
          q.site = it->second;
        }
        q.condition = OptionalCondition(req);
        json points = json::array();
        for (const storage::SeriesPoint& p : ctx.store.repository().TimeSeries(q)) {
          json j = CaptureJson(ctx, token, p.capture, false);
          json results = json::object();
          for (const storage::Result& r : ctx.store.repository().LatestResults(p.capture.id)) {
            if (r.kind == storage::ResultKind::kMask) continue;
            results[r.name] = {{"value", r.value ? json(*r.value) : json(nullptr)},
                               {"version", r.version},
                               {"source", storage::ResultSourceName(r.source)}};
          }
          j["results"] = results;
          points.push_back(j);
        }
        return JsonResponse(
            200, {{"patient", PatientField(ctx, token, q.patient_id)}, {"points", points}});
      });

  router.Add("GET", "/v1/patients/{patient}/response",
             [&ctx, all_readers](const HttpRequest& req, const PathParams& params) {
               const auto token = Authorize(ctx, req, all_readers);
               const std::string patient = ResolvePatient(ctx, token, params.at("patient"));
               return JsonResponse(200,
                                   PatientResponse(ctx, token, patient, OptionalCondition(req)));
             });

  router.Add("PUT", "/v1/captures/{id}/baseline",
             [&ctx](const HttpRequest& req, const PathParams& params) {
               const auto token = Authorize(ctx, req, {Role::kClinician, Role::kAdmin});
               const storage::Capture c = LoadCapture(ctx, params.at("id"));
               const auto quality = LatestResult(ctx.store, c.id, "quality");
               if (!quality || !quality->value || *quality->value != 1.0) {
                 throw Error(ErrorCode::kConflict,
                             "capture " + params.at("id") +
                                 " has not passed the quality gate: it cannot be a "
                                 "baseline");
               }
               Append(ctx.store, c.id, storage::ResultKind::kMeasurement, "baseline_choice",
                      storage::ResultSource::kClinician, "clinician-choice", 1.0,
                      {{"site", c.site}, {"condition", ConditionName(c.condition)}}, json::object(),
                      json::object(), Actor(token));
               // The chosen capture is processed now (it becomes the baseline, identity
               // registration); the series' other processed captures go back in the durable queue
               // and the workers register them again, to it (new versions; the earlier results
               // stay in the history).
               const int requeued = ProcessCapture(ctx.store, c, ctx.pipeline, Actor(token));
               if (ctx.workers) ctx.workers->Notify();
               return JsonResponse(200, {{"baseline_capture_id", c.id},
                                         {"site", c.site},
                                         {"condition", ConditionName(c.condition)},
                                         {"requeued_captures", requeued}});
             });

  router.Add(
      "PUT", "/v1/captures/{id}/assessment",
      [&ctx](const HttpRequest& req, const PathParams& params) {
        const auto token = Authorize(ctx, req, {Role::kClinician, Role::kAdmin});
        const storage::Capture c = LoadCapture(ctx, params.at("id"));
        const json body = ParseBodyObject(req);
        json grades = json::object();
        const std::set<std::string> severity = {"erythema", "induration", "desquamation"};
        for (const auto& [key, value] : body.items()) {
          if (key == "note") continue;
          if (severity.count(key)) {
            if (!value.is_number_integer() || value.get<int>() < 0 || value.get<int>() > 4) {
              throw Error(ErrorCode::kInvalidArgument, key + " must be an integer grade 0-4");
            }
          } else if (key == "depigmentation_level") {
            const std::set<int> ladder = {0, 10, 25, 50, 75, 90, 100};
            if (!value.is_number_integer() || !ladder.count(value.get<int>())) {
              throw Error(ErrorCode::kInvalidArgument,
                          "depigmentation_level must be one of 0, 10, 25, 50, 75, 90, 100");
            }
          } else {
            throw Error(ErrorCode::kInvalidArgument, "unknown assessment field '" + key + "'");
          }
          grades[key] = value;
        }
        if (grades.empty()) throw Error(ErrorCode::kInvalidArgument, "no grades given");
        storage::NewAssessment a;
        a.capture_id = c.id;
        a.grades_json = grades.dump();
        a.note = StringField(body, "note").value_or("");
        const storage::Assessment saved = ctx.store.AppendAssessment(a, std::nullopt, Actor(token));
        Rescore(ctx, c, Actor(token));
        return JsonResponse(
            201, CaptureJson(ctx, token, *ctx.store.repository().FindCapture(c.id), true));
      });

  router.Add(
      "PUT", "/v1/captures/{id}/mask", [&ctx](const HttpRequest& req, const PathParams& params) {
        const auto token = Authorize(ctx, req, {Role::kClinician, Role::kAdmin});
        const storage::Capture c = LoadCapture(ctx, params.at("id"));
        const DecodedImage img = DecodeUpload(req.body, req.Header("content-type"), ctx.limits);
        if (img.media_type != "image/png") {
          throw Error(ErrorCode::kUnsupportedMedia, "a corrected mask must be a PNG");
        }
        if (img.bgr.cols != c.width || img.bgr.rows != c.height) {
          throw Error(ErrorCode::kInvalidArgument,
                      "mask is " + std::to_string(img.bgr.cols) + "x" +
                          std::to_string(img.bgr.rows) + " but the capture is " +
                          std::to_string(c.width) + "x" + std::to_string(c.height));
        }
        cv::Mat grey;
        cv::extractChannel(img.bgr, grey, 0);
        const cv::Mat mask = grey > 0;
        std::vector<unsigned char> png;
        cv::imencode(".png", mask, png);
        const std::string bytes(png.begin(), png.end());
        storage::NewAssessment a;
        a.capture_id = c.id;
        a.note = "corrected lesion mask";
        ctx.store.AppendAssessment(a, std::string_view(bytes), Actor(token));
        Append(ctx.store, c.id, storage::ResultKind::kMask, "lesion",
               storage::ResultSource::kClinician, "clinician-mask", std::nullopt,
               {{"pixels", cv::countNonZero(mask)}}, json::object(), {{"area", "clinician"}},
               Actor(token), bytes);
        Rescore(ctx, c, Actor(token));
        return JsonResponse(
            201, CaptureJson(ctx, token, *ctx.store.repository().FindCapture(c.id), true));
      });
}

std::string PatientResponseJson(storage::Store& store, const std::string& patient_id,
                                bool pseudonymise, const std::string& pseudonym_key) {
  ApiContext ctx{store, nullptr, nullptr, IntakeLimits{}, 0, pseudonym_key, PipelineOptions{}};
  storage::TokenInfo reader;
  reader.role = pseudonymise ? Role::kCoordinator : Role::kClinician;
  if (!store.repository().FindPatient(patient_id)) {
    throw Error(ErrorCode::kNotFound, "unknown patient '" + patient_id + "'");
  }
  return PatientResponse(ctx, reader, patient_id, std::nullopt).dump();
}

}  // namespace skintrack::service
