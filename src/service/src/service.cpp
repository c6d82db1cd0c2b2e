#include "skintrack/service/service.h"

#include <algorithm>
#include <cctype>
#include <cstdio>
#include <iostream>
#include <nlohmann/json.hpp>
#include <random>
#include <sstream>

#include "skintrack/core/error.h"
#include "skintrack/pipeline/models.h"
#include "skintrack/pipeline/results.h"
#include "skintrack/pipeline/time_format.h"
#include "skintrack/scoring/scores.h"
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
  out << "# HELP skintrack_build_info The running build's versions.\n"
      << "# TYPE skintrack_build_info gauge\n"
      << "skintrack_build_info{version=\"" << SKINTRACK_VERSION << "\",pipeline=\""
      << pipeline::kPipelineVersion << "\",scoring=\"" << scoring::kScoringVersion << "\",schema=\""
      << storage::LatestSchemaVersion() << "\"} 1\n";
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
  storage::StoreOptions store_options;
  store_options.repository.database = options_.database;
  store_options.blob_dir = options_.blob_dir;
  store_ = storage::Store::OpenDataDir(options_.data_dir, store_options);
  // Uploads are spooled beside the database (a local disk, also when the blobs are shared):
  // docs/service.md, "Lossless intake (issue 15)".
  if (options_.server.upload_spool_dir.empty())
    options_.server.upload_spool_dir = options_.data_dir;
  // The data directory's active models (reloaded when its registry changes: pipeline/models.h).
  if (!options_.pipeline.models) {
    options_.pipeline.models = std::make_shared<pipeline::ActiveModels>(options_.data_dir);
  }
  workers_ = std::make_unique<pipeline::WorkerPool>(*store_, options_.pipeline);
  context_.reset(
      new ApiContext{*store_, workers_.get(), &metrics_, options_.limits, options_.max_wait_s,
                     pipeline::LoadOrCreatePseudonymKey(options_.data_dir, store_->repository()),
                     options_.pipeline});
  context_->captured_at = options_.captured_at;
  context_->data_dir = options_.data_dir;
  context_->decodes = std::make_shared<ConcurrencyLimit>(options_.max_decodes);
  context_->waiters = std::make_shared<ConcurrencyLimit>(
      options_.max_waiters > 0 ? options_.max_waiters
                               : std::max(1, options_.server.handler_threads / 2));
  AddApiRoutes(router_, *context_);
  AddDashboardRoutes(router_);
}

Service::~Service() { Stop(); }

storage::Store& Service::store() { return *store_; }

namespace {

// The client's X-Request-Id when it is a plain token (so that it can go into logs and headers as
// it is), else a new random one: requests can be followed from a device's log to the server's.
std::string RequestId(const HttpRequest& req) {
  std::string given = req.Header("x-request-id");
  const bool plain =
      !given.empty() && given.size() <= 128 && std::all_of(given.begin(), given.end(), [](char c) {
        return std::isalnum(static_cast<unsigned char>(c)) != 0 || c == '-' || c == '_' ||
               c == '.' || c == ':';
      });
  if (plain) return given;
  thread_local std::mt19937_64 random{std::random_device{}()};
  char id[33];
  std::snprintf(id, sizeof(id), "%016llx%016llx", static_cast<unsigned long long>(random()),
                static_cast<unsigned long long>(random()));
  return id;
}

std::string HeaderOf(const HttpResponse& resp, const std::string& name) {
  for (const auto& [n, v] : resp.headers) {
    if (n == name) return v;
  }
  return "";
}

}  // namespace

HttpResponse Service::Handle(const HttpRequest& request) const {
  HttpResponse resp = router_.Dispatch(request);
  try {
    resp.headers.emplace_back("X-Request-Id", RequestId(request));
  } catch (...) {  // out of memory for a header: the answer still goes out
  }
  return resp;
}

int Service::Start() {
  workers_->Start();
  const bool log = options_.log_requests;
  server_ = std::make_unique<HttpServer>(
      options_.server, [this](const HttpRequest& req) { return Handle(req); },
      [this, log](const HttpRequest& req, const HttpResponse& resp, double seconds) {
        metrics_.Observe(req, resp, seconds);
        if (!log) return;
        // Answers refused on the head (framing, gate) carry no id of their own: the client's.
        std::string request_id = HeaderOf(resp, "X-Request-Id");
        if (request_id.empty()) request_id = req.Header("x-request-id");
        const nlohmann::json line = {{"ts", pipeline::FormatRfc3339(storage::NowMs())},
                                     {"request_id", request_id},
                                     {"method", req.method},
                                     {"path", req.path},
                                     {"status", resp.status},
                                     {"ms", seconds * 1000.0},
                                     {"bytes_in", req.Body().size()},
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
