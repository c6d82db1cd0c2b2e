// The writers behind report.h (private to src/report): each reads the typed PatientResponse.
#pragma once

#include <sstream>
#include <string>

#include "skintrack/pipeline/pseudonym.h"
#include "skintrack/pipeline/response.h"
#include "skintrack/storage/store.h"

namespace skintrack::report::detail {

// html_report.cpp: the report of `response` (not pseudonymised: the page names the patient),
// with the captures' figures read from `store`.
std::string HtmlReport(storage::Store& store, const pipeline::PatientResponse& response);

// csv_export.cpp: one row per (condition, visit) of `response`; `subject` in the first column.
inline constexpr char kCsvHeader[] =
    "subject_id,condition,visit,visit_date,pasi,pasi_continuous,pasi_complete,missing_regions,"
    "pasi_head_neck,pasi_upper_limbs,pasi_trunk,pasi_lower_limbs,bsa_percent,t_vasi,f_vasi,"
    "change_percent,pasi50,pasi75,pasi90,pasi100,vasi50,vasi75,vasi90,algorithm_version,"
    "provenance,capture_ids\n";
void CsvRows(const pipeline::PatientResponse& response, const std::string& subject,
             std::ostringstream& out);

// fhir_export.cpp: the cohort as a FHIR R4 Bundle, subject ids from `key`.
std::string FhirBundle(storage::Store& store, const pipeline::PseudonymKey& key);

}  // namespace skintrack::report::detail
