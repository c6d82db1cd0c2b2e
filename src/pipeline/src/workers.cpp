#include "skintrack/pipeline/workers.h"

#include <chrono>
#include <functional>
#include <iostream>

#include "skintrack/core/error.h"
#include "skintrack/pipeline/lease_heartbeat.h"
#include "skintrack/storage/store.h"

namespace skintrack::pipeline {
namespace {

// A capture whose results found no room is due again after this. Freed space is not signalled,
// so the queue polls; a try while the disk is still full costs one decode and segmentation.
constexpr std::int64_t kStorageFullRetryMs = std::int64_t{30} * 1000;
// How often a worker retries recording an outcome while the database takes no writes.
constexpr auto kRecordRetry = std::chrono::seconds(1);

void Log(const std::string& worker, const std::string& message) {
  std::cerr << "skintrack: " + worker + ": " + message + "\n" << std::flush;
}

bool DatabaseWriteFailure(ErrorCode code) {
  return code == ErrorCode::kStorageFull || code == ErrorCode::kStorage;
}

// A change to the site's baseline that came while the capture was processed
// (RequeueIfBaselineChanged) puts it back in the queue. Should that fail, the capture keeps what
// it has and the failure is logged.
void RequeueIfStale(storage::Store& store, const PipelineOptions& options,
                    const storage::Capture& capture, const BaselineAsRead& as_read,
                    const std::string& worker) {
  const std::string name = "capture " + std::to_string(capture.id);
  try {
    if (RequeueIfBaselineChanged(store, capture, options, as_read, worker) > 0) {
      Log(worker, name + ": its site's baseline changed while it was processed; requeued");
    }
  } catch (const std::exception& e) {
    Log(worker, name + ": could not check its site's baseline again: " + e.what());
  }
}

}  // namespace

WorkerPool::WorkerPool(storage::Store& store, PipelineOptions options)
    : store_(store), options_(std::move(options)) {
  options_.Check();
}

WorkerPool::~WorkerPool() { Stop(); }

void WorkerPool::Start() {
  std::lock_guard<std::mutex> lock(mutex_);
  stopping_ = false;
  for (int i = static_cast<int>(threads_.size()); i < options_.workers; ++i) {
    threads_.emplace_back([this, i] { Run(i); });
  }
}

void WorkerPool::Stop() {
  {
    std::lock_guard<std::mutex> lock(mutex_);
    stopping_ = true;
  }
  wake_.notify_all();
  for (auto& t : threads_) t.join();
  threads_.clear();
}

void WorkerPool::Notify() { wake_.notify_all(); }

bool WorkerPool::WaitFor(std::int64_t capture_id, double timeout_s) {
  const auto deadline = std::chrono::steady_clock::now() +
                        std::chrono::duration_cast<std::chrono::steady_clock::duration>(
                            std::chrono::duration<double>(timeout_s));
  std::unique_lock<std::mutex> lock(mutex_);
  while (true) {
    lock.unlock();
    const auto c = store_.repository().FindCapture(capture_id);
    lock.lock();
    if (!c || c->status == storage::CaptureStatus::kProcessed ||
        c->status == storage::CaptureStatus::kFailed) {
      return true;
    }
    if (std::chrono::steady_clock::now() >= deadline) return false;
    done_.wait_until(lock, std::min(deadline, std::chrono::steady_clock::now() +
                                                  std::chrono::milliseconds(200)));
  }
}

void WorkerPool::Run(int index) {
  // Unique per process: several nodes may share the queue (Store::WorkerId).
  const std::string worker = store_.WorkerId(index);
  bool claim_failing = false;  // logged once per episode, not every pause
  while (true) {
    {
      std::lock_guard<std::mutex> lock(mutex_);
      if (stopping_) return;
    }
    std::optional<storage::WorkItem> item;
    try {
      item = store_.repository().ClaimWork(worker, options_.lease_ms);
      if (claim_failing) Log(worker, "the work queue takes writes again");
      claim_failing = false;
    } catch (const Error& e) {
      item.reset();  // a busy or full database: try again after a pause
      if (!claim_failing) Log(worker, std::string("cannot claim work: ") + e.what());
      claim_failing = true;
    }
    if (!item) {
      std::unique_lock<std::mutex> lock(mutex_);
      if (stopping_) return;
      wake_.wait_for(lock, std::chrono::milliseconds(500));
      continue;
    }
    ProcessOne(*item, worker);
    {
      std::lock_guard<std::mutex> lock(mutex_);
      ++generation_;
    }
    done_.notify_all();
  }
}

// Processes a claimed capture and records the outcome in the queue. No room for the results:
// the capture goes back to the queue at once without counting the attempt (ReleaseWork), due
// again after kStorageFullRetryMs. Other storage and I/O errors are retried (FailWork counts
// them against max_attempts); the rest fail the capture with the message. Every failure is
// logged to standard error.
void WorkerPool::ProcessOne(const storage::WorkItem& item, const std::string& worker) {
  const auto t0 = std::chrono::steady_clock::now();
  const std::int64_t id = item.capture.id;
  const std::string capture = "capture " + std::to_string(id);
  storage::Repository& repo = store_.repository();
  std::optional<ErrorCode> code;
  std::string error;
  BaselineAsRead as_read;
  {
    LeaseHeartbeat heartbeat(repo, id, worker, options_.lease_ms);
    try {
      ProcessCapture(store_, item.capture, options_, worker, &as_read);
    } catch (const Error& e) {
      code = e.code();
      error = e.what();
    } catch (const std::exception& e) {
      code = ErrorCode::kInternal;
      error = std::string("internal error: ") + e.what();
    }
    if (heartbeat.lost()) {
      // Another worker holds the capture now and records its own outcome.
      Log(worker,
          capture + ": lease lost while processing (" + heartbeat.why() + "); outcome abandoned");
      return;
    }
  }
  if (!code) {
    // The results are stored: only the status is missing, so retry that rather than redo it all.
    if (RecordOutcome(worker, capture, [&] { repo.CompleteWork(id, worker); })) {
      ++stats_.processed;
      RequeueIfStale(store_, options_, item.capture, as_read, worker);
    }
  } else {
    ++stats_.failed;
    Log(worker, capture + ": " + ErrorCodeName(*code) + ": " + error);
    if (*code == ErrorCode::kStorageFull) {
      if (RecordOutcome(worker, capture,
                        [&] { repo.ReleaseWork(id, worker, error, kStorageFullRetryMs); })) {
        Log(worker, capture + ": no room to store its results; back in the queue, due in " +
                        std::to_string(kStorageFullRetryMs / 1000) + " s, attempt not counted");
      }
    } else {
      const bool retryable = *code == ErrorCode::kStorage || *code == ErrorCode::kIo;
      storage::CaptureStatus status = storage::CaptureStatus::kFailed;
      if (RecordOutcome(worker, capture,
                        [&] { status = repo.FailWork(id, worker, error, retryable); })) {
        Log(worker,
            capture + (status == storage::CaptureStatus::kQueued ? ": queued for another attempt"
                                                                 : ": marked failed"));
      }
    }
  }
  stats_.processing_micros +=
      std::chrono::duration_cast<std::chrono::microseconds>(std::chrono::steady_clock::now() - t0)
          .count();
}

// Runs `write` (the queue update that ends the lease), retrying every kRecordRetry while the
// database takes no writes: a disk that is still full must not leave the capture `processing`
// until its lease expires, and the update goes through as soon as space is back. Returns false
// when it was not recorded: the lease is someone else's now (kConflict, kNotFound), another
// error, or Stop() (the capture is requeued at the next start).
bool WorkerPool::RecordOutcome(const std::string& worker, const std::string& capture,
                               const std::function<void()>& write) {
  bool waiting = false;
  for (;;) {
    try {
      write();
      if (waiting) Log(worker, capture + ": outcome recorded, the database takes writes again");
      return true;
    } catch (const Error& e) {
      if (!DatabaseWriteFailure(e.code())) {
        Log(worker, capture + ": outcome not recorded: " + e.what());
        return false;
      }
      if (!waiting) {
        Log(worker, capture + ": cannot record its outcome (" + e.what() +
                        "); retrying every second until the database takes writes");
      }
      waiting = true;
    }
    std::unique_lock<std::mutex> lock(mutex_);
    if (wake_.wait_for(lock, kRecordRetry, [this] { return stopping_; })) {
      Log(worker, capture +
                      ": stopping with its outcome unrecorded; it is requeued at the next "
                      "start");
      return false;
    }
  }
}

}  // namespace skintrack::pipeline
