// What only the PostgreSQL backend has (issue 17): its schema's rules against any writer, the
// integrity check, migrations, the work queue shared by two repositories (two nodes), concurrent
// annotation appends, and connection errors. The shared suites (store_test.cpp,
// annotation_storage_test.cpp) cover the Repository contract on it.
#include <gtest/gtest.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <map>
#include <mutex>
#include <set>
#include <thread>

#include "../support/error_code_of.h"
#include "../support/pg_cluster.h"
#include "../support/run_cli.h"
#include "pg_connection.h"
#include "pg_internal.h"
#include "skintrack/core/error.h"
#include "skintrack/storage/sha256.h"
#include "skintrack/storage/store.h"

namespace skintrack::storage {
namespace {

using skintrack::testing::CodeOf;

class PostgresTest : public ::testing::Test {
 protected:
  void SetUp() override {
    url_ = testing::FreshPostgresDatabase();
    if (url_.empty()) GTEST_SKIP() << testing::PgCluster::Get().why_unavailable();
  }
  std::unique_ptr<Repository> Open(TimeMs* clock = nullptr) {
    RepositoryOptions options;
    if (clock) options.clock = [clock] { return *clock; };
    return OpenPostgresRepository(url_, options);
  }
  ErrorCode Exec(const std::string& sql) {
    return CodeOf([&] { internal::ExecPostgres(url_, sql); });
  }
  // One patient with one capture, a result, an assessment and a token.
  std::int64_t Populate(Repository& repo) {
    PatientInfo p;
    p.id = "P001";
    repo.CreatePatient(p, "test");
    NewCapture c;
    c.patient_id = "P001";
    c.site = "scalp";
    c.captured_at = 1;
    c.width = c.height = 8;
    const std::int64_t id = repo.InsertCapture(c, {Sha256Hex("a"), 1}, "test").capture.id;
    NewResult r;
    r.capture_id = id;
    r.name = "pasi_site";
    r.algorithm = "pasi";
    r.algorithm_version = "1";
    r.value = 0.1;
    repo.AppendResult(r, std::nullopt, "test");
    NewAssessment a;
    a.capture_id = id;
    repo.AppendAssessment(a, std::nullopt, "test");
    NewToken t;
    t.role = Role::kClinician;
    repo.CreateToken(t, "test");
    return id;
  }
  std::string url_;
};

TEST_F(PostgresTest, TheSchemaRefusesChangesToFactsFromAnyWriter) {
  auto repo = Open();
  const std::int64_t capture = Populate(*repo);
  EXPECT_EQ(Exec("UPDATE captures SET width = 9"), ErrorCode::kConflict);
  EXPECT_EQ(Exec("UPDATE captures SET upload_sha256 = NULL"), ErrorCode::kConflict);
  EXPECT_EQ(Exec("DELETE FROM captures"), ErrorCode::kConflict);
  EXPECT_EQ(Exec("TRUNCATE captures CASCADE"), ErrorCode::kConflict);
  EXPECT_EQ(Exec("UPDATE results SET value = 2"), ErrorCode::kConflict);
  EXPECT_EQ(Exec("DELETE FROM results"), ErrorCode::kConflict);
  EXPECT_EQ(Exec("UPDATE assessments SET note = 'x'"), ErrorCode::kConflict);
  EXPECT_EQ(Exec("DELETE FROM assessments"), ErrorCode::kConflict);
  EXPECT_EQ(Exec("UPDATE audit_log SET actor = 'x'"), ErrorCode::kConflict);
  EXPECT_EQ(Exec("DELETE FROM audit_log"), ErrorCode::kConflict);
  EXPECT_EQ(Exec("TRUNCATE audit_log"), ErrorCode::kConflict);
  EXPECT_EQ(Exec("UPDATE tokens SET role = 'admin'"), ErrorCode::kConflict);
  EXPECT_EQ(Exec("DELETE FROM tokens"), ErrorCode::kConflict);
  // The same CHECKs as SQLite's.
  EXPECT_EQ(Exec("INSERT INTO patients (pseudonym, fitzpatrick, created_at) VALUES ('X', 7, 1)"),
            ErrorCode::kConflict);
  EXPECT_EQ(Exec("UPDATE captures SET status = 'lost'"), ErrorCode::kConflict);
  // What may change does: the queue columns and a revocation.
  EXPECT_NO_THROW(internal::ExecPostgres(url_, "UPDATE captures SET last_error = 'e'"));
  EXPECT_NO_THROW(internal::ExecPostgres(url_, "UPDATE tokens SET revoked_at = 5"));
  EXPECT_EQ(repo->FindCapture(capture)->width, 8);
  EXPECT_EQ(repo->FindCapture(capture)->last_error, "e");
  EXPECT_EQ(repo->ResultHistory(capture, ResultKind::kScore, "pasi_site").size(), 1u);
  EXPECT_EQ(repo->ListAudit({"", 0, 100}).size(), 5u);
  // The audited erasure is the one way rows go.
  repo->ErasePatient("P001", "admin");
  EXPECT_FALSE(repo->FindCapture(capture));
  EXPECT_EQ(repo->IntegrityCheck(), "ok");
}

TEST_F(PostgresTest, TheIntegrityCheckReportsADisabledRuleAndWrongCounts) {
  auto repo = Open();
  Populate(*repo);
  EXPECT_EQ(repo->IntegrityCheck(), "ok");
  internal::ExecPostgres(url_, "ALTER TABLE audit_log DISABLE TRIGGER audit_no_delete");
  EXPECT_NE(repo->IntegrityCheck().find("trigger audit_no_delete is disabled"), std::string::npos);
  internal::ExecPostgres(url_, "ALTER TABLE audit_log ENABLE TRIGGER audit_no_delete");
  internal::ExecPostgres(url_,
                         "UPDATE capture_status_counts SET n = n + 2 WHERE status = 'failed' AND "
                         "shard = 3");
  EXPECT_EQ(repo->CountQueue().failed, 2);
  EXPECT_EQ(repo->IntegrityCheck(), "queue count of failed is 2, the captures say 0");
}

TEST_F(PostgresTest, MigrationsApplyOnceAndANewerDatabaseIsRefused) {
  const int latest = static_cast<int>(internal::PgMigrations().size());
  EXPECT_EQ(Open()->SchemaVersion(), latest);
  EXPECT_EQ(Open()->SchemaVersion(), latest);  // a second node: nothing left to apply
  internal::ExecPostgres(url_, "INSERT INTO schema_version (version, name, applied_at) VALUES (" +
                                   std::to_string(latest + 1) + ", '9999_future', 1)");
  EXPECT_EQ(CodeOf([&] { Open(); }), ErrorCode::kConflict);
}

TEST_F(PostgresTest, TwoNodesClaimEveryCaptureExactlyOnce) {
  auto node_a = Open();
  auto node_b = Open();
  PatientInfo p;
  p.id = "P001";
  node_a->CreatePatient(p, "test");
  constexpr int kCaptures = 40;
  for (int i = 0; i < kCaptures; ++i) {
    NewCapture c;
    c.patient_id = "P001";
    c.site = "scalp";
    c.captured_at = i;
    c.width = c.height = 8;
    (i % 2 ? node_a : node_b)->InsertCapture(c, {Sha256Hex(std::to_string(i)), 1}, "device");
  }
  std::mutex mutex;
  std::map<std::int64_t, int> claims;
  std::atomic<int> errors{0};
  std::vector<std::thread> workers;
  workers.reserve(4);
  for (int w = 0; w < 4; ++w) {
    workers.emplace_back([&, w] {
      Repository& node = w % 2 ? *node_a : *node_b;
      const std::string name = "worker:" + std::to_string(w);
      try {
        while (auto item = node.ClaimWork(name, 600000)) {
          {
            std::lock_guard<std::mutex> lock(mutex);
            ++claims[item->capture.id];
          }
          node.CompleteWork(item->capture.id, name);
        }
      } catch (const std::exception& e) {
        ++errors;
        ADD_FAILURE() << e.what();
      }
    });
  }
  for (auto& t : workers) t.join();
  EXPECT_EQ(errors.load(), 0);
  EXPECT_EQ(claims.size(), static_cast<std::size_t>(kCaptures));
  for (const auto& [id, n] : claims) EXPECT_EQ(n, 1) << "capture " << id;
  const QueueCounts counts = node_b->CountQueue();
  EXPECT_EQ(counts.processed, kCaptures);
  EXPECT_EQ(counts.queued + counts.processing + counts.failed, 0);
  EXPECT_EQ(node_a->IntegrityCheck(), "ok");
}

TEST_F(PostgresTest, AnExpiredLeaseIsTakenOverByAnotherNode) {
  TimeMs now_a = 1000;
  TimeMs now_b = 1000;
  auto node_a = Open(&now_a);
  auto node_b = Open(&now_b);
  PatientInfo p;
  p.id = "P001";
  node_a->CreatePatient(p, "test");
  NewCapture c;
  c.patient_id = "P001";
  c.site = "scalp";
  c.width = c.height = 8;
  const std::int64_t id = node_a->InsertCapture(c, {Sha256Hex("x"), 1}, "device").capture.id;
  ASSERT_TRUE(node_a->ClaimWork("worker:a", 5000));
  EXPECT_FALSE(node_b->ClaimWork("worker:b", 5000));  // held, not expired
  now_b += 5001;                                      // node a died; its lease ran out
  const auto taken = node_b->ClaimWork("worker:b", 5000);
  ASSERT_TRUE(taken);
  EXPECT_EQ(taken->capture.id, id);
  EXPECT_EQ(taken->capture.attempts, 2);
  EXPECT_EQ(CodeOf([&] { node_a->CompleteWork(id, "worker:a"); }), ErrorCode::kConflict);
  node_b->CompleteWork(id, "worker:b");
  EXPECT_EQ(node_a->FindCapture(id)->status, CaptureStatus::kProcessed);
}

TEST_F(PostgresTest, OfConcurrentAppendsAfterOneVersionExactlyOneWins) {
  auto repo = Open();
  const std::int64_t capture = Populate(*repo);
  NewAnnotationVersion v;
  v.capture_id = capture;
  v.author = "token:aaaaaaaaaaaaaaaa";
  repo->AppendAnnotationVersion(v, {Sha256Hex("doc0"), 4}, v.author);
  std::atomic<int> won{0};
  std::atomic<int> conflicts{0};
  std::vector<std::thread> threads;
  threads.reserve(6);
  for (int i = 0; i < 6; ++i) {
    threads.emplace_back([&, i] {
      NewAnnotationVersion next = v;
      next.expected_version = 1;
      try {
        repo->AppendAnnotationVersion(next, {Sha256Hex("doc" + std::to_string(i + 1)), 4},
                                      v.author);
        ++won;
      } catch (const Error& e) {
        if (e.code() == ErrorCode::kConflict) ++conflicts;
      }
    });
  }
  for (auto& t : threads) t.join();
  EXPECT_EQ(won.load(), 1);
  EXPECT_EQ(conflicts.load(), 5);
  const auto latest = repo->LatestAnnotations(capture);
  ASSERT_EQ(latest.size(), 1u);
  EXPECT_EQ(latest[0].version, 2);
}

// The audit order lock is taken by writers: an audited write waits while another session holds
// it exclusive (as ListAudit does), and none of its transaction is visible until that commits.
TEST_F(PostgresTest, AnAuditedWriteWaitsForTheAuditOrderLock) {
  auto repo = Open();
  pg::PgConnection foreign(url_);
  foreign.Exec("BEGIN");
  foreign.Exec("SELECT pg_advisory_xact_lock(" + std::to_string(internal::kAuditOrderLockKey) +
               ")");
  std::atomic<bool> done{false};
  std::thread writer([&] {
    PatientInfo p;
    p.id = "P001";
    try {
      repo->CreatePatient(p, "test");
    } catch (const std::exception& e) {
      ADD_FAILURE() << e.what();
    }
    done = true;
  });
  std::this_thread::sleep_for(std::chrono::milliseconds(500));
  EXPECT_FALSE(done.load()) << "the audited write did not wait for the audit order lock";
  EXPECT_FALSE(repo->FindPatient("P001"));  // (ListAudit would wait for the lock too)
  foreign.Exec("COMMIT");
  writer.join();
  EXPECT_TRUE(repo->FindPatient("P001"));
  EXPECT_EQ(repo->ListAudit({"", 0, 10}).size(), 1u);
}

// ... and by readers: a page waits while an audited write holds it shared (a foreign session in
// the middle of its commit), and then sees that write.
TEST_F(PostgresTest, AnAuditPageWaitsForTheAuditedCommitsInFlight) {
  auto repo = Open();
  pg::PgConnection foreign(url_);
  foreign.Exec("BEGIN");
  foreign.Exec("SELECT pg_advisory_xact_lock_shared(" +
               std::to_string(internal::kAuditOrderLockKey) + ")");
  foreign.Exec(
      "INSERT INTO audit_log (at, actor, action, object) VALUES (1, 'other', 'test.append', "
      "'entry:1')");
  std::atomic<bool> done{false};
  std::vector<AuditEntry> page;
  std::thread reader([&] {
    try {
      page = repo->ListAudit({"", 0, 10});
    } catch (const std::exception& e) {
      ADD_FAILURE() << e.what();
    }
    done = true;
  });
  std::this_thread::sleep_for(std::chrono::milliseconds(500));
  EXPECT_FALSE(done.load()) << "the page did not wait for the audit order lock";
  foreign.Exec("COMMIT");
  reader.join();
  ASSERT_EQ(page.size(), 1u);
  EXPECT_EQ(page[0].actor, "other");
}

// Four nodes append audit entries while a reader pages on with after_id = the last id it saw:
// without the audit order lock an id that commits after a larger one is passed over for good.
TEST_F(PostgresTest, PagingTheAuditLogByIdSkipsNoEntryCommittedLate) {
  constexpr int kNodes = 4;
  constexpr int kEntriesPerNode = 400;
  std::vector<std::unique_ptr<Repository>> nodes;
  nodes.reserve(kNodes);
  for (int i = 0; i < kNodes; ++i) nodes.push_back(Open());
  auto reader = Open();
  std::atomic<int> writing{kNodes};
  std::atomic<int> errors{0};
  std::vector<std::thread> writers;
  writers.reserve(kNodes);
  for (int n = 0; n < kNodes; ++n) {
    writers.emplace_back([&, n] {
      try {
        for (int i = 0; i < kEntriesPerNode; ++i) {
          AuditEntry e;
          e.actor = "node" + std::to_string(n);
          e.action = "test.append";
          e.object = "entry:" + std::to_string(i);
          nodes[static_cast<std::size_t>(n)]->AppendAudit(e);
        }
      } catch (const std::exception& e) {
        ++errors;
        ADD_FAILURE() << e.what();
      }
      --writing;
    });
  }
  std::set<std::int64_t> seen;
  std::int64_t after = 0;
  bool ordered = true;
  for (;;) {
    const bool last_pass = writing.load() == 0;  // every write committed before this snapshot
    const auto page = reader->ListAudit({"", after, 50});
    for (const AuditEntry& e : page) {
      ordered = ordered && e.id > after;
      seen.insert(e.id);
      after = e.id;
    }
    if (last_pass && page.empty()) break;
  }
  for (auto& t : writers) t.join();
  EXPECT_EQ(errors.load(), 0);
  EXPECT_TRUE(ordered);
  std::vector<std::int64_t> skipped;
  std::int64_t all = 0;
  for (std::int64_t from = 0;;) {
    const auto page = reader->ListAudit({"", from, 1000});
    if (page.empty()) break;
    for (const AuditEntry& e : page) {
      ++all;
      if (seen.count(e.id) == 0) skipped.push_back(e.id);
    }
    from = page.back().id;
  }
  EXPECT_EQ(all, kNodes * kEntriesPerNode);
  EXPECT_TRUE(skipped.empty()) << skipped.size() << " ids passed over, the first "
                               << (skipped.empty() ? 0 : skipped.front());
}

TEST(PostgresConnection, BadUrlsAndUnreachableServersAreReportedAsSuch) {
  EXPECT_EQ(CodeOf([] { OpenPostgresRepository("mysql://localhost/x"); }),
            ErrorCode::kInvalidArgument);
  testing::TempDir nowhere("pg-nowhere");
  EXPECT_EQ(CodeOf([&] {
              OpenPostgresRepository("postgresql://skintrack@/x?host=" + nowhere.str() +
                                     "&connect_timeout=2");
            }),
            ErrorCode::kStorage);
  StoreOptions options;
  options.repository.database = "sqlite:///x";
  EXPECT_EQ(CodeOf([&] { Store::OpenDataDir(nowhere.str(), options); }),
            ErrorCode::kInvalidArgument);
}

}  // namespace
}  // namespace skintrack::storage
