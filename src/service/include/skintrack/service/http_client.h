// A minimal HTTP/1.1 client for loopback use: the demo, the load test and the integration tests
// talk to a skintrack server on 127.0.0.1 with it (Beast stays inside the .cpp).
#pragma once

#include <string>

namespace skintrack::service {

struct HttpReply {
  int status = 0;  // 0 = no HTTP answer (connection refused or reset, timeout)
  std::string body;
};

// One request on a fresh connection to 127.0.0.1:`port`. `method` is "GET", "POST", "PUT"...;
// an empty `bearer_token` or `content_type` is not sent. Never throws for network failures (they
// give status 0). Thread-safe.
HttpReply LoopbackRequest(int port, const std::string& method, const std::string& target,
                          const std::string& bearer_token, const std::string& body = "",
                          const std::string& content_type = "", int timeout_s = 120);

}  // namespace skintrack::service
