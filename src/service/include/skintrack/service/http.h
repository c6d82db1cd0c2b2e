// Transport-neutral HTTP request / response values and the router that maps them to handlers.
// The router is a pure function of the request (no sockets), so every route can be tested
// directly; the Beast server (server.h) only moves bytes in and out of these structs.
#pragma once

#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "skintrack/core/error.h"

namespace skintrack::service {

// An upload body the server wrote to an unnamed file while it arrived, hashed on the way
// (server.h, ServerOptions::upload_spool_dir): its bytes are a read-only mapping of that file (page
// cache, not heap), the file disappears with the last reference.
class SpooledBody {
 public:
  virtual ~SpooledBody() = default;
  virtual std::string_view bytes() const = 0;
  virtual const std::string& sha256() const = 0;  // lower-case hex, of bytes()
};

struct HttpRequest {
  std::string method;                          // "GET", "POST", ...
  std::string path;                            // percent-decoded path, no query
  std::map<std::string, std::string> query;    // decoded query parameters (last one wins)
  std::map<std::string, std::string> headers;  // lower-case names
  std::string body;                            // empty when `spooled` holds it
  std::shared_ptr<const SpooledBody> spooled;  // set only for spooled uploads
  std::string remote;                          // peer address, for logs

  // The header's value, or "" when absent. `name` must be lower case.
  std::string Header(const std::string& name) const;
  // The body's bytes wherever they are (routes of BodyClass::kUpload read them this way).
  std::string_view Body() const { return spooled ? spooled->bytes() : std::string_view(body); }
};

struct HttpResponse {
  int status = 200;
  std::string content_type = "application/json";
  std::string body;
  std::vector<std::pair<std::string, std::string>> headers;
};

// {"error": {"code": ..., "message": ...}} with the given status. Bytes of `message` that are not
// UTF-8 (request bytes echoed in it) are written as U+FFFD: never throws for them.
HttpResponse ErrorResponse(int status, const std::string& code, const std::string& message);
// The one mapping from error codes to HTTP statuses.
int HttpStatusFor(ErrorCode code) noexcept;

// Path parameters captured by a route pattern, e.g. {"id": "42"} for /v1/captures/{id}.
using PathParams = std::map<std::string, std::string>;
using Handler = std::function<HttpResponse(const HttpRequest&, const PathParams&)>;

// Runs on a request's head (method, path, query and headers; the body is empty) before the body is
// read, so that an unauthenticated or unauthorised upload is refused without reading it. Throws
// skintrack::Error (kUnauthorized, kForbidden) to refuse. Must agree with the route's handler.
using Gate = std::function<void(const HttpRequest& head)>;

// How large a route's body may be: kJson for JSON (or no) bodies, kUpload for image uploads; the
// server maps each class to a byte limit (ServerOptions) and may spool kUpload bodies to a file
// (HttpRequest::spooled): their handlers read HttpRequest::Body(), never `body`.
enum class BodyClass { kJson, kUpload };

// The router's answer on a request's head.
struct Admission {
  std::optional<HttpResponse> refusal;  // set: answer this and do not read the body
  BodyClass body = BodyClass::kJson;    // otherwise: the body's class
};

class Router {
 public:
  // `pattern` is a path whose segments are literals or {name} placeholders; a placeholder
  // matches one non-empty segment. Routes are matched in the order they were added. `gate` (may be
  // empty: admit every head) and `body` are for Admit.
  void Add(const std::string& method, const std::string& pattern, Handler handler, Gate gate = {},
           BodyClass body = BodyClass::kJson);

  // On a request's head, before its body is read: the refusal Dispatch would give for a path or
  // query that is not UTF-8 (400), an unknown path (404), another method (405), or the route's gate
  // (its Error's status: 401, 403); otherwise the route's body class. Never throws.
  Admission Admit(const HttpRequest& head) const;

  // Runs the matching handler. A path, query name or query value that is not UTF-8 (after
  // percent-decoding): 400, before any route runs. Unknown path: 404; known path with another
  // method: 405 (with an Allow header). HEAD runs the GET route (the full GET answer comes back:
  // the transport sends its header without the body); OPTIONS on a known path: 204 with Allow and
  // no CORS headers (docs/service.md "HEAD, CORS, pagination"). skintrack::Error thrown by a
  // handler becomes its HTTP status and JSON body; any other exception becomes 500 without internal
  // details. Never throws.
  HttpResponse Dispatch(const HttpRequest& request) const;

  // (method, pattern) of every route, in order, for the OpenAPI consistency test.
  std::vector<std::pair<std::string, std::string>> Routes() const;

 private:
  struct Route {
    std::string method;
    std::string pattern;
    std::vector<std::string> segments;
    Handler handler;
    Gate gate;
    BodyClass body;
  };
  // The route for `request` (its parameters in `params`), or null with the 400/404/405 answer in
  // `refusal`.
  const Route* Match(const HttpRequest& request, PathParams& params, HttpResponse& refusal) const;
  std::vector<Route> routes_;
};

// Splits "a=1&b=x%20y" into decoded pairs. Throws Error(kInvalidArgument) on bad escapes.
std::map<std::string, std::string> ParseQuery(const std::string& query);
// Percent-decodes a path or query component ('+' is a space only when `plus_is_space`).
std::string PercentDecode(const std::string& text, bool plus_is_space);
// True when `text` is well-formed UTF-8 (no overlong forms, surrogates or code points > U+10FFFF).
bool IsValidUtf8(const std::string& text) noexcept;

}  // namespace skintrack::service
