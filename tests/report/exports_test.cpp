// The trial exports (issue 16): study id, VISITNUM, the wide CSV's new columns, the SDTM RS dataset
// and its define, and the FHIR Bundle's body sites, ids and responder Observations, on a phantom
// cohort in an in-memory store.
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>
#include <set>

#include "export_fixture.h"
#include "skintrack/core/error.h"
#include "skintrack/pipeline/response.h"
#include "skintrack/report/cohort.h"
#include "skintrack/report/report.h"

namespace skintrack::report {
namespace {

using nlohmann::json;
using testing::kKey;

class Exports : public ::testing::Test {
 protected:
  static void SetUpTestSuite() { shared_store = testing::CohortStore().release(); }
  static void TearDownTestSuite() {
    delete shared_store;
    shared_store = nullptr;
  }
  static CohortExportOptions Options() { return CohortExportOptions{kKey, "ST-016"}; }
  static storage::Store* shared_store;
};
storage::Store* Exports::shared_store = nullptr;

TEST(VisitNumbers, FollowTheScheduleNotTheText) {
  const std::map<std::string, int> n = VisitNumbers({{"week-12", 84},
                                                     {"week-2", 14},
                                                     {"Week8", 56},
                                                     {"baseline", 0},
                                                     {"screening", -7},
                                                     {"day-3", 3},
                                                     {"month-1", 30},
                                                     {"v2", 5},
                                                     {"fu-1", 200},
                                                     {"2026-03-01", 60},
                                                     {"2026-02-01", 31},
                                                     {"redacted-0a1b2c3d", 10}});
  EXPECT_LT(n.at("week-2"), n.at("Week8"));
  EXPECT_LT(n.at("Week8"), n.at("week-12"));
  EXPECT_EQ(n.at("screening"), 1);
  EXPECT_EQ(n.at("baseline"), 2);
  EXPECT_LT(n.at("day-3"), n.at("week-2"));
  EXPECT_LT(n.at("month-1"), n.at("Week8"));  // 30.4 days after baseline, week 8 is 56
  EXPECT_GT(n.at("v2"), n.at("week-12"));     // a visit number has no time: after the schedule
  EXPECT_GT(n.at("fu-1"), n.at("v2"));
  // Labels without a schedule follow by their date.
  EXPECT_LT(n.at("redacted-0a1b2c3d"), n.at("2026-02-01"));
  EXPECT_LT(n.at("2026-02-01"), n.at("2026-03-01"));
  std::set<int> values;
  for (const auto& [label, v] : n) values.insert(v);
  EXPECT_EQ(values.size(), n.size());  // one number per label, 1..n
  EXPECT_EQ(*values.rbegin(), static_cast<int>(n.size()));
}

TEST(StudyId, IsADataDirectoryFileWithADefault) {
  const auto dir =
      std::filesystem::temp_directory_path() / ("skintrack-study-" + std::to_string(::getpid()));
  std::filesystem::create_directories(dir);
  EXPECT_EQ(LoadStudyId(dir.string()), kDefaultStudyId);
  SaveStudyId(dir.string(), "DERM-2026_01");
  EXPECT_EQ(LoadStudyId(dir.string()), "DERM-2026_01");
  for (const char* bad : {"", "lower", "HAS SPACE", "A,B", "ABCDEFGHIJKLMNOPQRSTU"}) {
    EXPECT_THROW(SaveStudyId(dir.string(), bad), Error) << bad;
  }
  EXPECT_EQ(LoadStudyId(dir.string()), "DERM-2026_01");  // a refused id wrote nothing
  std::ofstream(dir / kStudyIdFile) << "bad id\n";
  EXPECT_THROW(LoadStudyId(dir.string()), Error);
  std::filesystem::remove_all(dir);
}

TEST_F(Exports, CohortCsvCarriesStudyVisitNumbersAndUnits) {
  const auto rows = testing::ParseCsvStrict(ExportCohortCsv(*shared_store, Options()));
  ASSERT_FALSE(rows.empty());
  const auto records = testing::Records(rows);
  ASSERT_EQ(records.size(), 7u);  // 4 psoriasis + 3 vitiligo visits
  std::map<std::string, int> visitnum;
  for (const auto& r : records) {
    EXPECT_EQ(r.at("study_id"), "ST-016");
    EXPECT_EQ(r.at("subject_id").rfind("S-", 0), 0u);
    visitnum[r.at("visit")] = std::stoi(r.at("visitnum"));
    const bool psoriasis = r.at("condition") == "psoriasis";
    EXPECT_EQ(r.at("pasi_unit"), psoriasis && !r.at("pasi").empty() ? "score" : "");
    EXPECT_EQ(r.at("bsa_unit"), psoriasis && !r.at("bsa_percent").empty() ? "%" : "");
    EXPECT_EQ(r.at("vasi_unit"), !psoriasis && !r.at("t_vasi").empty() ? "hand units" : "");
    EXPECT_EQ(r.at("change_unit"), r.at("change_percent").empty() ? "" : "%");
  }
  EXPECT_LT(visitnum.at("screening"), visitnum.at("baseline"));
  EXPECT_LT(visitnum.at("baseline"), visitnum.at("week-2"));
  EXPECT_LT(visitnum.at("week-2"), visitnum.at("week-4"));
  EXPECT_LT(visitnum.at("week-4"), visitnum.at("week-8"));
  EXPECT_LT(visitnum.at("week-8"), visitnum.at("week-12"));
}

// Hand-written matchers instead of std::regex: GCC 12 warns inside <regex> under the sanitizers
// (-Wmaybe-uninitialized, a false positive) and the build uses -Werror.
bool IsDigit(char c) { return c >= '0' && c <= '9'; }

// [A-Z][A-Z0-9]*
bool IsTestCode(const std::string& s) {
  if (s.empty() || s[0] < 'A' || s[0] > 'Z') return false;
  for (char c : s) {
    if (!IsDigit(c) && (c < 'A' || c > 'Z')) return false;
  }
  return true;
}

// YYYY-MM-DDTHH:MM:SS
bool IsIsoDateTime(const std::string& s) {
  const std::string shape = "dddd-dd-ddTdd:dd:dd";
  if (s.size() != shape.size()) return false;
  for (size_t i = 0; i < s.size(); ++i) {
    if (shape[i] == 'd' ? !IsDigit(s[i]) : s[i] != shape[i]) return false;
  }
  return true;
}

// -?\d+(\.\d+)?
bool IsDecimal(const std::string& s) {
  size_t i = (!s.empty() && s[0] == '-') ? 1 : 0;
  const size_t int_start = i;
  while (i < s.size() && IsDigit(s[i])) ++i;
  if (i == int_start) return false;
  if (i == s.size()) return true;
  if (s[i] != '.') return false;
  const size_t frac_start = ++i;
  while (i < s.size() && IsDigit(s[i])) ++i;
  return i == s.size() && i > frac_start;
}

TEST_F(Exports, RsDatasetParsesStrictlyWithUniqueKeysAndTypedValues) {
  const std::string csv = ExportRsCsv(*shared_store, Options());
  const auto rows = testing::ParseCsvStrict(csv);
  ASSERT_FALSE(rows.empty());
  EXPECT_EQ(rows[0],
            (std::vector<std::string>{"STUDYID", "DOMAIN", "USUBJID", "RSSEQ", "RSTESTCD", "RSTEST",
                                      "RSCAT", "RSORRES", "RSORRESU", "RSSTRESC", "RSSTRESN",
                                      "RSSTRESU", "VISITNUM", "VISIT", "RSDTC", "RSEVAL"}));
  EXPECT_EQ(csv.find("P1"), std::string::npos) << "patient ids must not leave";
  EXPECT_EQ(csv.find("P2"), std::string::npos);
  std::set<std::pair<std::string, std::string>> keys;
  std::set<std::string> tests;
  std::map<std::string, int> last_seq;
  const auto records = testing::Records(rows);
  for (const auto& r : records) {
    EXPECT_EQ(r.at("STUDYID"), "ST-016");
    EXPECT_EQ(r.at("DOMAIN"), "RS");
    EXPECT_TRUE(keys.insert({r.at("USUBJID"), r.at("RSSEQ")}).second)
        << "duplicate key " << r.at("USUBJID") << " " << r.at("RSSEQ");
    // RSSEQ counts 1, 2, ... within a subject.
    EXPECT_EQ(std::stoi(r.at("RSSEQ")), ++last_seq[r.at("USUBJID")]);
    const std::string& code = r.at("RSTESTCD");
    EXPECT_LE(code.size(), 8u) << code;
    EXPECT_TRUE(IsTestCode(code)) << code;
    EXPECT_LE(r.at("RSTEST").size(), 40u);
    tests.insert(code);
    EXPECT_TRUE(IsIsoDateTime(r.at("RSDTC"))) << r.at("RSDTC");
    const std::string& c = r.at("RSSTRESC");
    if (IsDecimal(c)) {
      ASSERT_FALSE(r.at("RSSTRESN").empty()) << code;
      EXPECT_DOUBLE_EQ(std::stod(r.at("RSSTRESN")), std::stod(c));
      EXPECT_FALSE(r.at("RSSTRESU").empty()) << code;
    } else {
      EXPECT_TRUE(c == "Y" || c == "N") << code << "=" << c;
      EXPECT_EQ(r.at("RSSTRESN"), "") << code;
    }
    EXPECT_TRUE(r.at("RSEVAL") == "INDEPENDENT ASSESSOR" || r.at("RSEVAL") == "INVESTIGATOR");
  }
  for (const char* t : {"PASI", "BSA", "PASI75", "PASI100", "TVASI", "FVASI", "VASI50"}) {
    EXPECT_TRUE(tests.count(t)) << t;
  }
  // The values are the response's: P1's week-12 PASI.
  pipeline::ResponseOptions o;
  o.pseudonymise = kKey;
  const pipeline::PatientResponse p1 = pipeline::ComputePatientResponse(*shared_store, "P1", o);
  const pipeline::VisitResponse& last = p1.conditions[0].visits.back();
  ASSERT_EQ(last.visit, "week-12");
  int found = 0;
  for (const auto& r : records) {
    if (r.at("USUBJID") != p1.patient || r.at("VISIT") != "week-12") continue;
    if (r.at("RSTESTCD") == "PASI") {
      EXPECT_NEAR(std::stod(r.at("RSSTRESN")), last.pasi->pasi.pasi, 5e-4);
      ++found;
    }
    if (r.at("RSTESTCD") == "PASI75") {
      EXPECT_EQ(r.at("RSORRES"), last.pasi_response->pasi75 ? "Y" : "N");
      ++found;
    }
  }
  EXPECT_EQ(found, 2);
}

TEST_F(Exports, DefineDescribesEveryColumnOfTheDataset) {
  const auto rows = testing::ParseCsvStrict(ExportRsCsv(*shared_store, Options()));
  ASSERT_FALSE(rows.empty());
  const json define = json::parse(ExportRsDefine(*shared_store, Options()));
  EXPECT_EQ(define["dataset"], "RS");
  EXPECT_EQ(define["records"].get<size_t>(), rows.size() - 1);
  ASSERT_EQ(define["columns"].size(), rows[0].size());
  for (size_t i = 0; i < rows[0].size(); ++i) {
    const json& c = define["columns"][i];
    EXPECT_EQ(c["name"], rows[0][i]);
    for (const char* field : {"label", "type", "length", "origin"}) {
      EXPECT_TRUE(c.contains(field)) << rows[0][i] << " " << field;
    }
    EXPECT_LE(c["label"].get<std::string>().size(), 40u);  // SDTM variable labels
    std::set<std::string> terms;
    if (c.contains("codelist")) {
      for (const json& t : c["codelist"]["terms"]) terms.insert(t.get<std::string>());
    }
    for (size_t r = 1; r < rows.size(); ++r) {
      if (c["type"] == "text") {
        EXPECT_LE(rows[r][i].size(), c["length"].get<size_t>()) << rows[0][i];
      }
      if (!terms.empty() && !rows[r][i].empty()) {
        EXPECT_TRUE(terms.count(rows[r][i])) << rows[0][i] << "=" << rows[r][i];
      }
    }
  }
}

// Resources by type, after checking that every id is its fullUrl's UUID.
std::multimap<std::string, json> ByType(const json& bundle) {
  std::multimap<std::string, json> out;
  for (const json& e : bundle["entry"]) {
    EXPECT_EQ("urn:uuid:" + e["resource"]["id"].get<std::string>(), e["fullUrl"]);
    out.emplace(e["resource"]["resourceType"].get<std::string>(), e["resource"]);
  }
  return out;
}

TEST_F(Exports, FhirCodesBodySitesAndCarriesResponders) {
  const json bundle = json::parse(ExportCohortFhir(*shared_store, Options()));
  const json again = json::parse(ExportCohortFhir(*shared_store, Options()));
  EXPECT_EQ(bundle["identifier"], again["identifier"]);  // deterministic
  EXPECT_EQ(bundle["identifier"]["system"], "urn:ietf:rfc:3986");
  const json other =
      json::parse(ExportCohortFhir(*shared_store, CohortExportOptions{kKey, "OTHER"}));
  EXPECT_NE(bundle["identifier"], other["identifier"]);
  const auto resources = ByType(bundle);
  const json& device = resources.find("Device")->second;
  ASSERT_EQ(device["version"].size(), 2u);
  EXPECT_EQ(device["version"][0]["value"], scoring::kScoringVersion);
  EXPECT_EQ(device["version"][1]["value"], pipeline::kPipelineVersion);
  int media = 0;
  for (auto [it, end] = resources.equal_range("Media"); it != end; ++it, ++media) {
    const json& m = it->second;
    EXPECT_EQ(m["type"]["coding"][0]["code"], "image");
    EXPECT_EQ(m["modality"]["coding"][0]["code"], "XC");
    EXPECT_EQ(m["bodySite"]["coding"][0]["system"], "http://snomed.info/sct");
    const std::string site = m["bodySite"]["text"];
    EXPECT_EQ(m["bodySite"]["coding"][0]["code"], site == "face" ? "89545001" : "14975008");
  }
  EXPECT_EQ(media, 7);
  std::map<std::string, int> codes;
  for (auto [it, end] = resources.equal_range("Observation"); it != end; ++it) {
    const json& o = it->second;
    const std::string code = o["code"]["coding"][0]["code"];
    ++codes[code];
    ASSERT_TRUE(o.contains("bodySite")) << code;
    EXPECT_EQ(o["bodySite"]["coding"][0]["system"], "http://snomed.info/sct") << code;
    if (code == "pasi75" || code == "vasi50") {
      EXPECT_TRUE(o["valueBoolean"].is_boolean());
      EXPECT_GE(o["derivedFrom"].size(), 1u);
    }
  }
  // Responder flags wherever the CSV has them: P1's four visits, P2's scored vitiligo visits.
  const auto records =
      testing::Records(testing::ParseCsvStrict(ExportCohortCsv(*shared_store, Options())));
  int pasi75 = 0, vasi50 = 0;
  for (const auto& r : records) {
    pasi75 += !r.at("pasi75").empty();
    vasi50 += !r.at("vasi50").empty();
  }
  EXPECT_GT(pasi75, 0);
  EXPECT_EQ(codes["pasi75"], pasi75);
  EXPECT_EQ(codes["pasi100"], pasi75);
  EXPECT_EQ(codes["vasi50"], vasi50);
  EXPECT_EQ(codes["vasi90"], vasi50);
  EXPECT_EQ(bundle.dump().find("\"P1\""), std::string::npos);
}

}  // namespace
}  // namespace skintrack::report
