// The processing workers: threads that take captures from the durable queue in storage (leases,
// so a crashed worker's capture is taken again) and run ProcessCapture. A restart resumes
// unfinished work.
#pragma once

#include <atomic>
#include <condition_variable>
#include <cstdint>
#include <functional>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "skintrack/pipeline/pipeline.h"
#include "skintrack/storage/store.h"

namespace skintrack::pipeline {

// Counters exported at /metrics.
struct PipelineStats {
  std::atomic<std::int64_t> processed{0}, failed{0};
  std::atomic<std::int64_t> processing_micros{0};  // total processing time
};

class WorkerPool {
 public:
  // Throws Error(kInvalidArgument) for bad options.
  WorkerPool(storage::Store& store, PipelineOptions options);
  ~WorkerPool();  // Stop()s
  WorkerPool(const WorkerPool&) = delete;
  WorkerPool& operator=(const WorkerPool&) = delete;

  void Start();
  // Lets the workers finish the capture each is processing, then joins them. Queued captures stay
  // queued in storage for the next start.
  void Stop();
  // Wakes idle workers (a capture was just queued).
  void Notify();
  // Blocks until the capture is processed or failed, or `timeout_s` passes; returns whether it
  // finished. Thread-safe.
  bool WaitFor(std::int64_t capture_id, double timeout_s);

  const PipelineStats& stats() const { return stats_; }

 private:
  void Run(int index);
  void ProcessOne(const storage::WorkItem& item, const std::string& worker);
  bool RecordOutcome(const std::string& worker, const std::string& capture,
                     const std::function<void()>& write);

  storage::Store& store_;
  PipelineOptions options_;
  std::vector<std::thread> threads_;
  std::mutex mutex_;
  std::condition_variable wake_, done_;
  bool stopping_ = false;
  std::uint64_t generation_ = 0;  // bumped on every completion, for WaitFor
  PipelineStats stats_;
};

}  // namespace skintrack::pipeline
