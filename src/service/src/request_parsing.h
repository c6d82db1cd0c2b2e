// The server's request steps on Beast's parser (private to the service). The sessions of
// server.cpp and ServeBytes (the in-memory driver of the fuzz target) both use them, so that they
// parse, check and answer alike. Every answer here is a JSON error the connection closes after.
#pragma once

#include <atomic>
#include <boost/asio/buffer.hpp>
#include <boost/beast/core/error.hpp>
#include <boost/beast/http/message.hpp>
#include <boost/beast/http/parser.hpp>
#include <boost/optional.hpp>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>

#include "skintrack/service/http.h"
#include "skintrack/service/server.h"
#include "upload_spool.h"

namespace skintrack::service::detail {

// A request body in memory (`text`), or, once the session gave it a spool (an upload admitted
// while ServerOptions::upload_spool_dir is set), written to that spool as it arrives. A Beast
// Body (value_type and reader); the server never sends one, so it has no writer.
struct UploadBody {
  // NOLINTNEXTLINE(readability-identifier-naming): the names Beast's Body concept requires
  struct value_type {
    std::string text;
    std::shared_ptr<UploadSpool> spool;
  };

  class reader {  // NOLINT(readability-identifier-naming): Beast's name
   public:
    template <bool IsRequest, class Fields>
    reader(boost::beast::http::header<IsRequest, Fields>&, value_type& body) : body_(body) {}

    void init(const boost::optional<std::uint64_t>& length, boost::beast::error_code& ec) {
      length_ = length.value_or(0);
      ec = {};
    }

    // Whether the spool is set is decided per call, not at init: Beast may set up the reader as
    // soon as the head is parsed, before the session decides where the body goes.
    template <class ConstBufferSequence>
    std::size_t put(const ConstBufferSequence& buffers, boost::beast::error_code& ec) {
      ec = {};
      std::size_t n = 0;
      for (auto it = boost::asio::buffer_sequence_begin(buffers);
           it != boost::asio::buffer_sequence_end(buffers); ++it) {
        const boost::asio::const_buffer b = *it;
        if (body_.spool) {
          if (!body_.spool->Append(b.data(), b.size())) {
            // Not an http::error (those are answered as framing errors): the session answers
            // the spool's failure().
            ec = boost::system::errc::make_error_code(boost::system::errc::io_error);
            return n;
          }
        } else {
          // Content-Length is within the route's limit (AfterAdmission): reserved once.
          if (body_.text.empty() && length_ > 0) body_.text.reserve(length_);
          body_.text.append(static_cast<const char*>(b.data()), b.size());
        }
        n += b.size();
      }
      return n;
    }

    void finish(boost::beast::error_code& ec) { ec = {}; }

   private:
    value_type& body_;
    std::uint64_t length_ = 0;
  };
};

using RequestParser = boost::beast::http::request_parser<UploadBody>;
using BeastRequest = boost::beast::http::request<UploadBody>;

// A parser with the server's head limit and no body limit yet: the route's limit is set once its
// head is admitted (Admit below), so that a refusal (401, 403) comes before the 413.
void PrepareParser(RequestParser& parser, const ServerOptions& options);

// Feeds the buffered bytes of a request's head to `parser`; returns how many it used. Beyond
// Beast's checks, a head with a bare LF line end fails with error::bad_line_ending: Beast would
// wait for a CRLF CRLF that never comes, and the client for an answer, until the timeout.
std::size_t PutHead(RequestParser& parser, boost::asio::const_buffer bytes,
                    boost::beast::error_code& ec);

// The answer to a parse error: 431 (head over the limit), 413 (chunked body over the route's
// `body_limit`), 505 (a request line naming HTTP other than 1.0 / 1.1), 400 (any other malformed
// framing). `buffered` holds the unparsed bytes (for the request line). nullopt when there is no
// one to answer: the peer closed, or the socket failed.
std::optional<HttpResponse> ParseErrorResponse(const boost::beast::error_code& ec,
                                               std::string_view buffered,
                                               const ServerOptions& options,
                                               std::size_t body_limit);

// What Beast accepts but RFC 9112 6.1 / 6.3 does not (each would let a body be framed two ways,
// e.g. `Transfer-Encoding: chunked, identity` with a Content-Length ran its trailing bytes as a
// second request): Transfer-Encoding in HTTP/1.0, with Content-Length, not ending with chunked,
// chunked twice (400); another coding before chunked (501).
std::optional<HttpResponse> CheckFraming(const BeastRequest& head);

// True when the head announces a body (chunked, or a Content-Length above 0).
bool AnnouncesBody(const RequestParser& parser);

// The head as an HttpRequest (lower-case header names, percent-decoded path and query); `body`
// becomes its body (moved). Throws Error(kInvalidArgument) for a bad percent escape.
HttpRequest ToRequest(const BeastRequest& head, std::string body, const std::string& remote);

// After Router::Admit: the refusal, or 413 when the Content-Length exceeds the limit of the
// route's body class; otherwise nullopt and the parser's body limit set (for chunked bodies).
// `*reserve` is the bytes the body may take in memory: its length, or the limit when chunked.
std::optional<HttpResponse> AfterAdmission(const Admission& admission, RequestParser& parser,
                                           const ServerOptions& options, std::size_t* reserve);

// The byte limit of a body class.
std::size_t BodyLimit(BodyClass body, const ServerOptions& options);

// Runs `handler`, turning any exception into a JSON 500 (an exception must never leave a thread).
HttpResponse HandleSafely(const RequestHandler& handler, const HttpRequest& request) noexcept;

// The bytes of request bodies in memory at once (being read or handled), against
// ServerOptions::max_body_memory_bytes. Thread-safe.
class BodyBudget {
 public:
  explicit BodyBudget(std::size_t limit) : limit_(limit) {}
  // Takes `bytes` from the budget; false (nothing taken) when they do not fit.
  bool TryReserve(std::size_t bytes);
  void Release(std::size_t bytes);
  std::size_t used() const { return used_.load(); }

 private:
  std::size_t limit_;
  std::atomic<std::size_t> used_{0};
};

// 503 + Retry-After when the body budget is spent.
HttpResponse BusyResponse(const ServerOptions& options);
// 408 when the head or body did not arrive within the read timeout.
HttpResponse TimeoutResponse(const ServerOptions& options);

}  // namespace skintrack::service::detail
