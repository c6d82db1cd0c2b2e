// The SDTM-shaped RS (Disease Response) dataset and its define-style JSON (cohort.h): one record
// per test result, the scores and the responder flags of the wide CSV, from the same Cohort.
#include <algorithm>
#include <nlohmann/json.hpp>

#include "exports.h"
#include "skintrack/pipeline/time_format.h"
#include "text.h"

namespace skintrack::report::detail {
namespace {

using nlohmann::json;
using pipeline::VisitResponse;

struct Test {
  const char* code;  // RSTESTCD: <= 8 characters, upper case
  const char* name;  // RSTEST: <= 40 characters
};
constexpr Test kPasi{"PASI", "PASI Total Score (imaged regions)"};
constexpr Test kPasiCont{"PASICONT", "PASI Continuous-Area Variant"};
constexpr Test kBsa{"BSA", "Involved Body Surface Area (imaged)"};
constexpr Test kPasi50{"PASI50", "PASI 50 % Improvement From Baseline"};
constexpr Test kPasi75{"PASI75", "PASI 75 % Improvement From Baseline"};
constexpr Test kPasi90{"PASI90", "PASI 90 % Improvement From Baseline"};
constexpr Test kPasi100{"PASI100", "PASI 100 % Improvement From Baseline"};
constexpr Test kTvasi{"TVASI", "Total VASI (imaged sites)"};
constexpr Test kFvasi{"FVASI", "Facial VASI"};
constexpr Test kVasi50{"VASI50", "T-VASI 50 % Improvement From Baseline"};
constexpr Test kVasi75{"VASI75", "T-VASI 75 % Improvement From Baseline"};
constexpr Test kVasi90{"VASI90", "T-VASI 90 % Improvement From Baseline"};
constexpr Test kTests[] = {kPasi,    kPasiCont, kBsa,   kPasi50, kPasi75, kPasi90,
                           kPasi100, kTvasi,    kFvasi, kVasi50, kVasi75, kVasi90};

constexpr const char* kUnits[] = {"score", "%", "hand units"};
constexpr const char* kInvestigator = "INVESTIGATOR";
constexpr const char* kIndependent = "INDEPENDENT ASSESSOR";

constexpr const char* kColumns[] = {
    "STUDYID",  "DOMAIN",   "USUBJID",  "RSSEQ",    "RSTESTCD", "RSTEST", "RSCAT", "RSORRES",
    "RSORRESU", "RSSTRESC", "RSSTRESN", "RSSTRESU", "VISITNUM", "VISIT",  "RSDTC", "RSEVAL"};

using Record = std::vector<std::string>;  // in kColumns order

class RsBuilder {
 public:
  explicit RsBuilder(const Cohort& cohort) : cohort_(cohort) {}

  std::vector<Record> Build() {
    for (const pipeline::PatientResponse& s : cohort_.subjects) {
      seq_ = 0;
      for (const pipeline::ConditionResponse& c : s.conditions) {
        for (const VisitResponse& v : c.visits) {
          if (v.scored()) Visit(s.patient, c.condition, v);
        }
      }
    }
    return std::move(records_);
  }

 private:
  void Visit(const std::string& subject, Condition condition, const VisitResponse& v) {
    subject_ = subject;
    visit_ = &v;
    category_ = condition == Condition::kPsoriasis ? "PSORIASIS" : "VITILIGO";
    // Scores from a clinician's entries are the investigator's; the rest are computed from the
    // images by skintrack, an assessor independent of the site staff.
    eval_ = VisitProvenance(v).count("clinician") ? kInvestigator : kIndependent;
    const bool defined = v.response_defined();
    if (v.pasi) {
      Number(kPasi, v.pasi->pasi.pasi, "score");
      Number(kPasiCont, v.pasi->pasi.pasi_continuous, "score");
      Number(kBsa, v.pasi->bsa_percent, "%");
      if (defined && v.pasi_response) {
        Flag(kPasi50, v.pasi_response->pasi50);
        Flag(kPasi75, v.pasi_response->pasi75);
        Flag(kPasi90, v.pasi_response->pasi90);
        Flag(kPasi100, v.pasi_response->pasi100);
      }
    }
    if (v.vasi) {
      Number(kTvasi, v.vasi->t_vasi, "hand units");
      if (v.vasi->face_imaged) Number(kFvasi, v.vasi->f_vasi, "hand units");
      if (defined && v.vasi_response) {
        Flag(kVasi50, v.vasi_response->vasi50);
        Flag(kVasi75, v.vasi_response->vasi75);
        Flag(kVasi90, v.vasi_response->vasi90);
      }
    }
  }

  void Number(const Test& t, double value, const char* unit) {
    const std::string text = Num(value, 3);
    Add(t, text, unit, text, text);
  }
  void Flag(const Test& t, bool yes) { Add(t, yes ? "Y" : "N", "", yes ? "Y" : "N", ""); }

  void Add(const Test& t, const std::string& orres, const std::string& unit,
           const std::string& stresc, const std::string& stresn) {
    // RSDTC: ISO 8601 date-time in UTC, without a zone designator (SDTM --DTC).
    const std::string dtc = pipeline::FormatRfc3339(visit_->date_ms).substr(0, 19);
    records_.push_back({cohort_.study_id, "RS", subject_, std::to_string(++seq_), t.code, t.name,
                        category_, orres, unit, stresc, stresn, unit,
                        std::to_string(cohort_.VisitNumber(visit_->visit)), visit_->visit, dtc,
                        eval_});
  }

