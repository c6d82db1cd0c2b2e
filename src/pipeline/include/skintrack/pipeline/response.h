// THE treatment response of a patient, in one place: per condition, the visits in time order,
// each scored from the latest capture of each of its sites (PASI / BSA % or T-VASI / F-VASI over
// the imaged sites) and compared with the first scored visit (the baseline visit): PASI50/75/90/
// 100 or VASI50/75/90, with per-site repigmentation from the registered change against each
// site's baseline capture. The API, the reports, the CSV / FHIR exports and the demo read this
// struct; its JSON (the body of GET /v1/patients/{patient}/response) is written by to_json.
#pragma once

#include <cstdint>
#include <map>
#include <nlohmann/json_fwd.hpp>
#include <optional>
#include <string>
#include <vector>

#include "skintrack/core/body_sites.h"
#include "skintrack/pipeline/pseudonym.h"
#include "skintrack/scoring/scores.h"

namespace skintrack::storage {
class Store;
}

namespace skintrack::pipeline {

struct VisitResponse {
  std::string visit;                       // the visit label, or the date (YYYY-MM-DD) without one
  std::int64_t date_ms = 0;                // captured_at of the visit's first capture
  std::vector<std::int64_t> capture_ids;   // the latest capture of each site, by site name
  std::vector<std::string> pending_sites;  // "site (capture N: status)": not scored yet
  // Psoriasis, when a site is scored:
  std::optional<scoring::PsoriasisVisitScore> pasi;
  std::optional<scoring::PasiResponse> pasi_response;
  // Vitiligo, when a site is scored:
  std::optional<scoring::VasiResult> vasi;
  std::optional<scoring::VasiResponse> vasi_response;
  std::map<std::string, scoring::Repigmentation> repigmentation;  // site -> against its baseline

  bool scored() const { return pasi.has_value() || vasi.has_value(); }
  // The response against the baseline visit (pasi_response or vasi_response; absent unscored).
  std::optional<double> change_percent() const;
  bool response_defined() const;
  std::string response_note() const;
};

struct ConditionResponse {
  Condition condition = Condition::kPsoriasis;
  std::vector<VisitResponse> visits;  // in time order; the first is the baseline visit
};

struct PatientResponse {
  std::string patient;  // the patient id, or the subject id when pseudonymised
  std::vector<ConditionResponse> conditions;  // psoriasis, vitiligo: those with visits
};

struct ResponseOptions {
  std::optional<Condition> condition;  // only this one (listed even without visits)
  // Name the patient by its subject id and visits by PseudonymisedVisitLabel (pseudonym.h).
  std::optional<PseudonymKey> pseudonymise;
};

// Throws Error(kNotFound) for an unknown patient, skintrack::Error from storage.
PatientResponse ComputePatientResponse(storage::Store& store, const std::string& patient_id,
                                       const ResponseOptions& options = {});

// The API's JSON (field names are the API contract: extend, do not rename).
void to_json(nlohmann::json& j, const VisitResponse& visit);
void to_json(nlohmann::json& j, const PatientResponse& response);

}  // namespace skintrack::pipeline
