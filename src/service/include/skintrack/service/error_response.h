// The HTTP answer for a skintrack::Error thrown while handling a request.
#pragma once

#include "skintrack/core/error.h"
#include "skintrack/service/http.h"

namespace skintrack::service {

// Status from HttpStatusFor and the JSON error body. A client error (4xx) carries the error's
// own message, which names what is wrong with the request. A server error (5xx: storage full,
// database busy or unavailable, file I/O, internal) carries a fixed message per code instead:
// its own message describes the server (data-directory paths, SQLite's text) and is written to
// standard error, as one JSON line with the request's method and path, for the operator.
// 503 adds Retry-After. Never throws; thread-safe.
HttpResponse ErrorResponseFor(const Error& error, const HttpRequest& request) noexcept;

// The Retry-After seconds of a 503 (busy or unavailable database).
inline constexpr int kRetryAfterSeconds = 5;

}  // namespace skintrack::service
