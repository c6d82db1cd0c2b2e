// The sessions, on Boost.Beast 1.74 (request_parsing.cpp holds the parse steps they share with
// ServeBytes). Shape follows Beast's 1.74 async server example: a listener accepting on a strand
// per connection, a session reading one request at a time: its head first, then (once the head is
// admitted) its body within the route's limit.
#include "skintrack/service/server.h"

#include <atomic>
#include <boost/asio/dispatch.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/strand.hpp>
#include <boost/asio/thread_pool.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <chrono>
#include <condition_variable>
#include <mutex>
#include <optional>
#include <thread>
#include <utility>
#include <vector>

#include "request_parsing.h"
#include "skintrack/service/error_response.h"

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
  if (max_body_bytes < 1024 || max_json_body_bytes < 1024) {
    throw Error(ErrorCode::kInvalidArgument, "body limit below 1 KiB");
  }
  if (max_json_body_bytes > max_body_bytes) {
    throw Error(ErrorCode::kInvalidArgument, "the JSON body limit exceeds the upload limit");
  }
  if (max_body_memory_bytes < max_body_bytes) {
    throw Error(ErrorCode::kInvalidArgument,
                "the body memory budget must hold at least one upload (max_body_bytes)");
  }
  if (max_header_bytes < 1024 || max_header_bytes > std::size_t{1024} * 1024) {
    throw Error(ErrorCode::kInvalidArgument, "header limit must be 1 KiB..1 MiB");
  }
  if (read_timeout_s < 1) throw Error(ErrorCode::kInvalidArgument, "read timeout must be >= 1 s");
}

struct HttpServer::Impl {
  ServerOptions options;
  RequestHandler handler;
  AccessLog log;
  RequestAdmitter admit;
  net::io_context ioc;
  std::optional<net::executor_work_guard<net::io_context::executor_type>> work;
  std::optional<tcp::acceptor> acceptor;
  std::optional<net::thread_pool> handlers;
  std::vector<std::thread> threads;
  std::atomic<bool> stopping{false};
  bool started = false, stopped = false;
  std::optional<detail::BodyBudget> budget;
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
  // The access log, which must not end the thread whatever it meets.
  void Log(const HttpRequest& req, const HttpResponse& resp, double seconds) noexcept {
    if (!log) return;
    try {
      log(req, resp, seconds);
    } catch (...) {  // a log line lost is better than a server lost
    }
  }
  Admission Admit(const HttpRequest& head) noexcept {
    if (!admit) {
      Admission a;
      a.body = BodyClass::kUpload;
      return a;
    }
    try {
      return admit(head);
    } catch (...) {
      Admission a;
      a.refusal = ErrorResponse(500, "internal_error", "internal error while admitting");
      return a;
    }
  }
};

namespace {

constexpr std::size_t kReadChunk = std::size_t{16} * 1024;

class Session : public std::enable_shared_from_this<Session> {
 public:
  Session(tcp::socket&& socket, HttpServer::Impl& server)
      : stream_(std::move(socket)), deadline_(stream_.get_executor()), server_(server) {
    beast::error_code ec;
    const auto endpoint = stream_.socket().remote_endpoint(ec);
    if (!ec) remote_ = endpoint.address().to_string();
  }
  ~Session() { ReleaseBody(); }
  Session(const Session&) = delete;
  Session& operator=(const Session&) = delete;

  void Run() {
    net::dispatch(stream_.get_executor(),
                  beast::bind_front_handler(&Session::ReadHeader, shared_from_this()));
  }

 private:
  // --- the head ---
  void ReadHeader() {
    if (server_.stopping) return DoClose();
    parser_.emplace();
    detail::PrepareParser(*parser_, server_.options);
    body_limit_ = 0;
    ArmDeadline();
    ContinueHeader();
  }

  // Parses what is buffered (a pipelined request may be there already), reads more until the head
  // is complete. Beast's async_read_header does the same, without the bare-LF check of PutHead.
  void ContinueHeader() {
    if (buffer_.size() > 0) {
      beast::error_code ec;
      buffer_.consume(detail::PutHead(*parser_, buffer_.data(), ec));
      if (ec != http::error::need_more) return OnHeader(ec);
    }
    stream_.async_read_some(buffer_.prepare(kReadChunk),
                            [self = shared_from_this()](beast::error_code ec, std::size_t n) {
                              self->buffer_.commit(n);
                              if (ec) return self->OnReadFailed(ec, true);
                              self->ContinueHeader();
                            });
  }

