// What a trial files (docs/exports.md): the study id of a data directory, the visit numbers of
// the exports (SDTM VISITNUM), and the SDTM-shaped RS dataset with its define-style description.
// Every cohort export is pseudonymised (subject ids from pipeline/pseudonym.h) for every caller,
// the CLI and the API alike.
#pragma once

#include <cstdint>
#include <map>
#include <string>
#include <vector>

#include "skintrack/pipeline/pseudonym.h"

namespace skintrack::storage {
class Store;
}

namespace skintrack::report {

// --- STUDYID: a data-directory setting, the one-line file `study-id` of the data directory ---
inline constexpr const char* kDefaultStudyId = "SKINTRACK";
inline constexpr const char* kStudyIdFile = "study-id";
// Throws Error(kInvalidArgument) unless `id` is 1-20 characters of A-Z, 0-9, '-' and '_' (SDTM
// STUDYID is text; upper case keeps it one spelling across datasets).
void CheckStudyId(const std::string& id);
// The data directory's study id, kDefaultStudyId when the file is absent. Throws Error(kIo) when
// it cannot be read, Error(kInvalidArgument) when it holds an invalid id.
std::string LoadStudyId(const std::string& data_dir);
// Writes the file (through a temporary file and a rename). Throws as CheckStudyId, Error(kIo).
void SaveStudyId(const std::string& data_dir, const std::string& id);

// --- VISITNUM ---
struct VisitOccurrence {
  std::string label;         // the visit label (or YYYY-MM-DD when the capture had none)
  std::int64_t date_ms = 0;  // when it happened (the visit's first capture)
};
// Numbers 1..n for the distinct labels of `visits`, in this order: "screening", "baseline", then
// day-N / week-N / month-N by their time from baseline (a month is 30.4375 days; week-8 after
// week-2 and before week-12), then visit-N / v-N / bare N by N, then fu-N by N, then every other
// label (dates, redacted labels) by its earliest date. Ties go to the earlier date, then the label.
// Case-insensitive; '-' or '_' between unit and number optional (pipeline::IsSafeVisitLabel).
// Numbers are study-wide: the same label has the same number for every subject. Never throws.
std::map<std::string, int> VisitNumbers(const std::vector<VisitOccurrence>& visits);

// --- the exports ---
struct CohortExportOptions {
  pipeline::PseudonymKey key;              // the data directory's pseudonym key
  std::string study_id = kDefaultStudyId;  // STUDYID (checked by CheckStudyId)
};

// SDTM-shaped RS dataset: one row per test result (PASI, PASICONT, BSA, PASI50..PASI100; TVASI,
// FVASI, VASI50..VASI90) per subject and scored visit; header STUDYID,DOMAIN,USUBJID,RSSEQ,
// RSTESTCD,RSTEST,RSCAT,RSORRES,RSORRESU,RSSTRESC,RSSTRESN,RSSTRESU,VISITNUM,VISIT,RSDTC,RSEVAL.
// Throws as CheckStudyId and skintrack::Error from storage.
std::string ExportRsCsv(storage::Store& store, const CohortExportOptions& options);
// The define-style JSON of the RS dataset above for the same data: per column name, label, type,
// length (the longest value), format, origin and codelist.
std::string ExportRsDefine(storage::Store& store, const CohortExportOptions& options);

}  // namespace skintrack::report
