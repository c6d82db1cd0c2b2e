// The HTTP/1.1 server (Boost.Beast, private to server.cpp and request_parsing.cpp). It reads a
// request's head, checks its framing, and admits it on the head alone (authentication, role and
// the route's body limit: a refused upload is never read), reads the body within the route's limit
// and a global memory budget, hands the request to a handler on a separate pool of handler threads
// (so a slow handler never stalls the network threads), writes the response and keeps the
// connection alive. Malformed framing gets a JSON 4xx / 5xx, then the connection closes.
#pragma once

#include <cstddef>
#include <functional>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "skintrack/service/http.h"

namespace skintrack::service {

struct ServerOptions {
  std::string bind = "127.0.0.1";
  int port = 8080;          // 0 = an ephemeral port (tests)
  int io_threads = 1;       // network threads
  int handler_threads = 4;  // threads running request handlers
  // Body limits by the route's class (BodyClass): larger bodies get 413 before being read.
  std::size_t max_body_bytes = std::size_t{40} * 1024 * 1024;  // uploads (images)
  std::size_t max_json_body_bytes = std::size_t{1024} * 1024;  // every other route
  // All bodies in memory at once (being read or handled): a request that would pass it gets 503 +
  // Retry-After before its body is read. At least max_body_bytes.
  std::size_t max_body_memory_bytes = std::size_t{256} * 1024 * 1024;
  std::size_t max_header_bytes = std::size_t{8} * 1024;  // request line + header fields; more: 431
  // Seconds for a request's head to arrive (from the connection's previous answer), and again for
  // its body (from its admission); a request cut there gets 408, an idle connection is closed.
  int read_timeout_s = 60;
  // Upload bodies (BodyClass::kUpload) are written to an unnamed file in this directory while they
  // arrive, and hashed on the way (HttpRequest::spooled), so that a large photo is never held in
  // memory as it was sent. Empty: they are read into memory (HttpRequest::body). Bodies on a spool
  // still take their share of max_body_memory_bytes: their handler holds a stripped copy.
  std::string upload_spool_dir;
  void Check() const;  // throws Error(kInvalidArgument)
};

// Called for each finished request: for structured logs and metrics.
using AccessLog = std::function<void(const HttpRequest&, const HttpResponse&, double seconds)>;
// Answers a request; must not throw (Router::Dispatch never does) and must be thread-safe.
using RequestHandler = std::function<HttpResponse(const HttpRequest&)>;
// Decides on a request's head (no body) before its body is read (Router::Admit): must not throw,
// must be thread-safe. Runs on the handler threads (it may read the database).
using RequestAdmitter = std::function<Admission(const HttpRequest& head)>;

class HttpServer {
 public:
  // `admit` runs on the head of each request that announces a body; empty: every body is admitted
  // as an upload (max_body_bytes). Throws Error(kInvalidArgument) for bad options.
  HttpServer(ServerOptions options, RequestHandler handler, AccessLog log = {},
             RequestAdmitter admit = {});
  ~HttpServer();  // Stop()s
  HttpServer(const HttpServer&) = delete;
  HttpServer& operator=(const HttpServer&) = delete;

  // Binds, listens and starts the threads; returns the port actually bound.
  // Throws Error(kIo) when the address cannot be bound.
  int Start();
  // Graceful stop: no new connections; requests already being handled finish and get their
  // response (up to `grace_s` seconds), then the threads are joined. Idempotent.
  void Stop(double grace_s = 30.0);

  struct Impl;  // defined in server.cpp only (keeps Beast out of this header)

 private:
  std::unique_ptr<Impl> impl_;
};

// The server's steps on bytes held in memory, as one connection would receive them: each request
// parsed with the server's limits and checks, admitted on its head, its body read within its
// class's limit, handled. Returns the answers in order; after a framing error's answer the server
// would close, so nothing after it is parsed. Bytes that end within a request get no answer (the
// server would wait for the rest, then answer 408). No sockets, no body budget, no access log: for
// the fuzz target and transport tests. Never throws.
std::vector<HttpResponse> ServeBytes(std::string_view bytes, const ServerOptions& options,
                                     const RequestAdmitter& admit, const RequestHandler& handler);

}  // namespace skintrack::service
