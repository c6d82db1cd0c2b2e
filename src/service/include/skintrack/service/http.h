// Transport-neutral HTTP request / response values and the router that maps them to handlers.
// The router is a pure function of the request (no sockets), so every route can be tested
// directly; the Beast server (server.h) only moves bytes in and out of these structs.
#pragma once

#include <functional>
#include <map>
#include <string>
#include <utility>
#include <vector>

#include "skintrack/core/error.h"

namespace skintrack::service {

struct HttpRequest {
  std::string method;                          // "GET", "POST", ...
  std::string path;                            // percent-decoded path, no query
  std::map<std::string, std::string> query;    // decoded query parameters (last one wins)
  std::map<std::string, std::string> headers;  // lower-case names
  std::string body;
  std::string remote;  // peer address, for logs

  // The header's value, or "" when absent. `name` must be lower case.
  std::string Header(const std::string& name) const;
};

struct HttpResponse {
  int status = 200;
  std::string content_type = "application/json";
  std::string body;
  std::vector<std::pair<std::string, std::string>> headers;
};

// {"error": {"code": ..., "message": ...}} with the given status.
HttpResponse ErrorResponse(int status, const std::string& code, const std::string& message);
// The one mapping from error codes to HTTP statuses.
int HttpStatusFor(ErrorCode code) noexcept;

// Path parameters captured by a route pattern, e.g. {"id": "42"} for /v1/captures/{id}.
using PathParams = std::map<std::string, std::string>;
using Handler = std::function<HttpResponse(const HttpRequest&, const PathParams&)>;

class Router {
 public:
  // `pattern` is a path whose segments are literals or {name} placeholders; a placeholder
  // matches one non-empty segment. Routes are matched in the order they were added.
  void Add(const std::string& method, const std::string& pattern, Handler handler);

  // Runs the matching handler. Unknown path: 404; known path with another method: 405 (with an
  // Allow header). skintrack::Error thrown by a handler becomes its HTTP status and JSON body;
  // any other exception becomes 500 without internal details. Never throws.
  HttpResponse Dispatch(const HttpRequest& request) const;

  // (method, pattern) of every route, in order, for the OpenAPI consistency test.
  std::vector<std::pair<std::string, std::string>> Routes() const;

 private:
  struct Route {
    std::string method;
    std::string pattern;
    std::vector<std::string> segments;
    Handler handler;
  };
  std::vector<Route> routes_;
};

// Splits "a=1&b=x%20y" into decoded pairs. Throws Error(kInvalidArgument) on bad escapes.
std::map<std::string, std::string> ParseQuery(const std::string& query);
// Percent-decodes a path or query component ('+' is a space only when `plus_is_space`).
std::string PercentDecode(const std::string& text, bool plus_is_space);

}  // namespace skintrack::service
