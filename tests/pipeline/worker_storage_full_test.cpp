// A worker whose results find no room (issue 13, item 9): the capture goes back to the queue at
// once, without using up an attempt, and the worker says so on standard error; when the database
// itself takes no writes the worker keeps the capture only until it does. Before, capture 23 of
// the attack stayed `processing` for its whole 10-minute lease, silently.
#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <thread>

#include "../support/full_disk.h"
#include "phantom_store.h"
#include "skintrack/pipeline/workers.h"

namespace skintrack::pipeline {
namespace {

using std::chrono::milliseconds;
using std::chrono::steady_clock;

// The repository's clock stands still: nothing becomes due and no lease expires by itself, so
// whatever moves a capture out of `processing` is the worker.
class WorkerStorageFullTest : public ::testing::Test {
 protected:
  void SetUp() override {
    storage::RepositoryOptions ro;
    ro.clock = [this] { return now_.load(); };
    store_ = skintrack::testing::OpenFullableStore(disk_, ro);
    id_ = testing::StoreSeries(*store_, "P1", "left-forearm", testing::SmallSeries(5, 1))[0];
    options_.workers = 1;
    options_.lease_ms = std::int64_t{10} * 60 * 1000;
  }

  storage::Capture Capture() { return *store_->repository().FindCapture(id_); }

  // Polls `done` for up to `timeout`; returns whether it held.
  template <typename F>
  static bool Eventually(F done, milliseconds timeout) {
    const auto deadline = steady_clock::now() + timeout;
    while (steady_clock::now() < deadline) {
      if (done()) return true;
      std::this_thread::sleep_for(milliseconds(20));
    }
    return done();
  }

