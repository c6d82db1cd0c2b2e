#include "skintrack/service/http.h"

#include <nlohmann/json.hpp>
#include <sstream>

#include "skintrack/service/error_response.h"

namespace skintrack::service {
namespace {

std::vector<std::string> SplitPath(const std::string& path) {
  std::vector<std::string> out;
  std::string current;
  for (char c : path) {
    if (c == '/') {
      if (!current.empty()) out.push_back(current);
      current.clear();
    } else {
      current.push_back(c);
    }
  }
  if (!current.empty()) out.push_back(current);
  return out;
}

int HexValue(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

}  // namespace

std::string HttpRequest::Header(const std::string& name) const {
  auto it = headers.find(name);
  return it == headers.end() ? std::string() : it->second;
}

HttpResponse ErrorResponse(int status, const std::string& code, const std::string& message) {
  HttpResponse r;
  r.status = status;
  // Messages echo request bytes (paths, ids, header values): replace what is not UTF-8 instead of
  // throwing (a throw here escaped the server's threads and ended the process).
  r.body = nlohmann::json{{"error", {{"code", code}, {"message", message}}}}.dump(
      -1, ' ', false, nlohmann::json::error_handler_t::replace);
  return r;
}

int HttpStatusFor(ErrorCode code) noexcept {
  switch (code) {
    case ErrorCode::kInvalidArgument:
    case ErrorCode::kImageDecode:
      return 400;
    case ErrorCode::kUnauthorized:
      return 401;
    case ErrorCode::kForbidden:
      return 403;
    case ErrorCode::kNotFound:
      return 404;
    case ErrorCode::kAlreadyExists:
    case ErrorCode::kConflict:
      return 409;
    case ErrorCode::kImageTooLarge:
      return 413;
    case ErrorCode::kUnsupportedMedia:
      return 415;
    case ErrorCode::kStorage:
      return 503;  // busy or unavailable database: the answer carries Retry-After
    case ErrorCode::kStorageFull:
      return 507;  // Insufficient Storage (RFC 4918): retrying helps only after space is freed
    case ErrorCode::kIo:
    case ErrorCode::kInternal:
      return 500;
  }
  return 500;
}

void Router::Add(const std::string& method, const std::string& pattern, Handler handler, Gate gate,
                 BodyClass body) {
  routes_.push_back(
      {method, pattern, SplitPath(pattern), std::move(handler), std::move(gate), body});
}

const Router::Route* Router::Match(const HttpRequest& request, PathParams& params,
                                   HttpResponse& refusal) const {
  // Request bytes reach JSON answers, logs and the database from here: refuse what is not UTF-8
  // at the edge, before any route sees it.
  if (!IsValidUtf8(request.path)) {
    refusal = ErrorResponse(400, "invalid_argument", "the request path is not valid UTF-8");
    return nullptr;
  }
  for (const auto& [name, value] : request.query) {
    if (!IsValidUtf8(name) || !IsValidUtf8(value)) {
      refusal = ErrorResponse(400, "invalid_argument",
                              "a query parameter name or value is not valid UTF-8");
      return nullptr;
    }
  }
  const std::vector<std::string> segments = SplitPath(request.path);
  std::vector<std::string> allowed;
  for (const Route& route : routes_) {
    if (route.segments.size() != segments.size()) continue;
    params.clear();
    bool match = true;
    for (size_t i = 0; i < segments.size() && match; ++i) {
      const std::string& p = route.segments[i];
      if (p.size() > 2 && p.front() == '{' && p.back() == '}') {
        params[p.substr(1, p.size() - 2)] = segments[i];
      } else {
        match = p == segments[i];
      }
    }
    if (!match) continue;
    // HEAD is answered wherever GET is: the GET route runs and the transport drops the body.
    const bool same =
        route.method == request.method || (request.method == "HEAD" && route.method == "GET");
    if (!same) {
      allowed.push_back(route.method);
      if (route.method == "GET") allowed.emplace_back("HEAD");
      continue;
    }
    return &route;
  }
  if (!allowed.empty()) {
    allowed.emplace_back("OPTIONS");
    std::ostringstream allow;
    for (size_t i = 0; i < allowed.size(); ++i) allow << (i ? ", " : "") << allowed[i];
    if (request.method == "OPTIONS") {
      // No CORS (docs/service.md): the methods of the path, and no Access-Control-* header, so a
      // browser refuses a cross-origin call after its preflight.
      refusal = HttpResponse{204, "", "", {{"Allow", allow.str()}}};
      return nullptr;
    }
    refusal = ErrorResponse(405, "method_not_allowed",
                            request.method + " is not allowed on " + request.path);
    refusal.headers.emplace_back("Allow", allow.str());
  } else {
    refusal = ErrorResponse(404, "not_found", "no route for " + request.path);
  }
  return nullptr;
}

Admission Router::Admit(const HttpRequest& head) const {
  Admission out;
  try {
    PathParams params;
    HttpResponse refusal;
    const Route* route = Match(head, params, refusal);
    if (route == nullptr) {
      out.refusal = std::move(refusal);
      return out;
    }
    out.body = route->body;
    if (route->gate) route->gate(head);
  } catch (const Error& e) {
    out.refusal = ErrorResponseFor(e, head);  // 5xx: no server internals in the body
  } catch (...) {
    out.refusal =
        ErrorResponse(500, "internal_error", "internal error while admitting the request");
  }
  return out;
}

HttpResponse Router::Dispatch(const HttpRequest& request) const {
  try {
    PathParams params;
    HttpResponse refusal;
    const Route* route = Match(request, params, refusal);
    if (route == nullptr) return refusal;
    return route->handler(request, params);
  } catch (const Error& e) {
    return ErrorResponseFor(e, request);  // 5xx: no server internals in the body
  } catch (...) {
    return ErrorResponse(500, "internal_error", "internal error while handling the request");
  }
}

std::vector<std::pair<std::string, std::string>> Router::Routes() const {
  std::vector<std::pair<std::string, std::string>> out;
  for (const Route& r : routes_) out.emplace_back(r.method, r.pattern);
  return out;
}

std::string PercentDecode(const std::string& text, bool plus_is_space) {
  std::string out;
  out.reserve(text.size());
  for (size_t i = 0; i < text.size(); ++i) {
    const char c = text[i];
    if (c == '%') {
      if (i + 2 >= text.size()) {
        throw Error(ErrorCode::kInvalidArgument, "bad percent escape in '" + text + "'");
      }
      const int hi = HexValue(text[i + 1]), lo = HexValue(text[i + 2]);
      if (hi < 0 || lo < 0) {
        throw Error(ErrorCode::kInvalidArgument, "bad percent escape in '" + text + "'");
      }
      out.push_back(static_cast<char>(hi * 16 + lo));
      i += 2;
    } else if (c == '+' && plus_is_space) {
      out.push_back(' ');
    } else {
      out.push_back(c);
    }
  }
  return out;
}

bool IsValidUtf8(const std::string& text) noexcept {
  const auto* p = reinterpret_cast<const unsigned char*>(text.data());
  const auto* end = p + text.size();
  while (p < end) {
    const unsigned char c = *p;
    if (c < 0x80) {
      ++p;
      continue;
    }
    int extra = 0;
    unsigned int cp = 0, min = 0;
    if ((c & 0xE0) == 0xC0) {
      extra = 1, cp = c & 0x1Fu, min = 0x80;
    } else if ((c & 0xF0) == 0xE0) {
      extra = 2, cp = c & 0x0Fu, min = 0x800;
    } else if ((c & 0xF8) == 0xF0) {
      extra = 3, cp = c & 0x07u, min = 0x10000;
    } else {
      return false;  // a continuation byte first, or 0xF8..0xFF
    }
    if (end - p <= extra) return false;
    for (int i = 1; i <= extra; ++i) {
      if ((p[i] & 0xC0) != 0x80) return false;
      cp = (cp << 6) | (p[i] & 0x3Fu);
    }
    if (cp < min || cp > 0x10FFFF || (cp >= 0xD800 && cp <= 0xDFFF)) return false;
    p += extra + 1;
  }
  return true;
}

std::map<std::string, std::string> ParseQuery(const std::string& query) {
  std::map<std::string, std::string> out;
  size_t start = 0;
  while (start <= query.size()) {
    size_t end = query.find('&', start);
    if (end == std::string::npos) end = query.size();
    const std::string part = query.substr(start, end - start);
    if (!part.empty()) {
      const size_t eq = part.find('=');
      const std::string key = PercentDecode(part.substr(0, eq), true);
      const std::string value =
          eq == std::string::npos ? std::string() : PercentDecode(part.substr(eq + 1), true);
      out[key] = value;
    }
    start = end + 1;
  }
  return out;
}

}  // namespace skintrack::service
