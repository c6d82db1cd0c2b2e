// `skintrack study` and `skintrack export --format csv|rs|rs-define|fhir` on a real data
// directory (issue 16): the study id is a data-directory setting, --study-id overrides it for one
// export, a bad one is refused before anything is written.
#include <gtest/gtest.h>

#include <filesystem>
#include <nlohmann/json.hpp>

#include "../support/run_cli.h"
#include "export_fixture.h"
#include "skintrack/storage/store.h"

namespace skintrack {
namespace {

using skintrack::testing::RunCli;
using skintrack::testing::TempDir;

TEST(ExportCli, StudyIdIsADataDirectorySettingThatExportsCarry) {
  TempDir dir("export-cli");
  const std::string data = dir.str() + "/data";
  {
    auto store = storage::Store::OpenDataDir(data);
    report::testing::StoreVisits(*store, "P1", "left-forearm", Condition::kPsoriasis,
                                 {"baseline", "week-2"}, {0, 14}, 21);
    report::testing::Drain(*store);
  }
  auto r = RunCli("study --data-dir " + data);
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_EQ(r.out, "SKINTRACK\n");
  r = RunCli("study --data-dir " + data + " --set-id DERM-16");
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_EQ(r.out, "DERM-16\n");
  r = RunCli("study --data-dir " + data + " --set-id 'no good'");
  EXPECT_NE(r.exit_code, 0);
  EXPECT_NE(r.err.find("study id"), std::string::npos) << r.err;

  r = RunCli("export --data-dir " + data + " --format rs");
  ASSERT_EQ(r.exit_code, 0) << r.err;
  const auto rows = report::testing::ParseCsvStrict(r.out);
  ASSERT_GT(rows.size(), 1u);
  EXPECT_EQ(rows[1][0], "DERM-16");
  EXPECT_EQ(rows[1][1], "RS");
  EXPECT_EQ(r.out.find("P1"), std::string::npos);

  r = RunCli("export --data-dir " + data + " --format csv --study-id OVERRIDE");
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_EQ(r.out.rfind("study_id,subject_id,", 0), 0u);
  EXPECT_NE(r.out.find("\nOVERRIDE,S-"), std::string::npos) << r.out;

  r = RunCli("export --data-dir " + data + " --format rs-define");
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_EQ(nlohmann::json::parse(r.out)["study_id"], "DERM-16");

  const std::string out = dir.str() + "/bad.csv";
  r = RunCli("export --data-dir " + data + " --format rs --study-id bad --out " + out);
  EXPECT_NE(r.exit_code, 0);
  EXPECT_FALSE(std::filesystem::exists(out));
  r = RunCli("export --data-dir " + data + " --format xml");
  EXPECT_NE(r.exit_code, 0);
  EXPECT_NE(r.err.find("rs-define"), std::string::npos) << r.err;
}

}  // namespace
}  // namespace skintrack
