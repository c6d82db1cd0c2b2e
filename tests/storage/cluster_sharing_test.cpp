// What the nodes of a cluster share besides the queue (issue 17): settings written once in the
// database (the pseudonym key lives there) and one blob directory, in which each node keeps its
// temp files and pending markers apart so that a node's start-up clean-up never removes another
// node's blob in flight.
#include <gtest/gtest.h>

#include <atomic>
#include <filesystem>
#include <thread>
#include <vector>

#include "../support/error_code_of.h"
#include "../support/pg_cluster.h"
#include "../support/storage_backends.h"
#include "pg_internal.h"
#include "skintrack/core/error.h"
#include "skintrack/storage/blob_store.h"
#include "skintrack/storage/sha256.h"
#include "skintrack/storage/store.h"

namespace skintrack::storage {
namespace {

using skintrack::testing::TempDir;

using skintrack::testing::CodeOf;

TEST(SharedSettings, SqliteHasNoneButChecksTheNameAndValue) {
  auto store = Store::OpenInMemory();
  EXPECT_FALSE(store->repository().SharedSetting("pseudonym_key", "x"));
  EXPECT_EQ(CodeOf([&] { store->repository().SharedSetting("Bad-Name", "x"); }),
            ErrorCode::kInvalidArgument);
  EXPECT_EQ(CodeOf([&] { store->repository().SharedSetting("ok", ""); }),
            ErrorCode::kInvalidArgument);
}

TEST(SharedSettingsPostgres, TheFirstWriterWinsOnEveryNodeAndTheValueNeverChanges) {
  const std::string url = testing::FreshPostgresDatabase();
  if (url.empty()) GTEST_SKIP() << testing::PgCluster::Get().why_unavailable();
  // Four "nodes" ask at once, each proposing its own value: all get one and the same.
  std::vector<std::string> got(4);
  std::vector<std::thread> nodes;
  nodes.reserve(4);
  for (int i = 0; i < 4; ++i) {
    nodes.emplace_back([&, i] {
      auto repo = OpenPostgresRepository(url);
      got[i] = repo->SharedSetting("pseudonym_key", "value of node " + std::to_string(i)).value();
    });
  }
  for (auto& t : nodes) t.join();
  for (const std::string& v : got) EXPECT_EQ(v, got[0]);
  EXPECT_EQ(got[0].rfind("value of node ", 0), 0U);
  auto repo = OpenPostgresRepository(url);
  EXPECT_EQ(repo->SharedSetting("pseudonym_key", "another").value(), got[0]);
  EXPECT_EQ(repo->SharedSetting("other_setting", "b").value(), "b");
  EXPECT_EQ(CodeOf([&] { repo->SharedSetting("bad name", "x"); }), ErrorCode::kInvalidArgument);
  // The database refuses to change or remove a value, whoever asks.
  EXPECT_EQ(
      CodeOf([&] { internal::ExecPostgres(url, "UPDATE shared_settings SET value = 'changed'"); }),
      ErrorCode::kConflict);
  EXPECT_EQ(CodeOf([&] { internal::ExecPostgres(url, "DELETE FROM shared_settings"); }),
            ErrorCode::kConflict);
  EXPECT_EQ(CodeOf([&] { internal::ExecPostgres(url, "TRUNCATE shared_settings"); }),
            ErrorCode::kConflict);
  EXPECT_EQ(repo->SharedSetting("pseudonym_key", "x").value(), got[0]);
  EXPECT_EQ(repo->IntegrityCheck(), "ok");
  internal::ExecPostgres(url,
                         "ALTER TABLE shared_settings DISABLE TRIGGER shared_settings_immutable");
  EXPECT_NE(repo->IntegrityCheck().find("shared_settings_immutable is disabled"),
            std::string::npos);
}

TEST(SharedBlobDirectory, IsRefusedWithoutASharedDatabase) {
  TempDir dir("blob-dir-sqlite");
  StoreOptions o;
  o.blob_dir = dir.str() + "/shared";
  EXPECT_EQ(CodeOf([&] { Store::OpenDataDir(dir.str() + "/node", o); }),
            ErrorCode::kInvalidArgument);
  EXPECT_FALSE(std::filesystem::exists(dir.str() + "/node/skintrack.db"));
}

TEST(SharedBlobDirectory, EachNodeKeepsItsMarkersApart) {
  TempDir dir("blob-dir-markers");
  const std::string root = dir.str() + "/shared";
  auto a = OpenFileBlobStore(root, "node-a");
  auto b = OpenFileBlobStore(root, "node-b");
  // Node B is in the middle of a put (blob durable, row not committed yet): its marker is in
  // its own folder, so node A's start-up clean-up does not see it.
  const BlobPut put = b->Put("bytes of node b");
  EXPECT_FALSE(put.pending.empty());
  EXPECT_TRUE(a->ListPending().empty());
  ASSERT_EQ(b->ListPending().size(), 1U);
  EXPECT_EQ(b->ListPending()[0].sha256, put.ref.sha256);
  // Both see every blob.
  EXPECT_TRUE(a->Exists(put.ref.sha256));
  EXPECT_EQ(a->Get(put.ref.sha256), "bytes of node b");
  EXPECT_TRUE(std::filesystem::is_directory(root + "/tmp/node-a"));
  EXPECT_EQ(CodeOf([&] { OpenFileBlobStore(root, "../x"); }), ErrorCode::kInvalidArgument);
}

TEST(SharedBlobDirectoryPostgres, ANodeStartingNeverRemovesAnotherNodesBlobInFlight) {
  const std::string url = testing::FreshPostgresDatabase();
  if (url.empty()) GTEST_SKIP() << testing::PgCluster::Get().why_unavailable();
  TempDir dir("blob-dir-nodes");
  StoreOptions o;
  o.repository.database = url;
  o.blob_dir = dir.str() + "/shared";
  auto node_a = Store::OpenDataDir(dir.str() + "/a", o);
  PatientInfo p;
  p.id = "P001";
  node_a->repository().CreatePatient(p, "test");
  // Node A's ingest has its blob durable and waits in the check that runs beside the write
  // (as a 12 MP decode would): its row is not committed yet.
  std::atomic<bool> in_flight{false};
  std::atomic<bool> release{false};
  std::thread ingest([&] {
    NewCapture c;
    c.patient_id = "P001";
    c.site = "scalp";
    c.width = c.height = 8;
    node_a->IngestCapture(c, "photo of node a", "test", [&] {
      in_flight = true;
      while (!release) std::this_thread::yield();
    });
  });
  while (!in_flight) std::this_thread::yield();
  std::this_thread::sleep_for(std::chrono::milliseconds(50));  // the blob's put completes
  // Node B starts meanwhile and runs its start-up clean-up on the shared directory.
  auto node_b = Store::OpenDataDir(dir.str() + "/b", o);
  EXPECT_EQ(node_b->last_recovery().orphan_blobs_removed, 0);
  release = true;
  ingest.join();
  const std::string sha = Sha256Hex(std::string("photo of node a"));
  EXPECT_EQ(node_b->ReadBlob(sha), "photo of node a");
  const CheckReport check = node_b->Check(true);
  EXPECT_TRUE(check.ok()) << check.missing.size() << " missing, " << check.unreferenced.size()
                          << " unreferenced";
  EXPECT_EQ(check.referenced_blobs, 1);
}

}  // namespace
}  // namespace skintrack::storage