  std::atomic<storage::TimeMs> now_{1'800'000'000'000};
  std::shared_ptr<skintrack::testing::Disk> disk_ = std::make_shared<skintrack::testing::Disk>();
  std::unique_ptr<storage::Store> store_;
  std::int64_t id_ = 0;
  PipelineOptions options_;
};

TEST_F(WorkerStorageFullTest, NoRoomForTheResultsReleasesTheLeaseAtOnceWithoutUsingAnAttempt) {
  disk_->blobs_full = true;  // the masks do not fit; a row update still does
  ::testing::internal::CaptureStderr();
  WorkerPool pool(*store_, options_);
  pool.Start();
  const bool released = Eventually(
      [&] {
        return disk_->refused_blob_writes > 0 &&
               Capture().status == storage::CaptureStatus::kQueued;
      },
      milliseconds(30000));
  pool.Stop();
  const std::string log = ::testing::internal::GetCapturedStderr();
  ASSERT_TRUE(released) << "status " << storage::CaptureStatusName(Capture().status);
  const storage::Capture c = Capture();
  EXPECT_EQ(c.attempts, 0) << "a full disk must not use up the capture's attempts";
  EXPECT_NE(c.last_error.find("No space left on device"), std::string::npos) << c.last_error;
  EXPECT_NE(log.find("capture " + std::to_string(id_) + ": no room to store its results"),
            std::string::npos)
      << log;
  EXPECT_NE(log.find("attempt not counted"), std::string::npos) << log;

  // Due again after the storage-full delay, not before; and as often as the disk stays full: the
  // capture is never marked failed for it.
  storage::Repository& repo = store_->repository();
  EXPECT_FALSE(repo.ClaimWork("worker:probe", 60000).has_value());
  for (int round = 0; round < 8; ++round) {  // more rounds than max_attempts (5)
    now_ += 31000;
    const auto item = repo.ClaimWork("worker:probe", 60000);
    ASSERT_TRUE(item.has_value()) << "round " << round;
    EXPECT_EQ(item->capture.attempts, 1);
    repo.ReleaseWork(id_, "worker:probe", "no room", 30000);
  }
  EXPECT_EQ(Capture().status, storage::CaptureStatus::kQueued);

  // Space is back: the next attempt processes it.
  disk_->blobs_full = false;
  now_ += 31000;
  ::testing::internal::CaptureStderr();
  pool.Start();
  const bool processed = Eventually(
      [&] { return Capture().status == storage::CaptureStatus::kProcessed; }, milliseconds(30000));
  pool.Stop();
  ::testing::internal::GetCapturedStderr();
  EXPECT_TRUE(processed) << storage::CaptureStatusName(Capture().status);
}

TEST_F(WorkerStorageFullTest, WhenTheDatabaseIsFullTooTheLeaseGoesAsSoonAsItTakesWrites) {
  disk_->blobs_full = true;
  disk_->fill_database_on_blob_failure = true;  // the claim fits, the release does not
  ::testing::internal::CaptureStderr();
  WorkerPool pool(*store_, options_);
  pool.Start();
  // The worker keeps trying to release (about once a second) while the capture stays leased.
  const bool retrying =
      Eventually([&] { return disk_->refused_database_writes >= 3; }, milliseconds(30000));
  const storage::CaptureStatus while_full = Capture().status;
  disk_->fill_database_on_blob_failure = false;
  disk_->database_full = false;  // space is back (for the database; the blobs stay full)
  const auto t0 = steady_clock::now();
  const bool released = Eventually(
      [&] { return Capture().status == storage::CaptureStatus::kQueued; }, milliseconds(5000));
  const auto took = steady_clock::now() - t0;
  pool.Stop();
  const std::string log = ::testing::internal::GetCapturedStderr();
  ASSERT_TRUE(retrying);
  EXPECT_EQ(while_full, storage::CaptureStatus::kProcessing);
  ASSERT_TRUE(released) << storage::CaptureStatusName(Capture().status) << "\n" << log;
  EXPECT_LT(took, milliseconds(2500)) << "released when space came back, not at lease expiry";
  EXPECT_EQ(Capture().attempts, 0);
  const std::string capture = "capture " + std::to_string(id_);
  EXPECT_NE(log.find(capture + ": cannot record its outcome"), std::string::npos) << log;
  EXPECT_NE(log.find(capture + ": outcome recorded"), std::string::npos) << log;
  // One line for the episode, not one per retry.
  std::size_t lines = 0;
  for (std::size_t p = log.find("cannot record"); p != std::string::npos;
       p = log.find("cannot record", p + 1)) {
    ++lines;
  }
  EXPECT_EQ(lines, 1u) << log;
}

TEST_F(WorkerStorageFullTest, StopDoesNotWaitForTheDiskAndRestartRequeues) {
  disk_->blobs_full = true;
  disk_->fill_database_on_blob_failure = true;
  ::testing::internal::CaptureStderr();
  auto pool = std::make_unique<WorkerPool>(*store_, options_);
  pool->Start();
  ASSERT_TRUE(Eventually([&] { return disk_->refused_database_writes >= 1; }, milliseconds(30000)));
  const auto t0 = steady_clock::now();
  pool->Stop();
  EXPECT_LT(steady_clock::now() - t0, milliseconds(2000));
  const std::string log = ::testing::internal::GetCapturedStderr();
  EXPECT_NE(log.find("stopping with its outcome unrecorded"), std::string::npos) << log;
  EXPECT_EQ(Capture().status, storage::CaptureStatus::kProcessing);
  disk_->database_full = false;
  disk_->fill_database_on_blob_failure = false;
  EXPECT_EQ(store_->repository().RequeueInterrupted(store_->NodeWorkerPrefix()),
            1);  // what the next start does
}

TEST_F(WorkerStorageFullTest, AQueueThatTakesNoWritesIsLoggedOncePerEpisode) {
  disk_->database_full = true;  // not even a claim fits
  ::testing::internal::CaptureStderr();
  WorkerPool pool(*store_, options_);
  pool.Start();
  const bool tried =
      Eventually([&] { return disk_->refused_database_writes >= 3; }, milliseconds(10000));
  disk_->database_full = false;
  const bool claimed = Eventually(
      [&] { return Capture().status != storage::CaptureStatus::kQueued; }, milliseconds(5000));
  pool.Stop();
  const std::string log = ::testing::internal::GetCapturedStderr();
  ASSERT_TRUE(tried);
  EXPECT_TRUE(claimed);
  std::size_t lines = 0;
  for (std::size_t p = log.find("cannot claim work"); p != std::string::npos;
       p = log.find("cannot claim work", p + 1)) {
    ++lines;
  }
  EXPECT_EQ(lines, 1u) << log;
  EXPECT_NE(log.find("the work queue takes writes again"), std::string::npos) << log;
}

}  // namespace
}  // namespace skintrack::pipeline
