// The skintrack service, the HTTP edge: Service wires the data directory, the processing workers
// (src/pipeline) and the Beast server together for `skintrack serve`; the routes (api.h) are
// registered on a Router, testable without sockets.
#pragma once

#include <atomic>
#include <cstdint>
#include <memory>
#include <mutex>
#include <string>

#include "skintrack/pipeline/pipeline.h"
#include "skintrack/pipeline/workers.h"
#include "skintrack/service/api.h"
#include "skintrack/service/http.h"
#include "skintrack/service/image_intake.h"
#include "skintrack/service/server.h"

namespace skintrack::storage {
class Store;
}

namespace skintrack::service {

// Request counters and latency histogram for /metrics (Prometheus text format). Thread-safe.
class Metrics {
 public:
  void Observe(const HttpRequest& request, const HttpResponse& response, double seconds);
  // The exposition text; `queue_*` and `pipeline` add the processing gauges and counters.
  std::string Render(storage::Store& store, const pipeline::PipelineStats* pipeline) const;

 private:
  static constexpr int kBuckets = 10;
  static constexpr double kBucketBounds[kBuckets] = {0.005, 0.01, 0.025, 0.05, 0.1,
                                                     0.25,  0.5,  1.0,   2.5,  10.0};
  mutable std::mutex mutex_;
  std::int64_t by_class_[6] = {0, 0, 0, 0, 0, 0};  // 1xx..5xx (index 1..5)
  std::int64_t buckets_[kBuckets] = {};
  std::int64_t count_ = 0;
  double sum_seconds_ = 0;
};

struct ServiceOptions {
  std::string data_dir = "skintrack-data";
  // Empty: the data directory's SQLite database. "postgresql://...": the metadata in that
  // PostgreSQL database (storage::RepositoryOptions::database).
  std::string database;
  // With `database`: the blob directory every node shares (storage::StoreOptions::blob_dir);
  // empty = data_dir/blobs.
  std::string blob_dir;
  ServerOptions server;
  pipeline::PipelineOptions pipeline;
  IntakeLimits limits;
  double max_wait_s = 120;
  CapturedAtPolicy captured_at;
  int max_decodes = 2;  // concurrent capture decodes
  int max_waiters = 0;  // concurrent ?wait=true requests; 0: half the handler threads, at least 1
  bool log_requests = true;  // one JSON line per request on standard error
};

class Service {
 public:
  // Opens (creating) the data directory. Throws skintrack::Error.
  explicit Service(ServiceOptions options);
  ~Service();
  Service(const Service&) = delete;
  Service& operator=(const Service&) = delete;

  // Starts the workers and the server; returns the bound port.
  int Start();
  // Graceful: stop accepting, finish in-flight requests, let workers finish their capture.
  void Stop();

  storage::Store& store();
  const Router& router() const { return router_; }
  // What the server runs for each request it admitted: the router, then the X-Request-Id header
  // (the client's when it is a plain token of at most 128 characters, else a new random one).
  // Thread-safe, never throws; public so that tests can call it without sockets.
  HttpResponse Handle(const HttpRequest& request) const;

 private:
  ServiceOptions options_;
  std::unique_ptr<storage::Store> store_;
  std::unique_ptr<pipeline::WorkerPool> workers_;
  Metrics metrics_;
  std::unique_ptr<ApiContext> context_;
  Router router_;
  std::unique_ptr<HttpServer> server_;
};

}  // namespace skintrack::service
