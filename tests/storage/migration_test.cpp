// Schema migrations on real files: from empty, from every earlier version with data in it, and
// refusal of a database written by a newer build.
#include <gtest/gtest.h>

#include <string>

#include "../support/run_cli.h"
#include "migrations.h"
#include "skintrack/core/error.h"
#include "skintrack/storage/repository.h"
#include "skintrack/storage/sha256.h"
#include "sqlite_internal.h"

namespace skintrack::storage {
namespace {

using skintrack::testing::TempDir;

TEST(Migrations, AreNumberedWithoutGaps) {
  const auto& migrations = internal::Migrations();
  ASSERT_GE(migrations.size(), 2u);
  for (std::size_t i = 0; i < migrations.size(); ++i) {
    EXPECT_EQ(migrations[i].version, static_cast<int>(i + 1));
    EXPECT_NE(std::string(migrations[i].sql).find("CREATE"), std::string::npos);
  }
  EXPECT_EQ(LatestSchemaVersion(), static_cast<int>(migrations.size()));
}

TEST(Migrations, InMemoryDatabaseStartsAtLatest) {
  auto repo = OpenSqliteRepository(":memory:");
  EXPECT_EQ(repo->SchemaVersion(), LatestSchemaVersion());
  EXPECT_EQ(repo->IntegrityCheck(), "ok");
}

// For every version v below the latest: build a v database as that binary would have left it,
// with a patient and a capture in it (version >= 1), then open it with this build.
TEST(Migrations, UpgradeFromEveryEarlierVersionKeepsData) {
  const std::string sha = Sha256Hex("pixels");
  for (int from = 0; from < LatestSchemaVersion(); ++from) {
    SCOPED_TRACE("from version " + std::to_string(from));
    TempDir dir("migrate");
    const std::string path = dir.str() + "/skintrack.db";
    internal::MigrateSqliteTo(path, from);
    if (from >= 1) {
      internal::ExecSqlite(
          path,
          "INSERT INTO patients (id, pseudonym, created_at) VALUES (7, 'P-OLD', 1);"
          "INSERT INTO body_sites (id, name, pasi_region, vasi_region, bsa_percent, is_face) "
          "VALUES (1, 'scalp', 'head_neck', 'head_neck', 1.0, 0);"
          "INSERT INTO captures (id, patient_id, site_id, condition, captured_at, received_at, "
          "media_type, blob_sha256, byte_size, width, height) VALUES (42, 7, 1, 'psoriasis', 5, "
          "6, 'image/png', '" +
              sha + "', 6, 10, 10);");
    }
    if (from >= 2) {
      // Migration 4 added results.patient_id.
      const bool keyed = from >= 4;
      internal::ExecSqlite(
          path, std::string("INSERT INTO results (id, capture_id, kind, name, version, source, "
                            "algorithm, algorithm_version, value, payload_json, inputs_json, "
                            "provenance_json, actor, created_at") +
                    (keyed ? ", patient_id" : "") +
                    ") VALUES (9, 42, 'score', 'pasi_site', 1, 'automated', 'pasi', '0.9', 2.5, "
                    "'{}', '{}', '{}', 'old-worker', 7" +
                    (keyed ? ", 7" : "") + ");");
    }
    if (from >= 6) {
      // Written as a version-6 build writes rows: with their ids taken from id_sequences.
      internal::ExecSqlite(path,
                           "UPDATE id_sequences SET last_id = 42 WHERE name = 'captures';"
                           "UPDATE id_sequences SET last_id = 9 WHERE name = 'results';");
    }
    auto repo = OpenSqliteRepository(path);
    EXPECT_EQ(repo->SchemaVersion(), LatestSchemaVersion());
    EXPECT_EQ(repo->IntegrityCheck(), "ok");
    if (from >= 1) {
      const auto capture = repo->FindCapture(42);
      ASSERT_TRUE(capture);
      EXPECT_EQ(capture->patient_id, "P-OLD");
      EXPECT_EQ(capture->site, "scalp");
      EXPECT_EQ(capture->status, CaptureStatus::kQueued);
      EXPECT_EQ(repo->CountQueue().queued, 1);  // counters start from the migrated rows
      NewResult r;
      r.capture_id = 42;
      r.name = "pasi_site";
      r.algorithm = "pasi";
      r.algorithm_version = "1";
      r.value = 1.5;
      const int expected_version = from >= 2 ? 2 : 1;
      EXPECT_EQ(repo->AppendResult(r, std::nullopt, "test").version, expected_version);
      EXPECT_TRUE(repo->IsBlobReferenced(sha));
      const auto history = repo->ResultHistory(42, ResultKind::kScore, "pasi_site");
      ASSERT_EQ(history.size(), static_cast<std::size_t>(expected_version));
      if (from >= 2) {
        EXPECT_EQ(history[0].id, 9);  // ids survive the table rebuild of migration 4
        EXPECT_EQ(history[0].actor, "old-worker");
        EXPECT_DOUBLE_EQ(*history[0].value, 2.5);
      }
      // New rows get ids above the migrated ones.
      PatientInfo p;
      p.id = "P-NEW";
      repo->CreatePatient(p, "test");
      NewCapture c;
      c.patient_id = "P-NEW";
      c.site = "scalp";
      c.captured_at = 1;
      c.width = c.height = 4;
      EXPECT_EQ(repo->InsertCapture(c, {Sha256Hex("new"), 3}, "test").capture.id, 43);
    }
    // Opening again applies nothing and changes nothing.
    repo.reset();
    EXPECT_EQ(OpenSqliteRepository(path)->SchemaVersion(), LatestSchemaVersion());
  }
}

TEST(Migrations, RefusesANewerDatabaseWithAClearMessage) {
  TempDir dir("newer");
  const std::string path = dir.str() + "/skintrack.db";
  internal::MigrateSqliteTo(path, LatestSchemaVersion());
  const int newer = LatestSchemaVersion() + 1;
  internal::ExecSqlite(path, "INSERT INTO schema_version VALUES (" + std::to_string(newer) + ", '" +
                                 std::to_string(newer) + "_future', 0)");
  try {
    OpenSqliteRepository(path);
    FAIL() << "a newer database was opened";
  } catch (const Error& e) {
    EXPECT_EQ(e.code(), ErrorCode::kConflict);
    EXPECT_NE(std::string(e.what()).find("newer"), std::string::npos) << e.what();
  }
}

TEST(Migrations, RefusesAForeignLineage) {
  TempDir dir("foreign");
  const std::string path = dir.str() + "/skintrack.db";
  internal::MigrateSqliteTo(path, 1);
  internal::ExecSqlite(path, "UPDATE schema_version SET name = '0001_other' WHERE version = 1");
  EXPECT_THROW(OpenSqliteRepository(path), Error);
}

// The append-only rules hold even against SQL that bypasses the repository.
TEST(Migrations, TriggersForbidUpdatesAndDeletesOfHistory) {
  TempDir dir("triggers");
  const std::string path = dir.str() + "/skintrack.db";
  {
    auto repo = OpenSqliteRepository(path);
    PatientInfo p;
    p.id = "P1";
    repo->CreatePatient(p, "test");
    NewCapture c;
    c.patient_id = "P1";
    c.site = "scalp";
    c.captured_at = 1;
    c.width = c.height = 4;
    const auto id = repo->InsertCapture(c, {Sha256Hex("a"), 1}, "test").capture.id;
    NewResult r;
    r.capture_id = id;
    r.name = "pasi_site";
    r.algorithm = "pasi";
    r.algorithm_version = "1";
    repo->AppendResult(r, std::nullopt, "test");
  }
  for (const char* sql : {"UPDATE results SET value = 9", "DELETE FROM results",
                          "DELETE FROM captures", "UPDATE captures SET captured_at = 0",
                          "UPDATE audit_log SET actor = 'x'", "DELETE FROM audit_log"}) {
    EXPECT_THROW(internal::ExecSqlite(path, sql), Error) << sql;
  }
  // Work-queue state is the one mutable part of a capture.
  EXPECT_NO_THROW(internal::ExecSqlite(path, "UPDATE captures SET status = 'processed'"));
}

}  // namespace
}  // namespace skintrack::storage