  const Cohort& cohort_;
  std::vector<Record> records_;
  std::string subject_, category_, eval_;
  const VisitResponse* visit_ = nullptr;
  int seq_ = 0;
};

json Codelist(const std::string& name, const std::vector<std::string>& terms) {
  return {{"name", name}, {"terms", terms}};
}

struct ColumnInfo {
  const char* label;
  const char* type;  // define.xml data types: text, integer, float, datetime
  const char* origin;
};

ColumnInfo Info(const std::string& name) {
  if (name == "STUDYID") return {"Study Identifier", "text", "Assigned"};
  if (name == "DOMAIN") return {"Domain Abbreviation", "text", "Assigned"};
  if (name == "USUBJID") return {"Unique Subject Identifier", "text", "Derived"};
  if (name == "RSSEQ") return {"Sequence Number", "integer", "Derived"};
  if (name == "RSTESTCD") return {"Assessment Short Name", "text", "Assigned"};
  if (name == "RSTEST") return {"Assessment Name", "text", "Assigned"};
  if (name == "RSCAT") return {"Category for Assessment", "text", "Assigned"};
  if (name == "RSORRES") return {"Result or Finding in Original Units", "text", "Derived"};
  if (name == "RSORRESU") return {"Original Units", "text", "Assigned"};
  if (name == "RSSTRESC") return {"Character Result/Finding in Std Format", "text", "Derived"};
  if (name == "RSSTRESN") return {"Numeric Result/Finding in Standard Units", "float", "Derived"};
  if (name == "RSSTRESU") return {"Standard Units", "text", "Assigned"};
  if (name == "VISITNUM") return {"Visit Number", "integer", "Derived"};
  if (name == "VISIT") return {"Visit Name", "text", "Collected"};
  if (name == "RSDTC") return {"Date/Time of Assessment", "datetime", "Collected"};
  return {"Evaluator", "text", "Derived"};  // RSEVAL
}

json ColumnJson(size_t index, const std::vector<Record>& records, const Cohort& cohort) {
  const std::string name = kColumns[index];
  const ColumnInfo info = Info(name);
  size_t length = 1;
  for (const Record& r : records) length = std::max(length, r[index].size());
  json c = {{"name", name},
            {"label", info.label},
            {"type", info.type},
            {"length", std::string(info.type) == "text" ? json(length) : json(8)},
            {"origin", info.origin},
            {"mandatory", name != "RSORRESU" && name != "RSSTRESN" && name != "RSSTRESU"}};
  std::vector<std::string> codes, tests;
  for (const Test& t : kTests) {
    codes.emplace_back(t.code);
    tests.emplace_back(t.name);
  }
  const std::vector<std::string> units(std::begin(kUnits), std::end(kUnits));
  if (name == "STUDYID") c["codelist"] = Codelist("STUDYID", {cohort.study_id});
  if (name == "DOMAIN") c["codelist"] = Codelist("DOMAIN", {"RS"});
  if (name == "RSTESTCD") c["codelist"] = Codelist("RSTESTCD (sponsor-defined)", codes);
  if (name == "RSTEST") c["codelist"] = Codelist("RSTEST (sponsor-defined)", tests);
  if (name == "RSCAT") c["codelist"] = Codelist("RSCAT", {"PSORIASIS", "VITILIGO"});
  if (name == "RSORRESU" || name == "RSSTRESU") c["codelist"] = Codelist("UNIT", units);
  if (name == "RSEVAL") c["codelist"] = Codelist("EVAL", {kIndependent, kInvestigator});
  if (name == "RSORRES" || name == "RSSTRESC") {
    c["format"] = "a number with 3 decimals, or Y / N for the responder tests";
  }
  if (name == "RSDTC") c["format"] = "ISO 8601 YYYY-MM-DDThh:mm:ss (UTC)";
  if (info.origin == std::string("Derived")) {
    if (name == "USUBJID") {
      c["method"] = "S- + 12 hex digits of a keyed hash of the patient id (pseudonym.key)";
    } else if (name == "VISITNUM") {
      c["method"] =
          "rank of the visit label: screening, baseline, day/week/month-N by time, "
          "visit-N, fu-N, others by date (docs/exports.md)";
    } else if (name != "RSSEQ") {
      c["method"] = std::string("computed by ") + scoring::kScoringVersion;
    }
  }
  return c;
}

}  // namespace

std::string RsCsv(const Cohort& cohort) {
  std::string out = Join(std::vector<std::string>(std::begin(kColumns), std::end(kColumns)), ",");
  out += "\n";
  for (const Record& r : RsBuilder(cohort).Build()) {
    std::vector<std::string> fields;
    for (const std::string& f : r) fields.push_back(CsvField(f));
    out += Join(fields, ",") + "\n";
  }
  return out;
}

std::string RsDefine(const Cohort& cohort) {
  const std::vector<Record> records = RsBuilder(cohort).Build();
  json columns = json::array();
  for (size_t i = 0; i < std::size(kColumns); ++i)
    columns.push_back(ColumnJson(i, records, cohort));
  const json define = {{"standard", "CDISC SDTMIG 3.3 shaped (RS); not validated for submission"},
                       {"study_id", cohort.study_id},
                       {"dataset", "RS"},
                       {"label", "Disease Response and Clin Classification"},
                       {"class", "FINDINGS"},
                       {"structure", "One record per test per visit per subject"},
                       {"keys", {"STUDYID", "USUBJID", "RSTESTCD", "VISITNUM"}},
                       {"records", records.size()},
                       {"algorithm_version", scoring::kScoringVersion},
                       {"columns", columns}};
  return define.dump(2) + "\n";
}

}  // namespace skintrack::report::detail
