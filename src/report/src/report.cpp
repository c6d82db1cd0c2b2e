#include "skintrack/report/report.h"

#include <nlohmann/json.hpp>

#include "exports.h"
#include "skintrack/core/error.h"
#include "skintrack/pipeline/response.h"
#include "skintrack/storage/store.h"

namespace skintrack::report {

ReportFormat ParseReportFormat(const std::string& text) {
  if (text == "html") return ReportFormat::kHtml;
  if (text == "json") return ReportFormat::kJson;
  if (text == "csv") return ReportFormat::kCsv;
  throw Error(ErrorCode::kInvalidArgument, "format must be html, json or csv, got '" + text + "'");
}

std::string PatientReport(storage::Store& store, const std::string& patient_id, ReportFormat format,
                          const std::string& study_id) {
  switch (format) {
    case ReportFormat::kJson:
      return nlohmann::json(pipeline::ComputePatientResponse(store, patient_id)).dump(2) + "\n";
    case ReportFormat::kCsv:
      return detail::WideCsv(detail::OnePatient(store, patient_id, study_id));
    case ReportFormat::kHtml:
      return detail::HtmlReport(store, pipeline::ComputePatientResponse(store, patient_id));
  }
  return "";
}

std::string ExportCohortCsv(storage::Store& store, const CohortExportOptions& options) {
  return detail::WideCsv(detail::LoadCohort(store, options));
}

std::string ExportCohortCsv(storage::Store& store, const pipeline::PseudonymKey& key) {
  return ExportCohortCsv(store, CohortExportOptions{key});
}

std::string ExportCohortFhir(storage::Store& store, const CohortExportOptions& options) {
  return detail::FhirBundle(store, detail::LoadCohort(store, options));
}

std::string ExportCohortFhir(storage::Store& store, const pipeline::PseudonymKey& key) {
  return ExportCohortFhir(store, CohortExportOptions{key});
}

std::string ExportRsCsv(storage::Store& store, const CohortExportOptions& options) {
  return detail::RsCsv(detail::LoadCohort(store, options));
}

std::string ExportRsDefine(storage::Store& store, const CohortExportOptions& options) {
  return detail::RsDefine(detail::LoadCohort(store, options));
}

}  // namespace skintrack::report
