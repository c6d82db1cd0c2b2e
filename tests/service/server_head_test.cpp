// HEAD on the real server (issue 16): the GET answer's header with its Content-Length, no body
// bytes, and the connection stays usable for the next request.
#include <arpa/inet.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <chrono>
#include <string>

#include "../support/run_cli.h"
#include "skintrack/service/service.h"

namespace skintrack::service {
namespace {

// Reads from `fd` until `done(bytes)` or 5 s.
template <typename Done>
std::string ReadUntil(int fd, Done done) {
  std::string out;
  const auto end = std::chrono::steady_clock::now() + std::chrono::seconds(5);
  while (!done(out) && std::chrono::steady_clock::now() < end) {
    pollfd p{fd, POLLIN, 0};
    if (::poll(&p, 1, 100) <= 0) continue;
    char buf[65536];
    const ssize_t n = ::recv(fd, buf, sizeof buf, 0);
    if (n <= 0) break;
    out.append(buf, static_cast<size_t>(n));
  }
  return out;
}

std::string HeaderValue(const std::string& head, const std::string& name) {
  const size_t at = head.find("\r\n" + name + ": ");
  if (at == std::string::npos) return "";
  const size_t start = at + name.size() + 4;
  return head.substr(start, head.find("\r\n", start) - start);
}

TEST(ServerHead, HeadSendsTheHeaderOnlyAndKeepsTheConnection) {
  testing::TempDir dir("head");
  ServiceOptions o;
  o.data_dir = dir.str() + "/data";
  o.server.port = 0;
  o.pipeline.workers = 0;
  o.log_requests = false;
  Service service(o);
  const int port = service.Start();

  const int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_port = htons(static_cast<std::uint16_t>(port));
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  ASSERT_EQ(::connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr), 0);
  // Both requests at once on one connection: a body after the HEAD answer would be read as the
  // start of the second answer.
  const std::string requests =
      "HEAD /healthz HTTP/1.1\r\nHost: x\r\n\r\nGET /healthz HTTP/1.1\r\nHost: x\r\n\r\n";
  ASSERT_EQ(::send(fd, requests.data(), requests.size(), MSG_NOSIGNAL),
            static_cast<ssize_t>(requests.size()));
  const std::string bytes = ReadUntil(fd, [](const std::string& b) {
    const size_t second = b.find("HTTP/1.1 ", 1);
    if (second == std::string::npos) return false;
    const size_t end = b.find("\r\n\r\n", second);
    if (end == std::string::npos) return false;
    const std::string length = HeaderValue(b.substr(second, end - second), "Content-Length");
    return !length.empty() && b.size() >= end + 4 + std::stoul(length);
  });
  ::close(fd);
  service.Stop();

  ASSERT_EQ(bytes.rfind("HTTP/1.1 200", 0), 0u) << bytes;
  const size_t head_end = bytes.find("\r\n\r\n");
  ASSERT_NE(head_end, std::string::npos);
  const std::string head = bytes.substr(0, head_end);
  // The second answer starts right after the first header: the HEAD answer had no body.
  const std::string rest = bytes.substr(head_end + 4);
  ASSERT_EQ(rest.rfind("HTTP/1.1 200", 0), 0u) << bytes;
  const size_t get_end = rest.find("\r\n\r\n");
  const std::string get_head = rest.substr(0, get_end);
  const std::string get_body = rest.substr(get_end + 4);
  EXPECT_EQ(HeaderValue(head, "Content-Length"), std::to_string(get_body.size()));
  EXPECT_EQ(HeaderValue(head, "Content-Type"), HeaderValue(get_head, "Content-Type"));
  EXPECT_NE(get_body.find("\"status\""), std::string::npos) << get_body;
}

}  // namespace
}  // namespace skintrack::service
