// Reports people look at and exports trials load, all from the typed PatientResponse
// (skintrack/pipeline/response.h): a self-contained HTML report per patient (charts and overlays
// embedded, printable), the same data as JSON and CSV, and cohort exports as CSV (one row per
// subject-visit, shaped for CDISC SDTM RS) and as a FHIR R4 Bundle of Observations.
// All read a Store (the server must not hold the data directory, or pass the server's store).
#pragma once

#include <string>

#include "skintrack/pipeline/pseudonym.h"
#include "skintrack/report/cohort.h"

namespace skintrack::storage {
class Store;
}

namespace skintrack::report {

enum class ReportFormat { kHtml, kJson, kCsv };
// "html" | "json" | "csv"; Error(kInvalidArgument) otherwise.
ReportFormat ParseReportFormat(const std::string& text);

// One patient's report (named by the patient id; the CSV carries `study_id`). Throws
// Error(kNotFound) for an unknown patient.
std::string PatientReport(storage::Store& store, const std::string& patient_id, ReportFormat format,
                          const std::string& study_id = kDefaultStudyId);

// Cohort CSV: one row per subject-visit and condition, every patient, subject ids pseudonymised,
// with STUDYID, VISITNUM (cohort.h) and unit columns (docs/exports.md).
std::string ExportCohortCsv(storage::Store& store, const CohortExportOptions& options);
// The same with kDefaultStudyId.
std::string ExportCohortCsv(storage::Store& store, const pipeline::PseudonymKey& key);

// Cohort FHIR R4 Bundle (type collection): Patient (subject id only), Device (the algorithm
// versions), Media (one per capture, body site in SNOMED CT) and Observation resources (one per
// score and visit, with components per region or site, derivedFrom the captures' Media; one per
// responder test, derivedFrom the PASI / T-VASI Observations). Resource ids and the Bundle's
// identifier are deterministic. Local code system kSkintrackCodeSystem: no LOINC or SNOMED CT
// code exists for PASI or VASI.
std::string ExportCohortFhir(storage::Store& store, const CohortExportOptions& options);
// The same with kDefaultStudyId.
std::string ExportCohortFhir(storage::Store& store, const pipeline::PseudonymKey& key);

inline constexpr const char* kSkintrackCodeSystem = "urn:skintrack:fhir:codes";

}  // namespace skintrack::report