  void OnHeader(beast::error_code ec) {
    if (ec) return OnParseError(ec);
    DisarmDeadline();
    started_ = std::chrono::steady_clock::now();
    if (auto bad = detail::CheckFraming(parser_->get())) return SendEarly(std::move(*bad));
    if (!detail::AnnouncesBody(*parser_)) return OnRead({}, 0);
    HttpRequest head;
    try {
      head = detail::ToRequest(parser_->get(), {}, remote_);
    } catch (const Error& e) {
      return SendEarly(ErrorResponseFor(e, HttpRequest{}));
    } catch (...) {
      return SendEarly(ErrorResponse(400, "bad_request", "malformed request target"));
    }
    // The gate may read the database (token lookup): on the handler threads, like handlers.
    net::post(*server_.handlers, [self = shared_from_this(), head = std::move(head)] {
      Admission admission = self->server_.Admit(head);
      net::post(self->stream_.get_executor(),
                [self, admission = std::move(admission)] { self->OnAdmitted(admission); });
    });
  }

  void OnAdmitted(const Admission& admission) {
    if (server_.stopping) return DoClose();
    std::size_t reserve = 0;
    if (auto refusal = detail::AfterAdmission(admission, *parser_, server_.options, &reserve)) {
      return SendEarly(std::move(*refusal));
    }
    body_limit_ = detail::BodyLimit(admission.body, server_.options);
    if (!server_.budget->TryReserve(reserve))
      return SendEarly(detail::BusyResponse(server_.options));
    reserved_ = reserve;
    if (admission.body == BodyClass::kUpload && !server_.options.upload_spool_dir.empty()) {
      try {
        parser_->get().body().spool =
            std::make_shared<detail::UploadSpool>(server_.options.upload_spool_dir);
      } catch (const Error& e) {
        return SendEarly(ErrorResponseFor(e, HeadOnly()));
      }
    }
    const auto& req = parser_->get();
    if (beast::iequals(req[http::field::expect], "100-continue")) {
      auto cont = std::make_shared<http::response<http::empty_body>>(http::status::continue_,
                                                                     req.version());
      stream_.expires_after(std::chrono::seconds(server_.options.read_timeout_s));
      http::async_write(stream_, *cont,
                        [self = shared_from_this(), cont](beast::error_code wec, std::size_t) {
                          if (wec) return self->DoClose();
                          self->ReadBody();
                        });
      return;
    }
    ReadBody();
  }

  // The method and raw target of the request being read, for the server-error log line.
  HttpRequest HeadOnly() const {
    HttpRequest head;
    head.method = std::string(parser_->get().method_string());
    head.path = std::string(parser_->get().target());
    head.remote = remote_;
    return head;
  }

  // --- the body ---
  void ReadBody() {
    ArmDeadline();
    http::async_read(stream_, buffer_, *parser_,
                     beast::bind_front_handler(&Session::OnRead, shared_from_this()));
  }

  void OnRead(beast::error_code ec, std::size_t) {
    if (ec) return OnReadFailed(ec, false);
    DisarmDeadline();
    request_ = parser_->release();
    server_.BeginRequest();
    // Handlers may block (decode, database, ?wait=true): run them off the network threads.
    net::post(*server_.handlers, [self = shared_from_this()] { self->Handle(); });
  }

  // --- read failures ---
  void OnReadFailed(beast::error_code ec, bool in_head) {
    if (const auto& spool = parser_->get().body().spool; spool && spool->failure()) {
      // The disk took no more of the upload (507 when it is full): nothing was stored.
      return SendEarly(ErrorResponseFor(*spool->failure(), HeadOnly()));
    }
    if (timed_out_) {
      // An idle keep-alive connection is just closed; a request cut short is answered.
      const bool started = !in_head || buffer_.size() > 0 || parser_->got_some();
      if (!started) return DoClose();
      return SendEarly(detail::TimeoutResponse(server_.options));
    }
    if (ec.category() == beast::error_code(http::error::bad_method).category()) {
      return OnParseError(ec);
    }
    DoClose();  // end of stream, reset, or the server stopping: no one to answer
  }

  void OnParseError(beast::error_code ec) {
    DisarmDeadline();
    const auto data = buffer_.data();
    const std::string_view buffered(static_cast<const char*>(data.data()), data.size());
    auto resp = detail::ParseErrorResponse(ec, buffered, server_.options, body_limit_);
    if (!resp) return DoClose();
    SendEarly(std::move(*resp));
  }

  // Our own deadline instead of the stream's: tcp_stream closes the socket when its timer fires,
  // which leaves no way to send the 408. This one cancels the read and lets us answer.
  void ArmDeadline() {
    stream_.expires_never();
    timed_out_ = false;
    deadline_.expires_after(std::chrono::seconds(server_.options.read_timeout_s));
    deadline_.async_wait(
        [self = shared_from_this(), armed = ++deadline_armed_](beast::error_code ec) {
          // Cancelled, or fired just as the read finished and another deadline was armed since.
          if (ec || armed != self->deadline_armed_) return;
          self->timed_out_ = true;
          self->stream_.socket().cancel(ec);
        });
  }

  void DisarmDeadline() {
    ++deadline_armed_;
    deadline_.cancel();
  }

