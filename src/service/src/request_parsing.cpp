#include "request_parsing.h"

#include <algorithm>
#include <boost/beast/http/error.hpp>
#include <boost/beast/http/field.hpp>
#include <cctype>
#include <limits>
#include <vector>

#include "skintrack/core/error.h"
#include "skintrack/service/error_response.h"

namespace skintrack::service::detail {

namespace beast = boost::beast;
namespace http = beast::http;
namespace net = boost::asio;

namespace {

std::string Lower(std::string_view text) {
  std::string out(text);
  for (char& c : out) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return out;
}

std::string_view Trim(std::string_view text) {
  while (!text.empty() && (text.front() == ' ' || text.front() == '\t')) text.remove_prefix(1);
  while (!text.empty() && (text.back() == ' ' || text.back() == '\t')) text.remove_suffix(1);
  return text;
}

bool HasBareLf(std::string_view bytes) {
  for (std::size_t i = bytes.find('\n'); i != std::string_view::npos; i = bytes.find('\n', i + 1)) {
    if (i == 0 || bytes[i - 1] != '\r') return true;
  }
  return false;
}

// True when the request line's last word is an HTTP version other than 1.0 and 1.1: Beast says
// bad_version for it and for a request line without its CR alike.
bool NamesOtherHttpVersion(std::string_view buffered) {
  std::string_view line = buffered.substr(0, buffered.find('\n'));
  if (!line.empty() && line.back() == '\r') line.remove_suffix(1);
  const std::size_t space = line.rfind(' ');
  if (space == std::string_view::npos) return false;
  const std::string_view version = line.substr(space + 1);
  if (version.size() < 6 || version.substr(0, 5) != "HTTP/") return false;
  if (!std::all_of(version.begin() + 5, version.end(),
                   [](char c) { return (c >= '0' && c <= '9') || c == '.'; })) {
    return false;
  }
  return version != "HTTP/1.0" && version != "HTTP/1.1";
}

HttpResponse BadRequest(const std::string& message) {
  return ErrorResponse(400, "bad_request", message);
}

}  // namespace

void PrepareParser(RequestParser& parser, const ServerOptions& options) {
  parser.header_limit(static_cast<std::uint32_t>(options.max_header_bytes));
  // No limit yet (boost::none would refuse every Content-Length: Beast compares against it).
  parser.body_limit(std::numeric_limits<std::uint64_t>::max());
  parser.eager(false);
}

std::size_t PutHead(RequestParser& parser, net::const_buffer bytes, beast::error_code& ec) {
  const std::size_t used = parser.put(bytes, ec);
  if (ec == http::error::need_more) {
    // While the head is incomplete Beast has used none of it: all of `bytes` is head.
    const std::string_view pending(static_cast<const char*>(bytes.data()) + used,
                                   bytes.size() - used);
    if (HasBareLf(pending)) ec = http::error::bad_line_ending;
  }
  return used;
}

std::optional<HttpResponse> ParseErrorResponse(const beast::error_code& ec,
                                               std::string_view buffered,
                                               const ServerOptions& options,
                                               std::size_t body_limit) {
  if (ec.category() != beast::error_code(http::error::bad_method).category()) return std::nullopt;
  switch (static_cast<http::error>(ec.value())) {
    case http::error::end_of_stream:
    case http::error::partial_message:
    case http::error::short_read:
    case http::error::need_more:
    case http::error::stale_parser:
      return std::nullopt;  // the peer is gone (or there is nothing wrong to answer)
    case http::error::header_limit:
    case http::error::buffer_overflow:
      return ErrorResponse(431, "header_too_large",
                           "the request line and header fields exceed " +
                               std::to_string(options.max_header_bytes) + " bytes");
    case http::error::body_limit:
      return ErrorResponse(
          413, "payload_too_large",
          "request body exceeds the limit of " + std::to_string(body_limit) + " bytes");
    case http::error::bad_version:
      if (NamesOtherHttpVersion(buffered)) {
        return ErrorResponse(505, "http_version_not_supported",
                             "only HTTP/1.0 and HTTP/1.1 are supported");
      }
      return BadRequest("malformed request line (it must end with CRLF)");
    case http::error::bad_line_ending:
      return BadRequest("malformed request: lines must end with CRLF");
    case http::error::bad_content_length:
      return BadRequest("malformed or conflicting Content-Length");
    case http::error::bad_transfer_encoding:
      return BadRequest("Transfer-Encoding conflicts with Content-Length or is repeated");
    case http::error::bad_chunk:
    case http::error::bad_chunk_extension:
      return BadRequest("malformed chunked body");
    default:
      return BadRequest("malformed request: " + ec.message());
  }
}

std::optional<HttpResponse> CheckFraming(const BeastRequest& head) {
  std::vector<std::string> codings;
  bool has_transfer_encoding = false;
  for (const auto& field : head) {
    if (field.name() != http::field::transfer_encoding) continue;
    has_transfer_encoding = true;
    const auto raw = field.value();
    std::string_view value(raw.data(), raw.size());
    while (true) {
      const std::size_t comma = value.find(',');
      const std::string_view coding = Trim(value.substr(0, comma));
      if (!coding.empty()) codings.push_back(Lower(coding));
      if (comma == std::string_view::npos) break;
      value.remove_prefix(comma + 1);
    }
  }
  if (!has_transfer_encoding) return std::nullopt;
  if (head.version() < 11) return BadRequest("Transfer-Encoding in an HTTP/1.0 request");
  if (head.count(http::field::content_length) > 0) {
    return BadRequest("a request may not have both Content-Length and Transfer-Encoding");
  }
  if (codings.empty() || codings.back() != "chunked") {
    return BadRequest("Transfer-Encoding must end with chunked");
  }
  if (std::count(codings.begin(), codings.end(), "chunked") > 1) {
    return BadRequest("chunked may be applied only once");
  }
  if (codings.size() > 1) {
    return ErrorResponse(501, "not_implemented", "only the chunked transfer coding is supported");
  }
  return std::nullopt;
}

bool AnnouncesBody(const RequestParser& parser) {
  if (parser.chunked()) return true;
  const auto length = parser.content_length();
  return length && *length > 0;
}

HttpRequest ToRequest(const BeastRequest& head, std::string body, const std::string& remote) {
  HttpRequest out;
  out.method = std::string(head.method_string());
  const std::string target(head.target());
  const size_t q = target.find('?');
  out.path = PercentDecode(target.substr(0, q), false);
  if (q != std::string::npos) out.query = ParseQuery(target.substr(q + 1));
  for (const auto& field : head) {
    const auto name = field.name_string();
    out.headers[Lower(std::string_view(name.data(), name.size()))] = std::string(field.value());
  }
  out.body = std::move(body);
  out.remote = remote;
  return out;
}

std::size_t BodyLimit(BodyClass body, const ServerOptions& options) {
  return body == BodyClass::kUpload ? options.max_body_bytes : options.max_json_body_bytes;
}

std::optional<HttpResponse> AfterAdmission(const Admission& admission, RequestParser& parser,
                                           const ServerOptions& options, std::size_t* reserve) {
  if (admission.refusal) return admission.refusal;
  const std::size_t limit = BodyLimit(admission.body, options);
  const auto length = parser.content_length();
  if (length && *length > limit) {
    return ErrorResponse(413, "payload_too_large",
                         "request body exceeds the limit of " + std::to_string(limit) + " bytes");
  }
  parser.body_limit(limit);
  *reserve = length ? static_cast<std::size_t>(*length) : limit;
  return std::nullopt;
}

HttpResponse HandleSafely(const RequestHandler& handler, const HttpRequest& request) noexcept {
  try {
    try {
      return handler(request);
    } catch (const Error& e) {
      return ErrorResponseFor(e, request);
    } catch (...) {
      return ErrorResponse(500, "internal_error", "internal error while handling the request");
    }
  } catch (...) {  // ErrorResponse itself failed (out of memory): a fixed answer
    HttpResponse r;
    r.status = 500;
    r.body = R"({"error":{"code":"internal_error","message":"internal error"}})";
    return r;
  }
}

bool BodyBudget::TryReserve(std::size_t bytes) {
  std::size_t used = used_.load();
  do {
    if (bytes > limit_ || used > limit_ - bytes) return false;
  } while (!used_.compare_exchange_weak(used, used + bytes));
  return true;
}

void BodyBudget::Release(std::size_t bytes) { used_.fetch_sub(bytes); }

HttpResponse BusyResponse(const ServerOptions& options) {
  HttpResponse r =
      ErrorResponse(503, "server_busy",
                    "too many request bodies in memory at once (limit " +
                        std::to_string(options.max_body_memory_bytes) + " bytes): retry later");
  r.headers.emplace_back("Retry-After", "2");
  return r;
}

HttpResponse TimeoutResponse(const ServerOptions& options) {
  return ErrorResponse(
      408, "request_timeout",
      "the request did not arrive within " + std::to_string(options.read_timeout_s) + " s");
}

}  // namespace skintrack::service::detail

