// Leases for several nodes (issue 17): the heartbeat's RenewLease on every backend, worker ids
// unique per process with a node prefix that survives a restart, and a start-up that requeues
// only this node's interrupted captures and expired leases on a shared PostgreSQL queue, never a
// live node's.
#include <gtest/gtest.h>

#include <fstream>

#include "../support/error_code_of.h"
#include "../support/storage_backends.h"
#include "skintrack/core/error.h"
#include "skintrack/storage/sha256.h"
#include "skintrack/storage/store.h"

namespace skintrack::storage {
namespace {

using skintrack::testing::Backend;
using skintrack::testing::BackendFactory;
using skintrack::testing::TempDir;

using skintrack::testing::CodeOf;

std::int64_t AddCapture(Store& store, int seed) {
  if (!store.repository().FindPatient("P001")) {
    PatientInfo p;
    p.id = "P001";
    store.repository().CreatePatient(p, "test");
  }
  NewCapture c;
  c.patient_id = "P001";
  c.site = "scalp";
  c.captured_at = seed;
  c.width = c.height = 8;
  return store.IngestCapture(c, "bytes " + std::to_string(seed), "test").capture.id;
}

class LeaseTest : public ::testing::TestWithParam<Backend> {
 protected:
  void SetUp() override {
    if (!factory_.Prepare()) GTEST_SKIP() << factory_.SkipReason();
  }
  std::unique_ptr<Store> Open(TimeMs* clock = nullptr) {
    StoreOptions o;
    if (clock) o.repository.clock = [clock] { return *clock; };
    return factory_.Open(o);
  }
  BackendFactory factory_{GetParam(), "lease"};
};

TEST_P(LeaseTest, ARenewedLeaseIsNotTakenOverAndARenewalOfATakenLeaseIsRefused) {
  TimeMs now = 1000000;
  auto store = Open(&now);
  Repository& repo = store->repository();
  const std::int64_t id = AddCapture(*store, 1);
  ASSERT_TRUE(repo.ClaimWork("worker:a", 1000));
  now += 900;
  EXPECT_EQ(repo.RenewLease(id, "worker:a", 1000), now + 1000);
  now += 600;  // past the first expiry, inside the renewed one
  EXPECT_FALSE(repo.ClaimWork("worker:b", 1000));
  now += 500;  // the renewed lease ran out too
  const auto taken = repo.ClaimWork("worker:b", 1000);
  ASSERT_TRUE(taken);
  EXPECT_EQ(taken->capture.id, id);
  EXPECT_EQ(CodeOf([&] { repo.RenewLease(id, "worker:a", 1000); }), ErrorCode::kConflict);
  EXPECT_EQ(repo.RenewLease(id, "worker:b", 1000), now + 1000);
  repo.CompleteWork(id, "worker:b");
  // Processed: no one's lease to renew.
  EXPECT_EQ(CodeOf([&] { repo.RenewLease(id, "worker:b", 1000); }), ErrorCode::kConflict);
  EXPECT_EQ(CodeOf([&] { repo.RenewLease(424242, "worker:b", 1000); }), ErrorCode::kNotFound);
  EXPECT_EQ(CodeOf([&] { repo.RenewLease(id, "worker:b", 0); }), ErrorCode::kInvalidArgument);
  EXPECT_EQ(CodeOf([&] { repo.RenewLease(id, "bad worker!", 1000); }), ErrorCode::kInvalidArgument);
}

TEST_P(LeaseTest, WorkerIdsAreUniquePerProcessWithTheNodesPrefix) {
  auto store = Open();
  const std::string prefix = store->NodeWorkerPrefix();
  EXPECT_EQ(prefix.rfind("worker:", 0), 0u);
  EXPECT_EQ(store->WorkerId(0).rfind(prefix, 0), 0u);
  EXPECT_NE(store->WorkerId(0), store->WorkerId(1));
  EXPECT_NO_THROW(ValidateActor(store->WorkerId(63)));
  EXPECT_NE(store->WorkerId(0).find(":" + std::to_string(::getpid()) + "."), std::string::npos);
}

INSTANTIATE_TEST_SUITE_P(Backends, LeaseTest,
                         ::testing::Values(Backend::kMemory, Backend::kFiles, Backend::kPostgres),
                         testing::BackendParamName());

TEST(NodeId, ADataDirectoryKeepsItsNodeIdAcrossRestartsAndRefusesAnEditedOne) {
  TempDir dir("nodeid");
  std::string first;
  {
    auto store = Store::OpenDataDir(dir.str());
    first = store->NodeWorkerPrefix();
  }
  {
    auto store = Store::OpenDataDir(dir.str());
    EXPECT_EQ(store->NodeWorkerPrefix(), first);
  }
  TempDir other("nodeid");
  EXPECT_NE(Store::OpenDataDir(other.str())->NodeWorkerPrefix(), first);
  std::ofstream(dir.path() / "node-id") << "no spaces allowed\n";
  EXPECT_EQ(CodeOf([&] { Store::OpenDataDir(dir.str()); }), ErrorCode::kInvalidArgument);
  StoreOptions named;
  named.node_id = "node-7";
  TempDir third("nodeid");
  EXPECT_EQ(Store::OpenDataDir(third.str(), named)->NodeWorkerPrefix(), "worker:node-7:");
  named.node_id = "a/b";
  EXPECT_EQ(CodeOf([&] { named.Check(); }), ErrorCode::kInvalidArgument);
}

// Two nodes (two data directories) on one PostgreSQL queue: a restarted node takes back its own
// interrupted capture at once, leaves the live node's alone, and takes an expired one.
TEST(LeasePostgres, AStartRequeuesOnlyItsOwnAndExpiredLeasesNeverALiveNodes) {
  const std::string url = testing::FreshPostgresDatabase();
  if (url.empty()) GTEST_SKIP() << testing::PgCluster::Get().why_unavailable();
  StoreOptions o;
  o.repository.database = url;
  TempDir dir_a("node-a");
  TempDir dir_b("node-b");
  auto node_b = Store::OpenDataDir(dir_b.str(), o);
  std::int64_t own = 0;
  std::int64_t live = 0;
  std::int64_t expired = 0;
  {
    auto node_a = Store::OpenDataDir(dir_a.str(), o);
    own = AddCapture(*node_a, 1);
    live = AddCapture(*node_a, 2);
    expired = AddCapture(*node_a, 3);
    const auto a = node_a->repository().ClaimWork(node_a->WorkerId(0), 600000);
    ASSERT_TRUE(a);
    EXPECT_EQ(a->capture.id, own);
    ASSERT_TRUE(node_b->repository().ClaimWork(node_b->WorkerId(0), 600000));
    // A third node died with a lease of 1 ms: expired by the database clock.
    ASSERT_TRUE(node_b->repository().ClaimWork("worker:gone:1.1:0", 1));
  }  // node A stops without finishing its capture (as a SIGKILL would leave it)
  auto node_a = Store::OpenDataDir(dir_a.str(), o);
  EXPECT_EQ(node_a->last_recovery().requeued_captures, 2);
  Repository& repo = node_a->repository();
  EXPECT_EQ(repo.FindCapture(own)->status, CaptureStatus::kQueued);
  EXPECT_EQ(repo.FindCapture(expired)->status, CaptureStatus::kQueued);
  EXPECT_EQ(repo.FindCapture(live)->status, CaptureStatus::kProcessing);
  // The live node still holds its lease and finishes.
  node_b->repository().CompleteWork(live, node_b->WorkerId(0));
  // An empty prefix matches no owner: only expiry counts.
  ASSERT_TRUE(repo.ClaimWork(node_a->WorkerId(1), 600000));
  EXPECT_EQ(repo.RequeueInterrupted(""), 0);
}

}  // namespace
}  // namespace skintrack::storage
