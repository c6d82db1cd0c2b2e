// `skintrack serve`: the HTTP API and processing workers on an embedded data directory.
#include <signal.h>

#include <algorithm>
#include <iostream>
#include <ostream>
#include <thread>

#include "command.h"
#include "skintrack/core/error.h"
#include "skintrack/pipeline/time_format.h"
#include "skintrack/service/service.h"
#include "skintrack/storage/store.h"

namespace skintrack::cli {
namespace {

constexpr char kUsage[] =
    R"(usage: skintrack serve [--config FILE] [--data-dir DIR] [--database URL] [--blob-dir DIR]
                       [--bind ADDR] [--port N] [--workers N]

Serves the HTTP API (docs/openapi.json) and processes captures in the background. The data
directory (default skintrack-data) holds the SQLite database and the blobs; it is created on first
use and locked by this process. SIGTERM or SIGINT stops gracefully: requests in flight finish,
workers finish their capture, queued captures stay queued for the next start.

Every option can also come from the environment, SKINTRACK_<NAME> (SKINTRACK_DATA_DIR=/srv/st),
or from the `key = value` lines of a configuration file (data-dir = /srv/st; # comments); the
command line wins over the environment, the environment over the file (docs/service.md).

options:
  --config FILE       configuration file (also SKINTRACK_CONFIG); an unknown key is an error
  --check-config      print the settings that would be used, with their origin, and exit
  --data-dir DIR      data directory (default skintrack-data)
  --database URL      keep the metadata in PostgreSQL (postgresql://user@host:port/db, see
                      docs/storage.md) instead of the data directory's SQLite file
  --blob-dir DIR      with --database: the blob directory every node of the cluster shares (a
                      shared mount; default DATA-DIR/blobs), docs/storage.md "Cluster set-up"
  --bind ADDR         address to listen on (default 127.0.0.1)
  --port N            TCP port, 0 = any free port (default 8080)
  --workers N         processing threads (default 2, or 1 on a one-core machine: two
                      workers processed 1.7x the captures per minute of one on 2 cores)
  --lease-s S         seconds a claimed capture stays leased to its worker, renewed every third
                      while it is processed (default 600); a dead node's capture is taken over
                      by another node after at most this long
  --http-threads N    request handler threads (default 4)
  --max-body-mb N     upload (image) body limit in MiB (default 40)
  --max-json-body-kb N  body limit of every other route in KiB (default 1024)
  --body-memory-mb N  request bodies in memory at once, in MiB; more: 503 + Retry-After
                      (default 256, at least --max-body-mb)
  --read-timeout-s N  seconds for a request's head, and again for its body; then 408 (default 60)
  --max-megapixels N  largest image accepted, width x height in millions (default 51)
  --max-decodes N     capture decodes at once; more wait up to 2 s, then 503 (default 2)
  --max-waiters N     ?wait=true requests at once; more are answered without waiting
                      (default half of --http-threads, at least 1)
  --max-wait-s S      longest ?wait=true, in seconds (default 120)
  --earliest-capture T  captures taken before T (RFC 3339) are refused
                      (default 2000-01-01T00:00:00Z)
  --max-ahead-h H     captures more than H hours ahead of the server clock are refused
                      (default 24)
  --quiet             no per-request log lines
)";

int RunServe(Args& args, std::ostream& out) {
  service::ServiceOptions o;
  o.data_dir = args.Get("data-dir").value_or(o.data_dir);
  o.database = args.Get("database").value_or("");
  o.blob_dir = args.Get("blob-dir").value_or("");
  o.server.bind = args.Get("bind").value_or(o.server.bind);
  o.server.port = static_cast<int>(args.GetInt("port", o.server.port, 0, 65535));
  // Two workers keep both cores of the usual 2-core node busy while one waits for its database
  // writes (docs/service.md, scripts/pipeline-bench.sh: 92 against 53 captures per minute at 2 MP).
  const int default_workers = std::thread::hardware_concurrency() >= 2 ? 2 : 1;
  o.pipeline.workers = static_cast<int>(args.GetInt("workers", default_workers, 0, 64));
  o.pipeline.lease_ms =
      static_cast<std::int64_t>(args.GetDouble("lease-s", 600, 1, 24 * 3600) * 1000);
  o.server.handler_threads = static_cast<int>(args.GetInt("http-threads", 4, 1, 256));
  o.server.max_body_bytes =
      static_cast<std::size_t>(args.GetInt("max-body-mb", 40, 1, 1024)) * 1024 * 1024;
  o.limits.max_pixels =
      static_cast<std::int64_t>(args.GetDouble("max-megapixels", 51, 0.01, 268) * 1e6);
  o.max_decodes = static_cast<int>(args.GetInt("max-decodes", o.max_decodes, 1, 64));
  o.max_waiters = static_cast<int>(args.GetInt("max-waiters", 0, 0, 256));
  o.max_wait_s = args.GetDouble("max-wait-s", o.max_wait_s, 0, 3600);
  if (const auto earliest = args.GetWithOrigin("earliest-capture")) {
    try {
      o.captured_at.earliest_ms = pipeline::ParseRfc3339(earliest->text);
    } catch (const Error& e) {
      throw Error(e.code(), earliest->origin + ": " + e.what());
    }
  }
  o.captured_at.max_ahead_ms =
      static_cast<std::int64_t>(args.GetDouble("max-ahead-h", 24, 0, 24 * 366) * 3.6e6);
  o.server.max_json_body_bytes =
      static_cast<std::size_t>(args.GetInt("max-json-body-kb", 1024, 1, 1024LL * 1024)) * 1024;
  const std::int64_t body_memory_mb =
      std::max<std::int64_t>(256, static_cast<std::int64_t>(o.server.max_body_bytes >> 20));
  o.server.max_body_memory_bytes =
      static_cast<std::size_t>(args.GetInt("body-memory-mb", body_memory_mb, 1, 64LL * 1024)) *
      1024 * 1024;
  o.server.read_timeout_s = static_cast<int>(args.GetInt("read-timeout-s", 60, 1, 3600));
  o.log_requests = !args.Flag("quiet");
  const bool check_only = args.Flag("check-config");
  args.CheckNoneLeft();
  if (check_only) {
    // In the file's own format, so that the output can become a configuration file.
    for (const auto& [name, value] : args.resolved()) {
      if (name == "check-config") continue;
      out << "# from " << value.origin << "\n" << name << " = " << value.text << "\n";
    }
    return 0;
  }

  // A file-size limit (ulimit -f) makes a write fail with EFBIG, answered 507 like a full disk
  // (FileErrorCode), instead of ending the process with SIGXFSZ.
  ::signal(SIGXFSZ, SIG_IGN);
  // Block the stop signals before any thread starts so that only sigwait below receives them.
  sigset_t signals;
  sigemptyset(&signals);
  sigaddset(&signals, SIGINT);
  sigaddset(&signals, SIGTERM);
  pthread_sigmask(SIG_BLOCK, &signals, nullptr);

  service::Service svc(o);
  const int port = svc.Start();
  for (const std::string& w : storage::LoosePermissions(o.data_dir)) {
    std::cerr << "skintrack: warning: " << w << std::endl;
  }
  out << "skintrack serving http://" << o.server.bind << ":" << port << " (data " << o.data_dir
      << ", " << o.pipeline.workers << " worker(s)); dashboard at http://" << o.server.bind << ":"
      << port << "/; SIGTERM or Ctrl-C stops" << std::endl;
  int sig = 0;
  sigwait(&signals, &sig);
  out << "skintrack: signal " << sig << ", stopping gracefully" << std::endl;
  svc.Stop();
  out << "skintrack: stopped" << std::endl;
  return 0;
}

const bool kRegistered = RegisterCommand({"serve",
                                          "serve the HTTP API and process captures",
                                          kUsage,
                                          {"quiet", "check-config"},
                                          RunServe,
                                          /*config_layers=*/true});

}  // namespace
}  // namespace skintrack::cli
