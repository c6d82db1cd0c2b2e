// The cohort an export writes (exports.h), computed once so that every row of an export sees the
// same visit numbers.
#include "exports.h"

namespace skintrack::report::detail {
namespace {

void NumberVisits(Cohort& cohort) {
  std::vector<VisitOccurrence> visits;
  for (const pipeline::PatientResponse& s : cohort.subjects) {
    for (const pipeline::ConditionResponse& c : s.conditions) {
      for (const pipeline::VisitResponse& v : c.visits) visits.push_back({v.visit, v.date_ms});
    }
  }
  cohort.visit_numbers = VisitNumbers(visits);
}

}  // namespace

Cohort LoadCohort(storage::Store& store, const CohortExportOptions& options) {
  CheckStudyId(options.study_id);
  Cohort cohort;
  cohort.study_id = options.study_id;
  pipeline::ResponseOptions response_options;
  response_options.pseudonymise = options.key;
  for (const storage::Patient& p : store.repository().ListPatients()) {
    cohort.subjects.push_back(pipeline::ComputePatientResponse(store, p.info.id, response_options));
  }
  NumberVisits(cohort);
  return cohort;
}

Cohort OnePatient(storage::Store& store, const std::string& patient_id,
                  const std::string& study_id) {
  CheckStudyId(study_id);
  Cohort cohort;
  cohort.study_id = study_id;
  cohort.subjects.push_back(pipeline::ComputePatientResponse(store, patient_id));
  NumberVisits(cohort);
  return cohort;
}

std::set<std::string> VisitProvenance(const pipeline::VisitResponse& v) {
  std::set<std::string> prov;
  if (v.pasi) {
    for (const scoring::PasiRegionScore& r : v.pasi->pasi.regions) {
      prov.insert(scoring::ProvenanceName(r.input.area_provenance));
      prov.insert(scoring::ProvenanceName(r.input.erythema.provenance));
      prov.insert(scoring::ProvenanceName(r.input.induration.provenance));
      prov.insert(scoring::ProvenanceName(r.input.desquamation.provenance));
    }
  }
  if (v.vasi) {
    for (const scoring::VasiSiteScore& s : v.vasi->sites) {
      prov.insert(scoring::ProvenanceName(s.level_provenance));
    }
  }
  return prov;
}

std::string CsvField(const std::string& text) {
  if (text.find_first_of(",\"\r\n") == std::string::npos) return text;
  std::string out = "\"";
  for (char c : text) {
    if (c == '"') out.push_back('"');
    out.push_back(c);
  }
  return out + "\"";
}

}  // namespace skintrack::report::detail
