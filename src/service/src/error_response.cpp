#include "skintrack/service/error_response.h"

#include <iostream>
#include <nlohmann/json.hpp>
#include <string>

namespace skintrack::service {
namespace {

// What a client may learn of a server-side failure, and what to do about it.
const char* PublicMessage(ErrorCode code) {
  switch (code) {
    case ErrorCode::kStorageFull:
      return "the server has no storage space left; nothing was stored; retry after the "
             "operator has freed space";
    case ErrorCode::kStorage:
      return "the database is busy or unavailable; retry later";
    case ErrorCode::kIo:
      return "the server could not read or write its files; the operator can see why in the "
             "server log";
    default:
      return "internal error while handling the request";
  }
}

void LogServerError(const Error& error, const HttpRequest& request, int status) {
  nlohmann::json line = {{"event", "server_error"},
                         {"method", request.method},
                         {"path", request.path},
                         {"status", status},
                         {"code", ErrorCodeName(error.code())},
                         {"detail", error.what()}};
  // Request bytes and file names need not be UTF-8: replace, never throw, in a log line.
  std::cerr << line.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace) + "\n"
            << std::flush;
}

}  // namespace

HttpResponse ErrorResponseFor(const Error& error, const HttpRequest& request) noexcept {
  const int status = HttpStatusFor(error.code());
  try {
    if (status < 500) return ErrorResponse(status, ErrorCodeName(error.code()), error.what());
    LogServerError(error, request, status);
    HttpResponse response =
        ErrorResponse(status, ErrorCodeName(error.code()), PublicMessage(error.code()));
    if (status == 503)
      response.headers.emplace_back("Retry-After", std::to_string(kRetryAfterSeconds));
    return response;
  } catch (...) {  // out of memory or a failing stderr: still answer
    HttpResponse response;
    response.status = 500;
    response.body = R"({"error":{"code":"internal_error","message":"internal error"}})";
    return response;
  }
}

}  // namespace skintrack::service
