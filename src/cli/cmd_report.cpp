// `skintrack report` and `skintrack export`: what clinicians read and what trials load.
#include <fstream>
#include <iostream>
#include <ostream>

#include "command.h"
#include "dicom_export.h"
#include "skintrack/core/error.h"
#include "skintrack/pipeline/pseudonym.h"
#include "skintrack/report/cohort.h"
#include "skintrack/report/report.h"
#include "skintrack/storage/store.h"

namespace skintrack::cli {
namespace {

void WriteOut(const std::string& text, const std::optional<std::string>& path, std::ostream& out) {
  if (!path) {
    out << text;
    return;
  }
  const std::string tmp = *path + ".tmp";
  {
    std::ofstream f(tmp, std::ios::binary | std::ios::trunc);
    f << text;
    if (!f) throw Error(ErrorCode::kIo, "cannot write " + tmp);
  }
  if (std::rename(tmp.c_str(), path->c_str()) != 0) {
    throw Error(ErrorCode::kIo, "cannot write " + *path);
  }
}

constexpr char kReportUsage[] =
    R"(usage: skintrack report --data-dir DIR --patient P [--format html|json|csv] [--out FILE]

One patient's treatment-response report: per condition, charts of PASI and BSA % (with the PASI75
and PASI90 thresholds against baseline) or T-VASI and repigmentation, a table per visit with
responder flags and provenance, and each capture's lesion overlay and change map. HTML is
self-contained (images embedded) and printable. Standard output unless --out. The data directory
must not be held by a running server.
)";

int RunReport(Args& args, std::ostream& out) {
  const std::string dir = args.Require("data-dir");
  const std::string patient = args.Require("patient");
  const auto format = report::ParseReportFormat(args.Get("format").value_or("html"));
  const auto path = args.Get("out");
  args.CheckNoneLeft();
  auto store = storage::Store::OpenDataDir(dir);
  WriteOut(report::PatientReport(*store, patient, format, report::LoadStudyId(dir)), path, out);
  if (path) std::cerr << "wrote " << *path << "\n";
  return 0;
}

constexpr char kExportUsage[] =
    R"(usage: skintrack export --data-dir DIR --format csv|rs|rs-define|fhir [--study-id ID]
                        [--out FILE]
       skintrack export --data-dir DIR --format dicom --capture ID --out FILE.dcm

Cohort export with pseudonymised subject ids (S-...); see docs/exports.md. csv: one row per
subject, condition and visit (STUDYID, VISITNUM, PASI with regional parts or T-/F-VASI, BSA %,
units, responder flags, algorithm version, provenance). rs: the SDTM-shaped RS dataset, one row
per test result; rs-define: the define-style JSON of its columns. fhir: an R4 Bundle of Patient,
Device, Media and Observation resources (local code system urn:skintrack:fhir:codes; there is no
LOINC or SNOMED CT code for PASI or VASI; body sites in SNOMED CT). The study id is the data
directory's (`skintrack study`) unless --study-id. Standard output unless --out. dicom: one
capture as a VL Photographic Image for a PACS (see `skintrack dicom --help`, which also pushes
to one). A running server serves the same exports (GET /v1/exports/...).
)";

std::string CohortExport(storage::Store& store, const std::string& format,
                         const report::CohortExportOptions& options) {
  if (format == "csv") return report::ExportCohortCsv(store, options);
  if (format == "rs") return report::ExportRsCsv(store, options);
  if (format == "rs-define") return report::ExportRsDefine(store, options);
  return report::ExportCohortFhir(store, options);
}

int RunExport(Args& args, std::ostream& out) {
  const std::string dir = args.Require("data-dir");
  const std::string format = args.Require("format");
  if (format == "dicom") {  // one capture's photo for a PACS (cmd_dicom.cpp)
    const long long capture = ParseInt(args.Require("capture"), "--capture");
    const std::string out_path = args.Require("out");
    args.CheckNoneLeft();
    return ExportCaptureDicom(dir, capture, out_path, out);
  }
  const auto path = args.Get("out");
  const auto study_id = args.Get("study-id");
  args.CheckNoneLeft();
  if (format != "csv" && format != "rs" && format != "rs-define" && format != "fhir") {
    throw Error(ErrorCode::kInvalidArgument,
                "--format must be csv, rs, rs-define, fhir or dicom, got '" + format + "'");
  }
  report::CohortExportOptions options;
  options.study_id = study_id ? *study_id : report::LoadStudyId(dir);
  report::CheckStudyId(options.study_id);  // before the store is opened: nothing written
  auto store = storage::Store::OpenDataDir(dir);
  options.key = pipeline::LoadOrCreatePseudonymKey(dir);
  WriteOut(CohortExport(*store, format, options), path, out);
  storage::AuditEntry audit;
  audit.actor = "cli";
  audit.action = "cohort.export";
  audit.object = "cohort";
  audit.details_json = "{\"format\":\"" + format + "\"}";
  store->repository().AppendAudit(audit);
  if (path) std::cerr << "wrote " << *path << "\n";
  return 0;
}

const bool kReport =
    RegisterCommand({"report",
                     "write a patient's treatment-response report (html, json, csv)",
                     kReportUsage,
                     {},
                     RunReport});
const bool kExport =
    RegisterCommand({"export",
                     "export the cohort for a trial (csv, SDTM RS, FHIR R4 bundle, DICOM)",
                     kExportUsage,
                     {},
                     RunExport});

}  // namespace
}  // namespace skintrack::cli
