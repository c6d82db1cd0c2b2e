// The only file that sees Boost.Beast (1.74). Shape follows Beast's 1.74 async server example:
// a listener accepting on a strand per connection, a session reading one request at a time with
// a parser whose body limit stops oversized uploads while they stream in.
#include "skintrack/service/server.h"

#include <atomic>
#include <boost/asio/dispatch.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/strand.hpp>
#include <boost/asio/thread_pool.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <chrono>
#include <condition_variable>
#include <mutex>
#include <optional>
#include <thread>
#include <vector>

namespace skintrack::service {

namespace beast = boost::beast;
namespace http = beast::http;
namespace net = boost::asio;
using tcp = net::ip::tcp;

void ServerOptions::Check() const {
  if (port < 0 || port > 65535) throw Error(ErrorCode::kInvalidArgument, "port must be 0..65535");
  if (io_threads < 1 || io_threads > 64 || handler_threads < 1 || handler_threads > 256) {
    throw Error(ErrorCode::kInvalidArgument, "thread counts must be 1..64 (io), 1..256 (handlers)");
  }
  if (max_body_bytes < 1024) throw Error(ErrorCode::kInvalidArgument, "body limit below 1 KiB");
  if (read_timeout_s < 1) throw Error(ErrorCode::kInvalidArgument, "read timeout must be >= 1 s");
}

namespace {

HttpRequest ToRequest(const http::request<http::string_body>& req, const std::string& remote) {
  HttpRequest out;
  out.method = std::string(req.method_string());
  const std::string target(req.target());
  const size_t q = target.find('?');
  out.path = PercentDecode(target.substr(0, q), false);
  if (q != std::string::npos) out.query = ParseQuery(target.substr(q + 1));
  for (const auto& field : req) {
    std::string name(field.name_string());
    for (char& c : name) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    out.headers[name] = std::string(field.value());
  }
  out.body = req.body();
  out.remote = remote;
  return out;
}

}  // namespace

struct HttpServer::Impl {
  ServerOptions options;
  std::function<HttpResponse(const HttpRequest&)> handler;
  AccessLog log;
  net::io_context ioc;
  std::optional<net::executor_work_guard<net::io_context::executor_type>> work;
  std::optional<tcp::acceptor> acceptor;
  std::optional<net::thread_pool> handlers;
  std::vector<std::thread> threads;
  std::atomic<bool> stopping{false};
  bool started = false, stopped = false;
  // Requests being handled (read done, response not yet written): a graceful stop waits for them.
  std::mutex mutex;
  std::condition_variable idle;
  int in_flight = 0;

  void BeginRequest() {
    std::lock_guard<std::mutex> lock(mutex);
    ++in_flight;
  }
  void EndRequest() {
    std::lock_guard<std::mutex> lock(mutex);
    if (--in_flight == 0) idle.notify_all();
  }
};

namespace {

class Session : public std::enable_shared_from_this<Session> {
 public:
  Session(tcp::socket&& socket, HttpServer::Impl& server)
      : stream_(std::move(socket)), server_(server) {
    beast::error_code ec;
    const auto endpoint = stream_.socket().remote_endpoint(ec);
    if (!ec) remote_ = endpoint.address().to_string();
  }

  void Run() {
    net::dispatch(stream_.get_executor(),
                  beast::bind_front_handler(&Session::ReadHeader, shared_from_this()));
  }

 private:
  void ReadHeader() {
    if (server_.stopping) return DoClose();
    parser_.emplace();
    parser_->body_limit(server_.options.max_body_bytes);
    stream_.expires_after(std::chrono::seconds(server_.options.read_timeout_s));
    http::async_read_header(stream_, buffer_, *parser_,
                            beast::bind_front_handler(&Session::OnHeader, shared_from_this()));
  }

