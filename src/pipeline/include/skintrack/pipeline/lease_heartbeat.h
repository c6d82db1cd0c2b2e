// The heartbeat of a claimed capture: while a worker processes it, a thread renews the lease
// (Repository::RenewLease) every lease/3, so that a capture that takes longer than its lease is
// not taken over by another node while its worker is alive, and a dead worker's capture is taken
// over within one lease. When a renewal finds the lease someone else's (kConflict / kNotFound:
// it expired and another worker claimed it), the heartbeat stops and reports it lost: the worker
// must then abandon its outcome (docs/storage.md "Leases across nodes").
#pragma once

#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <mutex>
#include <string>
#include <thread>

#include "skintrack/storage/repository.h"

namespace skintrack::pipeline {

class LeaseHeartbeat {
 public:
  // Starts renewing the lease `worker` holds on `capture_id` for `lease_ms` every
  // lease_ms / 3. A failed renewal for any other reason (the database unavailable) is retried at
  // the next beat; the lease then runs out unless a later beat gets through.
  LeaseHeartbeat(storage::Repository& repository, std::int64_t capture_id, std::string worker,
                 std::int64_t lease_ms);
  ~LeaseHeartbeat();  // stops and joins; never throws
  LeaseHeartbeat(const LeaseHeartbeat&) = delete;
  LeaseHeartbeat& operator=(const LeaseHeartbeat&) = delete;

  // True once a renewal found the lease taken; why() then says so. Thread-safe.
  bool lost() const;
  std::string why() const;
  // Renewals that went through so far.
  int renewals() const;

 private:
  void Run();

  storage::Repository& repository_;
  const std::int64_t capture_id_;
  const std::string worker_;
  const std::int64_t lease_ms_;
  const std::chrono::milliseconds period_;
  mutable std::mutex mutex_;
  std::condition_variable stop_cv_;
  bool stopping_ = false;
  bool lost_ = false;
  std::string why_;
  int renewals_ = 0;
  std::thread thread_;  // last: started after every member it reads
};

}  // namespace skintrack::pipeline
