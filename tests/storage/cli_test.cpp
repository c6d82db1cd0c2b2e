// `skintrack db check|info` against real data directories.
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>

#include "../support/run_cli.h"
#include "skintrack/storage/store.h"

namespace skintrack::storage {
namespace {

using skintrack::testing::RunCli;
using skintrack::testing::TempDir;

TEST(DbCli, CheckPassesOnAHealthyDirectoryAndFailsOnADamagedOne) {
  TempDir dir("dbcli");
  std::string sha;
  {
    auto store = Store::OpenDataDir(dir.str());
    PatientInfo p;
    p.id = "P1";
    store->repository().CreatePatient(p, "test");
    NewCapture c;
    c.patient_id = "P1";
    c.site = "scalp";
    c.captured_at = 1;
    c.width = c.height = 8;
    sha = store->IngestCapture(c, "some image bytes", "test").capture.blob.sha256;
  }
  auto ok = RunCli("db check --data-dir " + dir.str() + " --json");
  ASSERT_EQ(ok.exit_code, 0) << ok.err;
  const auto report = nlohmann::json::parse(ok.out);
  EXPECT_TRUE(report["ok"].get<bool>());
  EXPECT_EQ(report["referenced_blobs"], 1);
  EXPECT_EQ(report["schema_version"], LatestSchemaVersion());

  const auto info = RunCli("db info --data-dir " + dir.str() + " --json");
  ASSERT_EQ(info.exit_code, 0) << info.err;
  EXPECT_EQ(nlohmann::json::parse(info.out)["captures"]["queued"], 1);

  std::ofstream(dir.path() / "blobs" / sha.substr(0, 2) / sha.substr(2, 2) / sha,
                std::ios::trunc | std::ios::binary)
      << "some image bytez";
  auto bad = RunCli("db check --data-dir " + dir.str() + " --json");
  EXPECT_EQ(bad.exit_code, 1);
  EXPECT_EQ(nlohmann::json::parse(bad.out)["corrupt"][0], sha);
  // Without hashing, same size: the damage is invisible, which is what --no-hash trades away.
  EXPECT_EQ(RunCli("db check --no-hash --data-dir " + dir.str()).exit_code, 0);
}

TEST(DbCli, RejectsBadUsageAndLockedDirectories) {
  TempDir dir("dbcli-bad");
  EXPECT_EQ(RunCli("db").exit_code, 2);
  EXPECT_EQ(RunCli("db check").exit_code, 2);
  EXPECT_EQ(RunCli("db vacuum --data-dir " + dir.str()).exit_code, 2);
  EXPECT_EQ(RunCli("db info --data-dir " + dir.str()).exit_code, 1);  // no database yet
  auto store = Store::OpenDataDir(dir.str());
  const auto locked = RunCli("db check --data-dir " + dir.str());
  EXPECT_EQ(locked.exit_code, 1);
  EXPECT_NE(locked.err.find("in use"), std::string::npos) << locked.err;
  EXPECT_EQ(RunCli("db info --data-dir " + dir.str()).exit_code, 0);  // beside the owner
}

}  // namespace
}  // namespace skintrack::storage
