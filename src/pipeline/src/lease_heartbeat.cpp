#include "skintrack/pipeline/lease_heartbeat.h"

#include <algorithm>
#include <utility>

#include "skintrack/core/error.h"

namespace skintrack::pipeline {

LeaseHeartbeat::LeaseHeartbeat(storage::Repository& repository, std::int64_t capture_id,
                               std::string worker, std::int64_t lease_ms)
    : repository_(repository),
      capture_id_(capture_id),
      worker_(std::move(worker)),
      lease_ms_(lease_ms),
      // A third of the lease: two beats may fail (a busy database) before the lease runs out.
      period_(std::max<std::int64_t>(1, lease_ms / 3)),
      thread_([this] { Run(); }) {}

LeaseHeartbeat::~LeaseHeartbeat() {
  {
    std::lock_guard<std::mutex> lock(mutex_);
    stopping_ = true;
  }
  stop_cv_.notify_all();
  thread_.join();
}

bool LeaseHeartbeat::lost() const {
  std::lock_guard<std::mutex> lock(mutex_);
  return lost_;
}

std::string LeaseHeartbeat::why() const {
  std::lock_guard<std::mutex> lock(mutex_);
  return why_;
}

int LeaseHeartbeat::renewals() const {
  std::lock_guard<std::mutex> lock(mutex_);
  return renewals_;
}

void LeaseHeartbeat::Run() {
  std::unique_lock<std::mutex> lock(mutex_);
  while (!stop_cv_.wait_for(lock, period_, [this] { return stopping_; })) {
    lock.unlock();
    bool taken = false;
    std::string error;
    try {
      repository_.RenewLease(capture_id_, worker_, lease_ms_);
    } catch (const Error& e) {
      taken = e.code() == ErrorCode::kConflict || e.code() == ErrorCode::kNotFound;
      error = e.what();
    } catch (const std::exception& e) {
      error = e.what();
    }
    lock.lock();
    if (taken) {
      lost_ = true;
      why_ = error;
      return;
    }
    if (error.empty()) ++renewals_;
  }
}

}  // namespace skintrack::pipeline