  void OnHeader(beast::error_code ec, std::size_t) {
    if (ec == http::error::body_limit) return SendEarlyError(413, "payload_too_large");
    if (ec) return DoClose();
    started_ = std::chrono::steady_clock::now();
    const auto& req = parser_->get();
    if (beast::iequals(req[http::field::expect], "100-continue")) {
      auto cont = std::make_shared<http::response<http::empty_body>>(http::status::continue_,
                                                                     req.version());
      http::async_write(stream_, *cont,
                        [self = shared_from_this(), cont](beast::error_code wec, std::size_t) {
                          if (wec) return self->DoClose();
                          self->ReadBody();
                        });
      return;
    }
    ReadBody();
  }

  void ReadBody() {
    http::async_read(stream_, buffer_, *parser_,
                     beast::bind_front_handler(&Session::OnRead, shared_from_this()));
  }

  void OnRead(beast::error_code ec, std::size_t) {
    if (ec == http::error::body_limit) return SendEarlyError(413, "payload_too_large");
    if (ec == http::error::end_of_stream) return DoClose();
    if (ec) return DoClose();
    request_ = parser_->release();
    server_.BeginRequest();
    // Handlers may block (decode, database, ?wait=true): run them off the network threads.
    net::post(*server_.handlers, [self = shared_from_this()] { self->Handle(); });
  }

  void Handle() {
    HttpRequest req;
    HttpResponse resp;
    try {
      req = ToRequest(request_, remote_);
      resp = server_.handler(req);
    } catch (const Error& e) {
      resp = ErrorResponse(HttpStatusFor(e.code()), ErrorCodeName(e.code()), e.what());
    } catch (...) {
      resp = ErrorResponse(500, "internal_error", "internal error");
    }
    if (server_.log) {
      const double s =
          std::chrono::duration<double>(std::chrono::steady_clock::now() - started_).count();
      if (req.method.empty()) req.method = std::string(request_.method_string());
      if (req.path.empty()) req.path = std::string(request_.target());
      server_.log(req, resp, s);
    }
    net::post(stream_.get_executor(),
              [self = shared_from_this(), resp = std::move(resp)]() mutable {
                self->Write(std::move(resp), self->request_.keep_alive());
              });
  }

  void SendEarlyError(int status, const std::string& code) {
    linger_ = true;  // the client may still be sending the body: drain it after answering
    server_.BeginRequest();
    HttpResponse resp =
        ErrorResponse(status, code,
                      "request body exceeds the limit of " +
                          std::to_string(server_.options.max_body_bytes) + " bytes");
    if (server_.log) {
      HttpRequest req;
      if (parser_ && parser_->is_header_done()) {
        req.method = std::string(parser_->get().method_string());
        req.path = std::string(parser_->get().target());
      }
      req.remote = remote_;
      server_.log(req, resp, 0.0);
    }
    Write(std::move(resp), false);
  }

  void Write(HttpResponse resp, bool keep_alive) {
    auto res = std::make_shared<http::response<http::string_body>>();
    res->version(11);
    res->result(static_cast<unsigned>(resp.status));
    res->set(http::field::server, "skintrack");
    res->set(http::field::content_type, resp.content_type);
    for (const auto& [name, value] : resp.headers) res->set(name, value);
    res->body() = std::move(resp.body);
    res->keep_alive(keep_alive && !server_.stopping);
    res->prepare_payload();
    stream_.expires_after(std::chrono::seconds(server_.options.read_timeout_s));
    http::async_write(stream_, *res,
                      [self = shared_from_this(), res](beast::error_code ec, std::size_t) {
                        self->server_.EndRequest();
                        if (!ec && self->linger_) return self->LingerClose();
                        if (ec || !res->keep_alive()) return self->DoClose();
                        self->ReadHeader();
                      });
  }

  // After an early answer (413) the client may still be uploading: stop sending, read and discard
  // what it sends for a few seconds, then close, so that it sees the answer instead of a reset.
  void LingerClose() {
    beast::error_code ec;
    stream_.socket().shutdown(tcp::socket::shutdown_send, ec);
    stream_.expires_after(std::chrono::seconds(5));
    drain_.resize(std::size_t{64} * 1024);
    LingerRead();
  }

