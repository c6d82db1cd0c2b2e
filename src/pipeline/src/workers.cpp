#include "skintrack/pipeline/workers.h"

#include <chrono>

#include "skintrack/core/error.h"
#include "skintrack/storage/store.h"

namespace skintrack::pipeline {

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
  const std::string worker = "worker:" + std::to_string(index);
  while (true) {
    {
      std::lock_guard<std::mutex> lock(mutex_);
      if (stopping_) return;
    }
    std::optional<storage::WorkItem> item;
    try {
      item = store_.repository().ClaimWork(worker, options_.lease_ms);
    } catch (const Error&) {
      item.reset();  // a busy database: try again after a pause
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

// Processes a claimed capture and records the outcome in the queue: storage and I/O errors are
// retried, others fail the capture with the message.
void WorkerPool::ProcessOne(const storage::WorkItem& item, const std::string& worker) {
  const auto t0 = std::chrono::steady_clock::now();
  try {
    ProcessCapture(store_, item.capture, options_, worker);
    store_.repository().CompleteWork(item.capture.id, worker);
    ++stats_.processed;
  } catch (const Error& e) {
    ++stats_.failed;
    const bool retryable = e.code() == ErrorCode::kStorage || e.code() == ErrorCode::kIo;
    try {
      store_.repository().FailWork(item.capture.id, worker, e.what(), retryable);
    } catch (const Error&) {
      // The lease expired and another worker took the capture: nothing to record here.
    }
  } catch (const std::exception& e) {
    ++stats_.failed;
    try {
      store_.repository().FailWork(item.capture.id, worker,
                                   std::string("internal error: ") + e.what(), false);
    } catch (const Error&) {
    }
  }
  stats_.processing_micros +=
      std::chrono::duration_cast<std::chrono::microseconds>(std::chrono::steady_clock::now() - t0)
          .count();
}

}  // namespace skintrack::pipeline
