#include "skintrack/service/service.h"

#include <algorithm>
#include <iostream>
#include <nlohmann/json.hpp>
#include <sstream>

#include "skintrack/core/error.h"
#include "skintrack/pipeline/models.h"
#include "skintrack/pipeline/time_format.h"
#include "skintrack/service/dashboard.h"
#include "skintrack/storage/store.h"

namespace skintrack::service {

void Metrics::Observe(const HttpRequest&, const HttpResponse& response, double seconds) {
  std::lock_guard<std::mutex> lock(mutex_);
  const int cls = std::clamp(response.status / 100, 1, 5);
  ++by_class_[cls];
  ++count_;
  sum_seconds_ += seconds;
  for (int i = 0; i < kBuckets; ++i) {
    if (seconds <= kBucketBounds[i]) ++buckets_[i];
  }
}

std::string Metrics::Render(storage::Store& store, const pipeline::PipelineStats* pipeline) const {
  std::ostringstream out;
  {
    std::lock_guard<std::mutex> lock(mutex_);
    out << "# HELP skintrack_http_requests_total HTTP requests by status class.\n"
        << "# TYPE skintrack_http_requests_total counter\n";
    for (int c = 1; c <= 5; ++c) {
      out << "skintrack_http_requests_total{code=\"" << c << "xx\"} " << by_class_[c] << "\n";
    }
    out << "# HELP skintrack_http_request_seconds Request latency.\n"
        << "# TYPE skintrack_http_request_seconds histogram\n";
    for (int i = 0; i < kBuckets; ++i) {
      out << "skintrack_http_request_seconds_bucket{le=\"" << kBucketBounds[i] << "\"} "
          << buckets_[i] << "\n";
    }
    out << "skintrack_http_request_seconds_bucket{le=\"+Inf\"} " << count_ << "\n"
        << "skintrack_http_request_seconds_sum " << sum_seconds_ << "\n"
        << "skintrack_http_request_seconds_count " << count_ << "\n";
  }
  const storage::QueueCounts q = store.repository().CountQueue();
  out << "# HELP skintrack_captures Captures by processing status.\n"
      << "# TYPE skintrack_captures gauge\n"
      << "skintrack_captures{status=\"queued\"} " << q.queued << "\n"
      << "skintrack_captures{status=\"processing\"} " << q.processing << "\n"
      << "skintrack_captures{status=\"processed\"} " << q.processed << "\n"
      << "skintrack_captures{status=\"failed\"} " << q.failed << "\n";
  if (pipeline != nullptr) {
    out << "# HELP skintrack_processing_total Captures processed by this process.\n"
        << "# TYPE skintrack_processing_total counter\n"
        << "skintrack_processing_total{outcome=\"ok\"} " << pipeline->processed.load() << "\n"
        << "skintrack_processing_total{outcome=\"error\"} " << pipeline->failed.load() << "\n"
        << "# HELP skintrack_processing_seconds_total Time spent processing captures.\n"
        << "# TYPE skintrack_processing_seconds_total counter\n"
        << "skintrack_processing_seconds_total "
        << static_cast<double>(pipeline->processing_micros.load()) / 1e6 << "\n";
  }
  return out.str();
}

Service::Service(ServiceOptions options) : options_(std::move(options)) {
  options_.pipeline.Check();
  options_.server.Check();
  options_.captured_at.Check();
  store_ = storage::Store::OpenDataDir(options_.data_dir);
  // The data directory's active models (reloaded when its registry changes: pipeline/models.h).
  if (!options_.pipeline.models) {
    options_.pipeline.models = std::make_shared<pipeline::ActiveModels>(options_.data_dir);
  }
  workers_ = std::make_unique<pipeline::WorkerPool>(*store_, options_.pipeline);
  context_.reset(
      new ApiContext{*store_, workers_.get(), &metrics_, options_.limits, options_.max_wait_s,
                     pipeline::LoadOrCreatePseudonymKey(options_.data_dir), options_.pipeline});
  context_->captured_at = options_.captured_at;
  context_->decodes = std::make_shared<ConcurrencyLimit>(options_.max_decodes);
  context_->waiters = std::make_shared<ConcurrencyLimit>(
      options_.max_waiters > 0 ? options_.max_waiters
                               : std::max(1, options_.server.handler_threads / 2));
  AddApiRoutes(router_, *context_);
  AddDashboardRoutes(router_);
}

Service::~Service() { Stop(); }

storage::Store& Service::store() { return *store_; }

int Service::Start() {
  workers_->Start();
  const bool log = options_.log_requests;
  server_ = std::make_unique<HttpServer>(
      options_.server, [this](const HttpRequest& req) { return router_.Dispatch(req); },
      [this, log](const HttpRequest& req, const HttpResponse& resp, double seconds) {
        metrics_.Observe(req, resp, seconds);
        if (!log) return;
        const nlohmann::json line = {{"ts", pipeline::FormatRfc3339(storage::NowMs())},
                                     {"method", req.method},
                                     {"path", req.path},
                                     {"status", resp.status},
                                     {"ms", seconds * 1000.0},
                                     {"bytes_in", req.body.size()},
                                     {"bytes_out", resp.body.size()},
                                     {"remote", req.remote}};
        // The path is the client's bytes: what is not UTF-8 is logged as U+FFFD, never thrown
        // (a throw here ended the process on `GET /%ff`).
        std::cerr << line.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace) + "\n"
                  << std::flush;
      },
      [this](const HttpRequest& head) { return router_.Admit(head); });
  return server_->Start();
}

void Service::Stop() {
  if (server_) server_->Stop();
  if (workers_) workers_->Stop();
}

}  // namespace skintrack::service
