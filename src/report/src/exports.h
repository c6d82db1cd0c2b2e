// The writers behind report.h and cohort.h (private to src/report): each reads the typed
// PatientResponse.
#pragma once

#include <map>
#include <set>
#include <sstream>
#include <string>
#include <vector>

#include "skintrack/pipeline/pseudonym.h"
#include "skintrack/pipeline/response.h"
#include "skintrack/report/cohort.h"
#include "skintrack/storage/store.h"

namespace skintrack::report::detail {

// html_report.cpp: the report of `response` (not pseudonymised: the page names the patient),
// with the captures' figures read from `store`.
std::string HtmlReport(storage::Store& store, const pipeline::PatientResponse& response);

// The responses an export writes, computed once: every subject (pseudonymised for the cohort
// exports) with the study id and the study-wide visit numbers of their visits.
struct Cohort {
  std::string study_id;
  std::vector<pipeline::PatientResponse> subjects;
  std::map<std::string, int> visit_numbers;  // visit label -> VISITNUM (cohort.h)
  int VisitNumber(const std::string& label) const { return visit_numbers.at(label); }
};
// Every patient of `store`, pseudonymised with options.key. Throws as CheckStudyId.
Cohort LoadCohort(storage::Store& store, const CohortExportOptions& options);
// One patient (not pseudonymised), for the patient report's CSV.
Cohort OnePatient(storage::Store& store, const std::string& patient_id,
                  const std::string& study_id);

// The provenances of a visit's sub-scores ("clinician", "measured", ...).
std::set<std::string> VisitProvenance(const pipeline::VisitResponse& v);
// A CSV field, quoted (RFC 4180) when it holds a comma, a quote or a line break.
std::string CsvField(const std::string& text);

// csv_export.cpp: the wide CSV, one row per (subject, condition, visit).
inline constexpr char kCsvHeader[] =
    "study_id,subject_id,condition,visit,visitnum,visit_date,pasi,pasi_continuous,pasi_complete,"
    "missing_regions,pasi_head_neck,pasi_upper_limbs,pasi_trunk,pasi_lower_limbs,bsa_percent,"
    "t_vasi,f_vasi,change_percent,pasi_unit,bsa_unit,vasi_unit,change_unit,pasi50,pasi75,pasi90,"
    "pasi100,vasi50,vasi75,vasi90,algorithm_version,provenance,capture_ids\n";
std::string WideCsv(const Cohort& cohort);

// rs_export.cpp: the RS dataset and its define-style JSON (cohort.h).
std::string RsCsv(const Cohort& cohort);
std::string RsDefine(const Cohort& cohort);

// fhir_export.cpp: the cohort as a FHIR R4 Bundle.
std::string FhirBundle(storage::Store& store, const Cohort& cohort);

}  // namespace skintrack::report::detail
