#include "skintrack/service/concurrency_limit.h"

#include <chrono>
#include <string>

#include "skintrack/core/error.h"

namespace skintrack::service {

ConcurrencyLimit::ConcurrencyLimit(int capacity) : capacity_(capacity) {
  if (capacity < 1) {
    throw Error(ErrorCode::kInvalidArgument,
                "a concurrency limit must be at least 1, got " + std::to_string(capacity));
  }
}

bool ConcurrencyLimit::TryAcquire(double wait_s) {
  std::unique_lock<std::mutex> lock(mutex_);
  const auto wait = std::chrono::duration<double>(wait_s > 0 ? wait_s : 0);
  if (!freed_.wait_for(lock, wait, [this] { return in_use_ < capacity_; })) return false;
  ++in_use_;
  return true;
}

void ConcurrencyLimit::Release() {
  {
    std::lock_guard<std::mutex> lock(mutex_);
    --in_use_;
  }
  freed_.notify_one();
}

int ConcurrencyLimit::in_use() const {
  std::lock_guard<std::mutex> lock(mutex_);
  return in_use_;
}

}  // namespace skintrack::service
