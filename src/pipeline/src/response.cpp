#include "skintrack/pipeline/response.h"

#include <nlohmann/json.hpp>

#include "skintrack/core/error.h"
#include "skintrack/pipeline/results.h"
#include "skintrack/pipeline/time_format.h"
#include "skintrack/scoring/json.h"
#include "skintrack/storage/store.h"

namespace skintrack::pipeline {

using nlohmann::json;

std::optional<double> VisitResponse::change_percent() const {
  if (pasi_response && pasi_response->defined) return pasi_response->change_percent;
  if (vasi_response && vasi_response->defined) return vasi_response->change_percent;
  return std::nullopt;
}

bool VisitResponse::response_defined() const { return change_percent().has_value(); }

std::string VisitResponse::response_note() const {
  if (pasi_response) return pasi_response->note;
  if (vasi_response) return vasi_response->note;
  return "";
}

namespace {

// A site's PASI input as its stored score used it: the area of the site's score (the site's
// area in the baseline frame when the capture is registered, see MeasureSiteArea), not the
// photo's own fraction, and the grades with their provenance.
scoring::PsoriasisSiteMeasurement PasiSiteFromStored(const std::string& site, const json& payload,
                                                     const storage::Result& measurements) {
  const json& region = payload.at("pasi").at("regions").at(0);
  scoring::PsoriasisSiteMeasurement m;
  m.site = site;
  m.lesion_fraction =
      region.value("area_percent", 100.0 * measurements.value.value_or(0.0)) / 100.0;
  m.area_provenance = scoring::ParseProvenance(region.value("area_provenance", "measured"));
  region.at("erythema").get_to(m.erythema);
  region.at("induration").get_to(m.induration);
  region.at("desquamation").get_to(m.desquamation);
  return m;
}

scoring::VasiSiteInput VasiSiteFromStored(const std::string& site, const json& payload) {
  const json& s = payload.at("sites").at(0);
  scoring::VasiSiteInput v;
  v.site = site;
  v.envelope_fraction = s.value("envelope_fraction", 0.0);
  v.depigmentation_percent = s.value("depigmentation_percent", 0.0);
  v.provenance = scoring::ParseProvenance(s.value("provenance", "measured"));
  if (s.value("level_provenance", "measured") == std::string("clinician")) {
    v.clinician_level = s.value("level", 0);
  }
  return v;
}

// Pseudonymised responses (coordinators, cohort exports) key visits by the label they may see.
std::string VisitKey(const storage::Capture& c, const std::optional<PseudonymKey>& pseudonymise) {
  if (c.visit.empty()) return FormatRfc3339(c.captured_at).substr(0, 10);
  return pseudonymise ? PseudonymisedVisitLabel(*pseudonymise, c.visit) : c.visit;
}

// One visit from the latest capture of each site; `baseline_value` is set by the first scored
// visit.
VisitResponse ScoreVisit(storage::Store& store, Condition condition, const std::string& key,
                         std::int64_t date_ms, const std::map<std::string, storage::Capture>& sites,
                         std::optional<double>& baseline_value) {
  VisitResponse visit;
  visit.visit = key;
  visit.date_ms = date_ms;
  std::vector<scoring::PsoriasisSiteMeasurement> pso;
  std::vector<scoring::VasiSiteInput> vas;
  const bool psoriasis = condition == Condition::kPsoriasis;
  for (const auto& [site, c] : sites) {
    visit.capture_ids.push_back(c.id);
    const auto score = LatestResult(store, c.id, psoriasis ? result::kPasiSite : result::kVasiSite);
    const auto meas = LatestResult(store, c.id, result::kMeasurements);
    if (!score || !meas) {
      visit.pending_sites.push_back(site + " (capture " + std::to_string(c.id) + ": " +
                                    storage::CaptureStatusName(c.status) + ")");
      continue;
    }
    const json payload = json::parse(score->payload_json);
    if (psoriasis) {
      pso.push_back(PasiSiteFromStored(site, payload, *meas));
    } else {
      vas.push_back(VasiSiteFromStored(site, payload));
    }
  }
  if (!pso.empty()) {
    visit.pasi = scoring::ScorePsoriasisVisit(pso);
    if (!baseline_value) baseline_value = visit.pasi->pasi.pasi;
    visit.pasi_response = scoring::ComputePasiResponse(*baseline_value, visit.pasi->pasi.pasi);
  } else if (!vas.empty()) {
    visit.vasi = scoring::ComputeVasi(vas);
    if (!baseline_value) baseline_value = visit.vasi->t_vasi;
    visit.vasi_response = scoring::ComputeVasiResponse(*baseline_value, visit.vasi->t_vasi);
    // Repigmentation per site from the registered change against the site's baseline.
    for (const auto& [site, c] : sites) {
      if (const auto change = LatestResult(store, c.id, result::kChange)) {
        const json p = json::parse(change->payload_json);
        if (p.contains("repigmentation")) {
          visit.repigmentation[site] = p["repigmentation"].get<scoring::Repigmentation>();
        }
      }
    }
  }
  return visit;
}

ConditionResponse ResponseForCondition(storage::Store& store, const std::string& patient,
                                       Condition condition,
                                       const std::optional<PseudonymKey>& pseudonymise) {
  storage::SeriesQuery q;
  q.patient_id = patient;
  q.condition = condition;
  // Visits in time order; within a visit the latest capture of each site counts.
  std::vector<std::string> order;
  std::map<std::string, std::map<std::string, storage::Capture>> visits;
  std::map<std::string, storage::TimeMs> visit_time;
  for (const storage::SeriesPoint& p : store.repository().TimeSeries(q)) {
    const std::string key = VisitKey(p.capture, pseudonymise);
    if (!visits.count(key)) {
      order.push_back(key);
      visit_time[key] = p.capture.captured_at;
    }
    visits[key][p.capture.site] = p.capture;
  }
  ConditionResponse out;
  out.condition = condition;
  std::optional<double> baseline_value;
  for (const std::string& key : order) {
    out.visits.push_back(
        ScoreVisit(store, condition, key, visit_time[key], visits[key], baseline_value));
  }
  return out;
}

}  // namespace

PatientResponse ComputePatientResponse(storage::Store& store, const std::string& patient_id,
                                       const ResponseOptions& options) {
  if (!store.repository().FindPatient(patient_id)) {
    throw Error(ErrorCode::kNotFound, "unknown patient '" + patient_id + "'");
  }
  PatientResponse out;
  out.patient = options.pseudonymise ? SubjectId(*options.pseudonymise, patient_id) : patient_id;
  for (Condition c : {Condition::kPsoriasis, Condition::kVitiligo}) {
    if (options.condition && *options.condition != c) continue;
    ConditionResponse r = ResponseForCondition(store, patient_id, c, options.pseudonymise);
    if (!r.visits.empty() || options.condition) out.conditions.push_back(std::move(r));
  }
  return out;
}

void to_json(json& j, const VisitResponse& v) {
  j = {{"visit", v.visit}, {"date", FormatRfc3339(v.date_ms)}, {"captures", v.capture_ids}};
  if (!v.pending_sites.empty()) j["pending_sites"] = v.pending_sites;
  if (v.pasi) {
    j["score"] = *v.pasi;
    j["pasi"] = v.pasi->pasi.pasi;
    j["bsa_percent"] = v.pasi->bsa_percent;
    j["response"] = *v.pasi_response;
  } else if (v.vasi) {
    j["score"] = *v.vasi;
    j["t_vasi"] = v.vasi->t_vasi;
    if (v.vasi->face_imaged) j["f_vasi"] = v.vasi->f_vasi;
    j["response"] = *v.vasi_response;
    json repigmentation = json::object();
    for (const auto& [site, r] : v.repigmentation) repigmentation[site] = r;
    j["repigmentation"] = repigmentation;
  }
}

void to_json(json& j, const PatientResponse& r) {
  json conditions = json::array();
  for (const ConditionResponse& c : r.conditions) {
    conditions.push_back(
        {{"condition", ConditionName(c.condition)},
         {"patient", r.patient},
         {"baseline_visit", c.visits.empty() ? json(nullptr) : json(c.visits.front().visit)},
         {"visits", c.visits},
         {"algorithm_version", scoring::kScoringVersion}});
  }
  j = {{"patient", r.patient}, {"conditions", conditions}};
}

}  // namespace skintrack::pipeline
