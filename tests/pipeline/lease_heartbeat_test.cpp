// The heartbeat of a claimed capture (issue 17): it keeps a lease alive past its length while
// the worker processes, and reports the lease lost once another worker holds the capture.
#include "skintrack/pipeline/lease_heartbeat.h"

#include <gtest/gtest.h>

#include <chrono>
#include <thread>

#include "skintrack/storage/store.h"

namespace skintrack::pipeline {
namespace {

using std::chrono::milliseconds;

class LeaseHeartbeatTest : public ::testing::Test {
 protected:
  void SetUp() override {
    store_ = storage::Store::OpenInMemory();
    storage::PatientInfo p;
    p.id = "P001";
    repo().CreatePatient(p, "test");
    storage::NewCapture c;
    c.patient_id = "P001";
    c.site = "scalp";
    c.width = c.height = 8;
    id_ = store_->IngestCapture(c, "bytes", "test").capture.id;
  }
  storage::Repository& repo() { return store_->repository(); }
  std::unique_ptr<storage::Store> store_;
  std::int64_t id_ = 0;
};

TEST_F(LeaseHeartbeatTest, KeepsTheLeaseWhileTheWorkerIsBusyAndLetsItRunOutAfterwards) {
  constexpr std::int64_t kLease = 1500;
  ASSERT_TRUE(repo().ClaimWork("worker:a", kLease));
  {
    LeaseHeartbeat heartbeat(repo(), id_, "worker:a", kLease);
    std::this_thread::sleep_for(milliseconds(2 * kLease));  // "processing" twice the lease
    EXPECT_FALSE(repo().ClaimWork("worker:b", kLease)) << "the lease ran out despite heartbeats";
    EXPECT_GE(heartbeat.renewals(), 1);
    EXPECT_FALSE(heartbeat.lost());
  }
  std::this_thread::sleep_for(milliseconds(kLease + 100));  // no heartbeat: it expires
  const auto taken = repo().ClaimWork("worker:b", kLease);
  ASSERT_TRUE(taken);
  EXPECT_EQ(taken->capture.id, id_);
}

TEST_F(LeaseHeartbeatTest, ReportsTheLeaseLostOnceAnotherWorkerHoldsTheCapture) {
  constexpr std::int64_t kLease = 600;
  ASSERT_TRUE(repo().ClaimWork("worker:a", kLease));
  LeaseHeartbeat heartbeat(repo(), id_, "worker:a", kLease);
  // As if worker a's lease had run out and b had claimed the capture.
  ASSERT_EQ(repo().RequeueInterrupted(""), 1);
  ASSERT_TRUE(repo().ClaimWork("worker:b", 600000));
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(20);
  while (!heartbeat.lost() && std::chrono::steady_clock::now() < deadline) {
    std::this_thread::sleep_for(milliseconds(20));
  }
  ASSERT_TRUE(heartbeat.lost());
  EXPECT_NE(heartbeat.why().find("not leased to worker:a"), std::string::npos) << heartbeat.why();
  // b's lease is untouched by a's failed renewals.
  EXPECT_EQ(repo().FindCapture(id_)->status, storage::CaptureStatus::kProcessing);
  repo().CompleteWork(id_, "worker:b");
}

}  // namespace
}  // namespace skintrack::pipeline
