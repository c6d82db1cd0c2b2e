// The skintrack service: the HTTP API over storage, the processing workers and the server.
// Routes are registered on a Router (testable without sockets); Service wires the data
// directory, the workers and the Beast server together for `skintrack serve`.
#pragma once

#include <atomic>
#include <cstdint>
#include <memory>
#include <mutex>
#include <string>

#include "skintrack/service/http.h"
#include "skintrack/service/image_intake.h"
#include "skintrack/service/pipeline.h"
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
  std::string Render(storage::Store& store, const PipelineStats* pipeline) const;

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

struct ApiContext {
  storage::Store& store;
  WorkerPool* workers = nullptr;  // for ?wait=true and to wake workers; may be null (tests)
  Metrics* metrics = nullptr;
  IntakeLimits limits;
  double max_wait_s = 120;    // longest ?wait=true
  std::string pseudonym_key;  // secret for coordinators' subject ids
  PipelineOptions pipeline;   // for re-scoring after clinician input
};

// Registers every /v1 route, /healthz and /metrics on `router`. `context` must outlive it.
void AddApiRoutes(Router& router, ApiContext& context);

// The per-visit treatment response of a patient as JSON text: the body of
// GET /v1/patients/{patient}/response (patient ids replaced by subject ids when `pseudonymise`).
// For reports and exports. Throws Error(kNotFound) for an unknown patient.
std::string PatientResponseJson(storage::Store& store, const std::string& patient_id,
                                bool pseudonymise, const std::string& pseudonym_key);

// The data directory's secret for subject ids (created on first use). Throws Error(kIo).
std::string LoadOrCreatePseudonymKey(const std::string& data_dir);

// Pseudonymous subject id shown to coordinators: "S-" + 12 hex digits of
// SHA-256(key + ":" + patient id). Stable for a data directory, not reversible without the key.
std::string SubjectId(const std::string& key, const std::string& patient_id);

struct ServiceOptions {
  std::string data_dir = "skintrack-data";
  ServerOptions server;
  PipelineOptions pipeline;
  IntakeLimits limits;
  double max_wait_s = 120;
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

 private:
  ServiceOptions options_;
  std::unique_ptr<storage::Store> store_;
  std::unique_ptr<WorkerPool> workers_;
  Metrics metrics_;
  std::unique_ptr<ApiContext> context_;
  Router router_;
  std::unique_ptr<HttpServer> server_;
};

}  // namespace skintrack::service