namespace skintrack::service {

std::vector<HttpResponse> ServeBytes(std::string_view bytes, const ServerOptions& options,
                                     const RequestAdmitter& admit, const RequestHandler& handler) {
  using namespace detail;  // NOLINT(google-build-using-namespace): this file's own steps
  std::vector<HttpResponse> out;
  try {
    while (!bytes.empty()) {
      RequestParser parser;
      PrepareParser(parser, options);
      beast::error_code ec;
      bytes.remove_prefix(PutHead(parser, net::buffer(bytes.data(), bytes.size()), ec));
      if (ec == http::error::need_more) return out;  // the server would wait, then answer 408
      if (ec) {
        if (auto r = ParseErrorResponse(ec, bytes, options, 0)) out.push_back(std::move(*r));
        return out;
      }
      if (auto bad = CheckFraming(parser.get())) {
        out.push_back(std::move(*bad));
        return out;
      }
      if (AnnouncesBody(parser)) {
        Admission admission;
        admission.body = BodyClass::kUpload;
        try {
          if (admit) admission = admit(ToRequest(parser.get(), {}, "127.0.0.1"));
        } catch (const Error& e) {
          admission.refusal = ErrorResponseFor(e, HttpRequest{});
        }
        std::size_t reserve = 0;
        if (auto refusal = AfterAdmission(admission, parser, options, &reserve)) {
          out.push_back(std::move(*refusal));
          return out;
        }
        const std::size_t limit = BodyLimit(admission.body, options);
        while (!parser.is_done()) {
          const std::size_t used = parser.put(net::buffer(bytes.data(), bytes.size()), ec);
          bytes.remove_prefix(used);
          if (ec == http::error::need_more || (!ec && used == 0)) {
            if (used == 0) return out;  // the body is incomplete: the server would wait
            ec = {};
            continue;
          }
          if (ec) {
            if (auto r = ParseErrorResponse(ec, bytes, options, limit)) out.push_back(*r);
            return out;
          }
        }
      }
      BeastRequest request = parser.release();
      try {
        out.push_back(
            HandleSafely(handler, ToRequest(request, std::move(request.body().text), "127.0.0.1")));
      } catch (const Error& e) {
        out.push_back(ErrorResponseFor(e, HttpRequest{}));
      }
      if (!request.keep_alive()) return out;
    }
  } catch (...) {
    out.push_back(ErrorResponse(500, "internal_error", "internal error"));
  }
  return out;
}

}  // namespace skintrack::service
