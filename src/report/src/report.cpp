#include "skintrack/report/report.h"

#include <nlohmann/json.hpp>
#include <sstream>

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

std::string PatientReport(storage::Store& store, const std::string& patient_id,
                          ReportFormat format) {
  const pipeline::PatientResponse response = pipeline::ComputePatientResponse(store, patient_id);
  switch (format) {
    case ReportFormat::kJson:
      return nlohmann::json(response).dump(2) + "\n";
    case ReportFormat::kCsv: {
      std::ostringstream out;
      out << detail::kCsvHeader;
      detail::CsvRows(response, patient_id, out);
      return out.str();
    }
    case ReportFormat::kHtml:
      return detail::HtmlReport(store, response);
  }
  return "";
}

std::string ExportCohortCsv(storage::Store& store, const pipeline::PseudonymKey& key) {
  std::ostringstream out;
  out << detail::kCsvHeader;
  pipeline::ResponseOptions options;
  options.pseudonymise = key;
  for (const storage::Patient& p : store.repository().ListPatients()) {
    const pipeline::PatientResponse response =
        pipeline::ComputePatientResponse(store, p.info.id, options);
    detail::CsvRows(response, response.patient, out);
  }
  return out.str();
}

std::string ExportCohortFhir(storage::Store& store, const pipeline::PseudonymKey& key) {
  return detail::FhirBundle(store, key);
}

}  // namespace skintrack::report