  void LingerRead() {
    stream_.async_read_some(net::buffer(drain_),
                            [self = shared_from_this()](beast::error_code ec, std::size_t n) {
                              self->drained_ += n;
                              if (ec || self->drained_ > self->server_.options.max_body_bytes * 4) {
                                return self->DoClose();
                              }
                              self->LingerRead();
                            });
  }

  void DoClose() {
    beast::error_code ec;
    stream_.socket().shutdown(tcp::socket::shutdown_send, ec);
    stream_.socket().close(ec);
  }

  beast::tcp_stream stream_;
  beast::flat_buffer buffer_;
  std::optional<http::request_parser<http::string_body>> parser_;
  http::request<http::string_body> request_;
  HttpServer::Impl& server_;
  std::string remote_;
  std::chrono::steady_clock::time_point started_;
  bool linger_ = false;
  std::vector<char> drain_;
  std::size_t drained_ = 0;
};

void Accept(HttpServer::Impl& server) {
  server.acceptor->async_accept(net::make_strand(server.ioc),
                                [&server](beast::error_code ec, tcp::socket socket) {
                                  if (server.stopping) return;
                                  if (!ec)
                                    std::make_shared<Session>(std::move(socket), server)->Run();
                                  Accept(server);
                                });
}

}  // namespace

HttpServer::HttpServer(ServerOptions options,
                       std::function<HttpResponse(const HttpRequest&)> handler, AccessLog log)
    : impl_(std::make_unique<Impl>()) {
  options.Check();
  impl_->options = std::move(options);
  impl_->handler = std::move(handler);
  impl_->log = std::move(log);
}

HttpServer::~HttpServer() { Stop(5.0); }

int HttpServer::Start() {
  Impl& s = *impl_;
  if (s.started) throw Error(ErrorCode::kConflict, "server already started");
  beast::error_code ec;
  const auto address = net::ip::make_address(s.options.bind, ec);
  if (ec) throw Error(ErrorCode::kInvalidArgument, "bad bind address '" + s.options.bind + "'");
  const tcp::endpoint endpoint(address, static_cast<unsigned short>(s.options.port));
  s.acceptor.emplace(s.ioc);
  s.acceptor->open(endpoint.protocol(), ec);
  if (!ec) s.acceptor->set_option(net::socket_base::reuse_address(true), ec);
  if (!ec) s.acceptor->bind(endpoint, ec);
  if (!ec) s.acceptor->listen(net::socket_base::max_listen_connections, ec);
  if (ec) {
    throw Error(ErrorCode::kIo, "cannot listen on " + s.options.bind + ":" +
                                    std::to_string(s.options.port) + ": " + ec.message());
  }
  const int port = s.acceptor->local_endpoint().port();
  s.handlers.emplace(static_cast<std::size_t>(s.options.handler_threads));
  s.work.emplace(s.ioc.get_executor());
  Accept(s);
  for (int i = 0; i < s.options.io_threads; ++i) s.threads.emplace_back([&s] { s.ioc.run(); });
  s.started = true;
  return port;
}

void HttpServer::Stop(double grace_s) {
  Impl& s = *impl_;
  if (!s.started || s.stopped) return;
  s.stopped = true;
  s.stopping = true;
  net::post(s.ioc, [&s] {
    beast::error_code ec;
    s.acceptor->close(ec);
  });
  {
    std::unique_lock<std::mutex> lock(s.mutex);
    s.idle.wait_for(lock, std::chrono::duration<double>(grace_s),
                    [&s] { return s.in_flight == 0; });
  }
  s.work.reset();
  s.ioc.stop();
  for (auto& t : s.threads) t.join();
  s.threads.clear();
  s.handlers->join();
}

}  // namespace skintrack::service
