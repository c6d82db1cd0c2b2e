// The /v1 HTTP API, /healthz and /metrics: route handlers are named functions in files by area
// (src/routes_*.cpp), registered in one table (src/api.cpp). JSON is written here, at the edge;
// everything behind it is typed (storage, src/pipeline).
#pragma once

#include <memory>
#include <string>

#include "skintrack/pipeline/pipeline.h"
#include "skintrack/pipeline/pseudonym.h"
#include "skintrack/service/concurrency_limit.h"
#include "skintrack/service/http.h"
#include "skintrack/service/image_intake.h"

namespace skintrack::storage {
class Store;
}
namespace skintrack::pipeline {
class WorkerPool;
}

namespace skintrack::service {

class Metrics;

struct ApiContext {
  storage::Store& store;
  pipeline::WorkerPool* workers = nullptr;  // for ?wait=true and to wake workers; may be null
  Metrics* metrics = nullptr;
  IntakeLimits limits;
  double max_wait_s = 120;             // longest ?wait=true
  pipeline::PseudonymKey pseudonym;    // coordinators' subject ids
  pipeline::PipelineOptions pipeline;  // for a clinician's baseline choice
  // Intake (docs/service.md, "Capture intake limits"). Members below have defaults so that
  // callers initialising the ones above positionally keep working.
  CapturedAtPolicy captured_at{};
  // Concurrent capture decodes (CPU and memory bound); a push waits up to decode_wait_s for a
  // slot, then gets 503 + Retry-After. Retries of a stored upload never take a slot.
  std::shared_ptr<ConcurrencyLimit> decodes = std::make_shared<ConcurrencyLimit>(2);
  double decode_wait_s = 2;
  // Concurrent ?wait=true requests (each holds a handler thread up to max_wait_s); a push over
  // the limit is answered at once, as without wait, with the header Skintrack-Wait: skipped.
  std::shared_ptr<ConcurrencyLimit> waiters = std::make_shared<ConcurrencyLimit>(2);
  // The data directory, for /readyz's write probe ("" skips that check).
  std::string data_dir{};
};

// Registers every /v1 route, /healthz and /metrics on `router`. `context` must outlive it.
void AddApiRoutes(Router& router, ApiContext& context);

}  // namespace skintrack::service
