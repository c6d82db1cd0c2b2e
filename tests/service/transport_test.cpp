// The server's request steps on bytes in memory (ServeBytes, the same parse, framing checks,
// admission and limits as a connection, which the fuzz target drives): without sockets.
#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

#include "skintrack/service/http.h"
#include "skintrack/service/server.h"

namespace skintrack::service {
namespace {

using nlohmann::json;

class Transport : public ::testing::Test {
 protected:
  void SetUp() override {
    options_.max_body_bytes = std::size_t{64} * 1024;
    options_.max_json_body_bytes = 1024;
    options_.max_body_memory_bytes = std::size_t{64} * 1024;
    auto echo = [this](const HttpRequest& r, const PathParams&) {
      ++handled_;
      HttpResponse out;
      out.body = r.body;
      return out;
    };
    router_.Add("POST", "/json", echo, {}, BodyClass::kJson);
    router_.Add("POST", "/upload", echo, {}, BodyClass::kUpload);
    router_.Add(
        "POST", "/private", echo,
        [this](const HttpRequest& head) {
          ++gated_;
          if (head.Header("authorization") != "Bearer ok") {
            throw Error(ErrorCode::kUnauthorized, "missing bearer token");
          }
        },
        BodyClass::kUpload);
    router_.Add("GET", "/echo-path", [this](const HttpRequest& r, const PathParams&) {
      ++handled_;
      HttpResponse out;
      out.body = json{{"path", r.path}}.dump(-1, ' ', false, json::error_handler_t::replace);
      return out;
    });
  }

  std::vector<HttpResponse> Serve(const std::string& bytes) {
    return ServeBytes(
        bytes, options_, [this](const HttpRequest& head) { return router_.Admit(head); },
        [this](const HttpRequest& r) { return router_.Dispatch(r); });
  }

