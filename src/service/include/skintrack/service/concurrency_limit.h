// A counting semaphore with a bounded wait: the service's caps on concurrent work that holds a
// request handler thread for long (image decodes, ?wait=true waiters). A request that cannot get
// a slot in time is answered at once instead of queueing behind the others (and /healthz).
#pragma once

#include <condition_variable>
#include <mutex>

namespace skintrack::service {

// Thread-safe.
class ConcurrencyLimit {
 public:
  // `capacity` >= 1, else Error(kInvalidArgument).
  explicit ConcurrencyLimit(int capacity);
  ConcurrencyLimit(const ConcurrencyLimit&) = delete;
  ConcurrencyLimit& operator=(const ConcurrencyLimit&) = delete;

  // Takes a slot, waiting up to `wait_s` seconds (0: not at all) for one to free up. Returns
  // whether it got one; a slot taken must be given back with Release().
  bool TryAcquire(double wait_s);
  void Release();

  int capacity() const { return capacity_; }
  int in_use() const;

 private:
  const int capacity_;
  mutable std::mutex mutex_;
  std::condition_variable freed_;
  int in_use_ = 0;
};

// Holds one slot of a ConcurrencyLimit for its lifetime, if it got one.
class ConcurrencySlot {
 public:
  ConcurrencySlot(ConcurrencyLimit& limit, double wait_s)
      : limit_(limit), held_(limit.TryAcquire(wait_s)) {}
  ~ConcurrencySlot() {
    if (held_) limit_.Release();
  }
  ConcurrencySlot(const ConcurrencySlot&) = delete;
  ConcurrencySlot& operator=(const ConcurrencySlot&) = delete;
  bool held() const { return held_; }

 private:
  ConcurrencyLimit& limit_;
  const bool held_;
};

}  // namespace skintrack::service
