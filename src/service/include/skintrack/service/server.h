// The HTTP/1.1 server (Boost.Beast, private to server.cpp). It parses requests with a streamed
// body limit, hands each one to a handler on a separate pool of handler threads (so a slow
// handler never stalls the network threads), writes the response and keeps the connection alive.
#pragma once

#include <cstddef>
#include <functional>
#include <memory>
#include <string>

#include "skintrack/service/http.h"

namespace skintrack::service {

struct ServerOptions {
  std::string bind = "127.0.0.1";
  int port = 8080;          // 0 = an ephemeral port (tests)
  int io_threads = 1;       // network threads
  int handler_threads = 4;  // threads running request handlers
  std::size_t max_body_bytes =
      std::size_t{40} * 1024 * 1024;  // larger bodies get 413 before being read
  int read_timeout_s = 60;            // per request (header + body)
  void Check() const;                 // throws Error(kInvalidArgument)
};

// Called for each finished request: for structured logs and metrics.
using AccessLog = std::function<void(const HttpRequest&, const HttpResponse&, double seconds)>;

class HttpServer {
 public:
  // `handler` must not throw (Router::Dispatch never does) and must be thread-safe.
  HttpServer(ServerOptions options, std::function<HttpResponse(const HttpRequest&)> handler,
             AccessLog log = {});
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

}  // namespace skintrack::service