  ServerOptions options_;
  Router router_;
  int handled_ = 0, gated_ = 0;
};

TEST_F(Transport, PipelinedRequestsAreServedInOrder) {
  const auto r = Serve(
      "POST /json HTTP/1.1\r\nHost: x\r\nContent-Length: 2\r\n\r\n{}"
      "POST /upload HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: "
      "chunked\r\n\r\n3\r\nabc\r\n0\r\n\r\n");
  ASSERT_EQ(r.size(), 2u);
  EXPECT_EQ(r[0].body, "{}");
  EXPECT_EQ(r[1].body, "abc");
  EXPECT_EQ(handled_, 2);
}

// RFC 9112 6.3: Beast framed `Transfer-Encoding: chunked, identity` + Content-Length by the
// Content-Length and ran the trailing bytes as a second request (request smuggling).
TEST_F(Transport, AmbiguousFramingIsRefusedAndNothingAfterItRuns) {
  const char* heads[] = {
      "Transfer-Encoding: chunked, identity\r\nContent-Length: 2\r\n",
      "Transfer-Encoding: xchunked\r\nContent-Length: 2\r\n",
      "Content-Length: 2\r\nTransfer-Encoding: chunked\r\n",
      "Transfer-Encoding: identity\r\n",
      "Transfer-Encoding: chunked\r\nTransfer-Encoding: chunked\r\n",
  };
  for (const char* head : heads) {
    const auto r = Serve(std::string("POST /upload HTTP/1.1\r\nHost: x\r\n") + head +
                         "\r\n{}GET /echo-path HTTP/1.1\r\nHost: x\r\n\r\n");
    ASSERT_EQ(r.size(), 1u) << head;
    EXPECT_EQ(r[0].status, 400) << head << r[0].body;
  }
  EXPECT_EQ(handled_, 0);
  const auto old = Serve("POST /upload HTTP/1.0\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n");
  ASSERT_EQ(old.size(), 1u);
  EXPECT_EQ(old[0].status, 400);
}

TEST_F(Transport, FramingErrorsGetTheirStatus) {
  const std::pair<std::string, int> cases[] = {
      {"POST /json HTTP/1.1\r\nContent-Length: -1\r\n\r\n", 400},
      {"POST /json HTTP/1.1\r\nContent-Length: 1 2\r\n\r\n", 400},
      {"POST /json HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\nfffffffffffffffffff\r\n", 400},
      {"POST /json HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n2;\x01\r\nab\r\n0\r\n\r\n", 400},
      {"GET /echo-path HTTP/1.1\r\nX: " + std::string(9000, 'a') + "\r\n\r\n", 431},
      {"GET /echo-path HTTP/1.1\nHost: x\n\n", 400},
      {"GET /echo-path HTTP/1.1\r\nHost: x\n\r\n", 400},
      {"GET /echo-path HTTP/2.0\r\n\r\n", 505},
      {"GET /echo-path HTTP/1.2\r\n\r\n", 505},
      {"GET /echo-path HTTP/1.1 \r\n\r\n", 400},
      {"GET /echo-path%zz HTTP/1.1\r\n\r\n", 400},
      {"POST /upload HTTP/1.1\r\nTransfer-Encoding: gzip, chunked\r\n\r\n0\r\n\r\n", 501},
  };
  for (const auto& [bytes, status] : cases) {
    const auto r = Serve(bytes);
    ASSERT_EQ(r.size(), 1u) << bytes;
    EXPECT_EQ(r[0].status, status) << bytes << " -> " << r[0].body;
    EXPECT_FALSE(json::parse(r[0].body, nullptr, false).is_discarded()) << r[0].body;
  }
  EXPECT_EQ(handled_, 0);
}

// The gate sees the head alone: a refused upload needs no body byte to get its answer, and the
// handler never runs.
TEST_F(Transport, TheGateRefusesOnTheHeadWithoutTheBody) {
  const auto refused = Serve("POST /private HTTP/1.1\r\nContent-Length: 60000\r\n\r\n");
  ASSERT_EQ(refused.size(), 1u);
  EXPECT_EQ(refused[0].status, 401);
  EXPECT_EQ(gated_, 1);
  const auto admitted =
      Serve("POST /private HTTP/1.1\r\nAuthorization: Bearer ok\r\nContent-Length: 5\r\n\r\nhello");
  ASSERT_EQ(admitted.size(), 1u);
  EXPECT_EQ(admitted[0].body, "hello");
  EXPECT_EQ(handled_, 1);
  // Without a body there is nothing to spare: the handler (which authorises itself, as every API
  // handler does) decides alone, and bodiless GETs do not verify their token twice.
  const auto bodiless = Serve("POST /private HTTP/1.1\r\n\r\n");
  ASSERT_EQ(bodiless.size(), 1u);
  EXPECT_EQ(gated_, 2);
  EXPECT_EQ(handled_, 2);
}

TEST_F(Transport, BodyLimitsFollowTheRouteClass) {
  const std::string big(2000, 'x');
  const auto json_route =
      Serve("POST /json HTTP/1.1\r\nContent-Length: " + std::to_string(big.size()) + "\r\n\r\n");
  ASSERT_EQ(json_route.size(), 1u);
  EXPECT_EQ(json_route[0].status, 413);  // over the 1 KiB JSON limit, on the head
  const auto upload = Serve(
      "POST /upload HTTP/1.1\r\nContent-Length: " + std::to_string(big.size()) + "\r\n\r\n" + big);
  ASSERT_EQ(upload.size(), 1u);
  EXPECT_EQ(upload[0].body, big);
  // Chunked: the limit holds across chunks.
  const auto chunked =
      Serve("POST /json HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n300\r\n" +
            std::string(0x300, 'a') + "\r\n300\r\n" + std::string(0x300, 'a') + "\r\n0\r\n\r\n");
  ASSERT_EQ(chunked.size(), 1u);
  EXPECT_EQ(chunked[0].status, 413);
}

TEST_F(Transport, RequestBytesThatAreNotUtf8Get400) {
  for (const std::string target :
       {"/echo-path%ff", "/echo-path\xff", "/echo-path?a=%c3%28", "/echo-path?%ed%a0%80=1"}) {
    const auto r = Serve("GET " + target + " HTTP/1.1\r\n\r\n");
    ASSERT_EQ(r.size(), 1u) << target;
    EXPECT_EQ(r[0].status, 400) << target;
  }
  EXPECT_EQ(handled_, 0);
  const auto ok = Serve("GET /echo-path?a=%c3%a9 HTTP/1.1\r\n\r\n");
  ASSERT_EQ(ok.size(), 1u);
  EXPECT_EQ(ok[0].status, 200);
}

TEST_F(Transport, IncompleteRequestsGetNoAnswerYet) {
  EXPECT_TRUE(Serve("GET /echo-path HTTP/1.1\r\nHost: x\r\n").empty());
  EXPECT_TRUE(Serve("POST /upload HTTP/1.1\r\nContent-Length: 10\r\n\r\nabc").empty());
  EXPECT_EQ(handled_, 0);
}

}  // namespace
}  // namespace skintrack::service
