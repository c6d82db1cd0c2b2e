// /healthz, /readyz and /metrics: for load balancers, orchestrators and Prometheus, without a
// token. /healthz says the process answers; /readyz says it can do its work.
#include <fcntl.h>
#include <unistd.h>

#include <cerrno>
#include <system_error>

#include "api_support.h"
#include "routes.h"
#include "skintrack/service/service.h"
#include "skintrack/storage/repository.h"
#include "skintrack/storage/store.h"

namespace skintrack::service {
namespace {

using nlohmann::json;

// Creates and removes a file in the data directory: a full or read-only disk, or a directory that
// lost its permissions, shows here before a capture is lost to it. "" when it worked.
std::string WriteProbe(const std::string& dir) {
  const std::string path = dir + "/.readyz-probe-" + std::to_string(::getpid());
  const int fd = ::open(path.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
  if (fd < 0) return std::error_code(errno, std::generic_category()).message();
  const bool wrote = ::write(fd, "ok", 2) == 2;
  const int err = errno;
  ::close(fd);
  ::unlink(path.c_str());
  return wrote ? "" : std::error_code(err, std::generic_category()).message();
}

}  // namespace

HttpResponse GetHealth(ApiContext& ctx, const HttpRequest&, const PathParams&) {
  const storage::QueueCounts q = ctx.store.repository().CountQueue();
  return JsonResponse(200, {{"status", "ok"},
                            {"version", SKINTRACK_VERSION},
                            {"queue",
                             {{"queued", q.queued},
                              {"processing", q.processing},
                              {"processed", q.processed},
                              {"failed", q.failed}}}});
}

// Ready when the database answers, its schema is the one this binary was built for, and the data
// directory takes writes. Otherwise 503 with Retry-After, naming what failed (no paths: the
// operator finds those in the server's log).
HttpResponse GetReady(ApiContext& ctx, const HttpRequest&, const PathParams&) {
  json checks = json::object();
  std::string failed;
  try {
    const int schema = ctx.store.repository().SchemaVersion();
    checks["database"] = "ok";
    const bool current = schema == storage::LatestSchemaVersion();
    checks["schema"] = current ? "ok"
                               : "version " + std::to_string(schema) + ", expected " +
                                     std::to_string(storage::LatestSchemaVersion());
    if (!current) failed = "schema";
  } catch (const Error&) {
    checks["database"] = "unavailable";
    failed = "database";
  }
  if (!ctx.data_dir.empty()) {
    const std::string probe = WriteProbe(ctx.data_dir);
    checks["data_dir_writable"] = probe.empty() ? "ok" : probe;
    if (!probe.empty() && failed.empty()) failed = "data_dir_writable";
  }
  if (failed.empty()) return JsonResponse(200, {{"status", "ready"}, {"checks", checks}});
  HttpResponse r =
      JsonResponse(503, {{"error", {{"code", "not_ready"}, {"message", "not ready: " + failed}}},
                         {"checks", checks}});
  r.headers.emplace_back("Retry-After", "5");
  return r;
}

HttpResponse GetMetrics(ApiContext& ctx, const HttpRequest&, const PathParams&) {
  HttpResponse r;
  r.content_type = "text/plain; version=0.0.4";
  r.body = ctx.metrics
               ? ctx.metrics->Render(ctx.store, ctx.workers ? &ctx.workers->stats() : nullptr)
               : std::string();
  return r;
}

}  // namespace skintrack::service