  // --- the answer ---
  void Handle() {
    HttpResponse resp;
    HttpRequest req;
    try {
      req = detail::ToRequest(request_, std::move(request_.body().text), remote_);
      if (request_.body().spool) req.spooled = std::exchange(request_.body().spool, {})->Finish();
      resp = detail::HandleSafely(server_.handler, req);
    } catch (const Error& e) {
      resp = ErrorResponseFor(e, req);
    } catch (...) {
      resp = ErrorResponse(500, "internal_error", "internal error");
    }
    try {
      if (req.method.empty()) req.method = std::string(request_.method_string());
      if (req.path.empty()) req.path = std::string(request_.target());
      if (req.remote.empty()) req.remote = remote_;
    } catch (...) {
    }
    server_.Log(req, resp, Elapsed());
    req = HttpRequest();  // the body's memory goes back to the budget with it
    request_.body() = {};
    ReleaseBody();
    net::post(stream_.get_executor(),
              [self = shared_from_this(), resp = std::move(resp)]() mutable {
                self->Write(std::move(resp), self->request_.keep_alive(),
                            self->request_.method() == http::verb::head);
              });
  }

  // An answer given before (or instead of) reading the request's body, or to malformed framing:
  // the connection closes after it (what follows on it cannot be trusted to be a new request).
  void SendEarly(HttpResponse resp) {
    DisarmDeadline();
    ReleaseBody();
    linger_ = true;  // the client may still be sending the body: drain it after answering
    server_.BeginRequest();
    try {
      HttpRequest req;
      if (parser_ && parser_->is_header_done()) {
        req.method = std::string(parser_->get().method_string());
        req.path = std::string(parser_->get().target());
      }
      req.remote = remote_;
      server_.Log(req, resp, parser_ && parser_->is_header_done() ? Elapsed() : 0.0);
    } catch (...) {
    }
    Write(std::move(resp), false,
          parser_ && parser_->is_header_done() && parser_->get().method() == http::verb::head);
  }

  // `head`: the answer to a HEAD request, the GET answer's header (its Content-Length too) without
  // the body (RFC 9110 9.3.2); the router answers HEAD as GET.
  void Write(HttpResponse resp, bool keep_alive, bool head) {
    auto res = std::make_shared<http::response<http::string_body>>();
    res->version(11);
    res->result(static_cast<unsigned>(resp.status));
    res->set(http::field::server, "skintrack");
    if (!resp.content_type.empty()) res->set(http::field::content_type, resp.content_type);
    for (const auto& [name, value] : resp.headers) res->set(name, value);
    res->body() = std::move(resp.body);
    res->keep_alive(keep_alive && !server_.stopping);
    res->prepare_payload();
    if (head) res->body().clear();  // after prepare_payload: Content-Length stays the GET's
    stream_.expires_after(std::chrono::seconds(server_.options.read_timeout_s));
    http::async_write(stream_, *res,
                      [self = shared_from_this(), res](beast::error_code ec, std::size_t) {
                        self->server_.EndRequest();
                        if (!ec && self->linger_) return self->LingerClose();
                        if (ec || !res->keep_alive()) return self->DoClose();
                        self->ReadHeader();
                      });
  }

  // After an early answer the client may still be uploading: stop sending, read and discard what
  // it sends for a few seconds, then close, so that it sees the answer instead of a reset. The
  // discarded bytes go through one 64 KiB buffer: no memory grows with them.
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
    DisarmDeadline();
    ReleaseBody();
    beast::error_code ec;
    stream_.socket().shutdown(tcp::socket::shutdown_send, ec);
    stream_.socket().close(ec);
  }

  void ReleaseBody() {
    if (reserved_ > 0) server_.budget->Release(reserved_);
    reserved_ = 0;
  }

  double Elapsed() const {
    return std::chrono::duration<double>(std::chrono::steady_clock::now() - started_).count();
  }

  beast::tcp_stream stream_;
  net::steady_timer deadline_;
  std::uint64_t deadline_armed_ = 0;  // which deadline is current (see ArmDeadline)
  bool timed_out_ = false;
  beast::flat_buffer buffer_;
  std::optional<detail::RequestParser> parser_;
  detail::BeastRequest request_;
  HttpServer::Impl& server_;
  std::string remote_;
  std::chrono::steady_clock::time_point started_;
  std::size_t body_limit_ = 0;  // of the request being read, once admitted
  std::size_t reserved_ = 0;    // bytes of the body budget this request holds
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

HttpServer::HttpServer(ServerOptions options, RequestHandler handler, AccessLog log,
                       RequestAdmitter admit)
    : impl_(std::make_unique<Impl>()) {
  options.Check();
  impl_->options = std::move(options);
  impl_->handler = std::move(handler);
  impl_->log = std::move(log);
  impl_->admit = std::move(admit);
  impl_->budget.emplace(impl_->options.max_body_memory_bytes);
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
