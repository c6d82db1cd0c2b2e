// The real server on 127.0.0.1 driven by raw sockets: request bytes that are not UTF-8 (they ended
// the process), malformed framing (each answered with a JSON status, then closed), uploads refused
// on their head before the body is read, the body memory budget, the read timeout, and upload
// bodies spooled to disk.
#include <arpa/inet.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <csignal>
#include <filesystem>
#include <nlohmann/json.hpp>
#include <string>
#include <thread>

#include "../support/run_cli.h"
#include "skintrack/service/server.h"
#include "skintrack/service/service.h"
#include "skintrack/storage/sha256.h"
#include "skintrack/storage/store.h"

namespace skintrack::service {
namespace {

using nlohmann::json;
using Clock = std::chrono::steady_clock;

// A client connection that sends raw bytes and reads what the server answers.
class Raw {
 public:
  explicit Raw(int port) : fd_(::socket(AF_INET, SOCK_STREAM, 0)) {
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_port = htons(static_cast<std::uint16_t>(port));
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    connected_ = ::connect(fd_, reinterpret_cast<sockaddr*>(&addr), sizeof addr) == 0;
  }
  ~Raw() { ::close(fd_); }
  Raw(const Raw&) = delete;
  Raw& operator=(const Raw&) = delete;

  bool connected() const { return connected_; }
  // False when the server no longer takes bytes (it answered and closed).
  bool Send(const std::string& bytes) {
    size_t done = 0;
    while (done < bytes.size()) {
      const ssize_t n = ::send(fd_, bytes.data() + done, bytes.size() - done, MSG_NOSIGNAL);
      if (n <= 0) return false;
      done += static_cast<size_t>(n);
    }
    return true;
  }
  // Reads until the server closes or `timeout_s` passes; `closed` says which.
  std::string Read(double timeout_s, bool* closed = nullptr) {
    std::string out;
    const auto end = Clock::now() + std::chrono::duration<double>(timeout_s);
    bool eof = false;
    while (!eof && Clock::now() < end) {
      pollfd p{fd_, POLLIN, 0};
      const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(end - Clock::now());
      if (::poll(&p, 1, static_cast<int>(std::max<std::int64_t>(left.count(), 1))) <= 0) break;
      char buf[65536];
      const ssize_t n = ::recv(fd_, buf, sizeof buf, 0);
      if (n <= 0) {
        eof = true;
      } else {
        out.append(buf, static_cast<size_t>(n));
      }
    }
    if (closed != nullptr) *closed = eof;
    return out;
  }

 private:
  int fd_;
  bool connected_ = false;
};

struct Answer {
  int status = 0;
  std::string head, body;
};

// The first response in `bytes` (by its Content-Length).
Answer ParseAnswer(const std::string& bytes) {
  Answer a;
  const size_t end = bytes.find("\r\n\r\n");
  if (bytes.rfind("HTTP/1.1 ", 0) != 0 || end == std::string::npos) return a;
  a.status = std::stoi(bytes.substr(9, 3));
  a.head = bytes.substr(0, end);
  const size_t cl = a.head.find("Content-Length: ");
  const size_t length = cl == std::string::npos ? 0 : std::stoul(a.head.substr(cl + 16));
  a.body = bytes.substr(end + 4, length);
  return a;
}

std::string ErrorCode(const Answer& a) {
  const json j = json::parse(a.body, nullptr, false);
  return j.is_discarded() ? "<not json: " + a.body + ">" : j["error"]["code"].get<std::string>();
}

class ServerTransport : public ::testing::Test {
 protected:
  void Start(ServiceOptions o = {}) {
    o.data_dir = dir_.str() + "/data";
    o.server.port = 0;
    o.pipeline.workers = 0;
    service_ = std::make_unique<Service>(o);
    storage::NewToken t;
    t.role = storage::Role::kAdmin;
    admin_ = service_->store().repository().CreateToken(t, "test").token;
    port_ = service_->Start();
  }
  void TearDown() override {
    if (service_) service_->Stop();
  }
  // One request on a fresh connection; the whole exchange until the server closes (or 3 s).
  Answer Exchange(const std::string& bytes, bool* closed = nullptr) {
    Raw c(port_);
    EXPECT_TRUE(c.connected());
    c.Send(bytes);
    return ParseAnswer(c.Read(3.0, closed));
  }
  bool Alive() {
    return Exchange("GET /healthz HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n").status == 200;
  }

  skintrack::testing::TempDir dir_{"transport"};
  std::unique_ptr<Service> service_;
  std::string admin_;
  int port_ = 0;
};

// Item 1 of issue 13: `GET /%ff` ended the process (the access log's JSON dump threw outside any
// try block); with the log off the same bytes answered 500. Now 400 JSON and the server lives.
TEST_F(ServerTransport, RequestBytesThatAreNotUtf8GetA400AndTheServerLives) {
  ServiceOptions o;
  o.log_requests = true;  // the log line is where the process died
  Start(o);
  const std::string targets[] = {"/%ff", "/\xff", "/v1/patients/%ff/timeseries",
                                 "/v1/patients?condition=%ff", "/v1/captures/1?x%ff=1"};
  for (const std::string& target : targets) {
    const Answer a = Exchange("GET " + target + " HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer " +
                              admin_ + "\r\nConnection: close\r\n\r\n");
    EXPECT_EQ(a.status, 400) << target << ": " << a.body;
    EXPECT_EQ(ErrorCode(a), "invalid_argument") << target;
    ASSERT_TRUE(Alive()) << "after " << target;
  }
  // A 0xFF byte in Content-Type: the intake's 415 (the type echoed, escaped), not a 500.
  storage::PatientInfo p;
  p.id = "P1";
  service_->store().repository().CreatePatient(p, "test");
  const std::string image = "\x89PNG\r\n\x1a\nrest";
  const Answer typed = Exchange(
      "POST /v1/patients/P1/sites/left-forearm/captures?condition=psoriasis&captured_at=2026-01-"
      "01T08:00:00Z HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer " +
      admin_ + "\r\nContent-Type: image/\xff\r\nContent-Length: " + std::to_string(image.size()) +
      "\r\nConnection: close\r\n\r\n" + image);
  EXPECT_EQ(typed.status, 415) << typed.body;
  EXPECT_EQ(ErrorCode(typed), "unsupported_media_type") << typed.body;
  EXPECT_TRUE(Alive());
}

// Item 11: each malformed framing gets its status and a JSON body, then the connection closes.
TEST_F(ServerTransport, MalformedFramingIsAnsweredWithJsonThenClosed) {
  Start();
  const std::string auth = "Authorization: Bearer " + admin_ + "\r\n";
  struct Case {
    const char* name;
    std::string bytes;
    int status;
  };
  const Case cases[] = {
      // RFC 9112 6.3: framed by Content-Length, the trailing bytes ran as a second request.
      {"chunked, identity + Content-Length",
       "POST /v1/patients HTTP/1.1\r\nHost: x\r\n" + auth +
           "Transfer-Encoding: chunked, identity\r\nContent-Length: 8\r\n\r\n{\"id\":1}"
           "GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n",
       400},
      {"xchunked + Content-Length",
       "POST /v1/patients HTTP/1.1\r\nHost: x\r\n" + auth +
           "Transfer-Encoding: xchunked\r\nContent-Length: 8\r\n\r\n{\"id\":1}",
       400},
      {"chunked, identity alone",
       "POST /v1/patients HTTP/1.1\r\nHost: x\r\n" + auth +
           "Transfer-Encoding: chunked, identity\r\n\r\n{\"id\":1}",
       400},
      {"gzip, chunked",
       "POST /v1/patients HTTP/1.1\r\nHost: x\r\n" + auth +
           "Transfer-Encoding: gzip, chunked\r\n\r\n0\r\n\r\n",
       501},
      {"malformed Content-Length",
       "POST /v1/patients HTTP/1.1\r\nHost: x\r\n" + auth + "Content-Length: 8x\r\n\r\n{\"id\":1}",
       400},
      {"two Content-Lengths",
       "POST /v1/patients HTTP/1.1\r\nHost: x\r\n" + auth +
           "Content-Length: 8\r\nContent-Length: 9\r\n\r\n{\"id\":1}",
       400},
      {"bad chunk size",
       "POST /v1/patients HTTP/1.1\r\nHost: x\r\n" + auth +
           "Transfer-Encoding: chunked\r\n\r\nzz\r\n{\"id\":1}\r\n0\r\n\r\n",
       400},
      {"header over the limit",
       "GET /healthz HTTP/1.1\r\nHost: x\r\nX-Big: " + std::string(10000, 'a') + "\r\n\r\n", 431},
      {"bare LF line ends", "GET /healthz HTTP/1.1\nHost: x\n\n", 400},
      {"bare LF inside the head", "GET /healthz HTTP/1.1\r\nHost: x\nX-A: b\r\n\r\n", 400},
      {"HTTP/2.0 request line", "GET /healthz HTTP/2.0\r\nHost: x\r\n\r\n", 505},
      {"garbage request line", "\x16\x03\x01 hello\r\n\r\n", 400},
  };
  for (const Case& c : cases) {
    bool closed = false;
    Raw conn(port_);
    ASSERT_TRUE(conn.connected());
    conn.Send(c.bytes);
    const std::string reply = conn.Read(3.0, &closed);
    const Answer a = ParseAnswer(reply);
    EXPECT_EQ(a.status, c.status) << c.name << ": " << reply;
    EXPECT_FALSE(json::parse(a.body, nullptr, false).is_discarded()) << c.name << ": " << a.body;
    EXPECT_NE(a.head.find("Connection: close"), std::string::npos) << c.name;
    EXPECT_TRUE(closed) << c.name << ": the connection stayed open";
    // Exactly one answer: nothing after the framing error ran as a request.
    EXPECT_EQ(reply.size(), a.head.size() + 4 + a.body.size()) << c.name << ": " << reply;
  }
  EXPECT_TRUE(Alive());
}

// Item 5: 15 unauthenticated 39 MB uploads were read whole before their 401 (RSS 164 -> 920 MB).
// Now the head alone is enough: the client sends no body byte and gets its 401.
TEST_F(ServerTransport, UploadsAreRefusedOnTheirHeadBeforeTheBodyIsRead) {
  Start();
  const std::string target =
      "/v1/patients/P1/sites/left-forearm/captures?condition=psoriasis&captured_at=2026-01-01T08:"
      "00:00Z";
  const std::string head = "POST " + target +
                           " HTTP/1.1\r\nHost: x\r\nContent-Type: image/jpeg\r\n"
                           "Content-Length: 39000000\r\n";
  const auto t0 = Clock::now();
  const Answer anonymous = Exchange(head + "\r\n");
  EXPECT_EQ(anonymous.status, 401) << anonymous.body;
  EXPECT_EQ(ErrorCode(anonymous), "unauthorized");
  EXPECT_LT(std::chrono::duration<double>(Clock::now() - t0).count(), 2.0);
  const Answer bad_token = Exchange(head + "Authorization: Bearer stk_nope\r\n\r\n");
  EXPECT_EQ(bad_token.status, 401) << bad_token.body;

  // A coordinator may not upload (403), before the body; an admin's 39 MB fits the upload limit
  // (so it would be read: this client stops and the server waits for the rest).
  storage::NewToken t;
  t.role = storage::Role::kCoordinator;
  const std::string coordinator = service_->store().repository().CreateToken(t, "test").token;
  const Answer forbidden = Exchange(head + "Authorization: Bearer " + coordinator + "\r\n\r\n");
  EXPECT_EQ(forbidden.status, 403) << forbidden.body;

  // A JSON route's body limit is far below an upload's: 2 MB of "JSON" is 413 on its head.
  const Answer json_too_big = Exchange(
      "POST /v1/patients HTTP/1.1\r\nHost: x\r\nAuthorization: "
      "Bearer " +
      admin_ + "\r\nContent-Length: 2000000\r\n\r\n");
  EXPECT_EQ(json_too_big.status, 413) << json_too_big.body;
  // The order is the head's: no token is 401 even for a body over the limit.
  const Answer anonymous_too_big =
      Exchange("POST /v1/patients HTTP/1.1\r\nHost: x\r\nContent-Length: 2000000\r\n\r\n");
  EXPECT_EQ(anonymous_too_big.status, 401) << anonymous_too_big.body;

  // Expect: 100-continue: the refusal comes instead of the 100, so the client never sends.
  Raw cont(port_);
  cont.Send(head + "Expect: 100-continue\r\n\r\n");
  const std::string reply = cont.Read(3.0);
  EXPECT_EQ(reply.find("100 Continue"), std::string::npos) << reply;
  EXPECT_EQ(ParseAnswer(reply).status, 401) << reply;

  // While the client keeps uploading, the answer still arrives (the server drains, then closes).
  Raw pushing(port_);
  pushing.Send(head + "\r\n");
  pushing.Send(std::string(1 << 20, 'x'));
  EXPECT_EQ(ParseAnswer(pushing.Read(3.0)).status, 401);
}

// Item 5: the bodies in memory at once are bounded; over the budget, 503 + Retry-After on the head.
TEST_F(ServerTransport, BodyMemoryBudgetAnswers503WithRetryAfter) {
  ServiceOptions o;
  o.server.max_body_bytes = std::size_t{2} * 1024 * 1024;
  o.server.max_body_memory_bytes = std::size_t{3} * 1024 * 1024;  // one upload of 2 MiB at a time
  Start(o);
  const std::string head =
      "POST /v1/patients/P1/sites/left-forearm/captures?condition=psoriasis&captured_at=2026-01-"
      "01T08:00:00Z HTTP/1.1\r\nHost: x\r\nContent-Type: image/jpeg\r\nAuthorization: Bearer " +
      admin_ + "\r\nContent-Length: 2000000\r\n\r\n";
  auto first = std::make_unique<Raw>(port_);
  first->Send(head + std::string(1000, 'x'));  // admitted, its body being read
  std::this_thread::sleep_for(std::chrono::milliseconds(300));
  const Answer busy = Exchange(head);
  EXPECT_EQ(busy.status, 503) << busy.body;
  EXPECT_EQ(ErrorCode(busy), "server_busy");
  EXPECT_NE(busy.head.find("Retry-After: "), std::string::npos) << busy.head;
  // Small bodies still fit beside it.
  const Answer small =
      Exchange("POST /v1/patients HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer " + admin_ +
               "\r\nContent-Length: 11\r\nConnection: close\r\n\r\n{\"id\":\"P1\"}");
  EXPECT_EQ(small.status, 201) << small.body;
  // The first client goes away: its share of the budget comes back.
  first.reset();
  Answer again;
  const std::string closing = head.substr(0, head.size() - 2) + "Connection: close\r\n\r\n";
  for (int i = 0; i < 50; ++i) {
    Raw c(port_);
    c.Send(closing + std::string(2000000, 'x'));
    again = ParseAnswer(c.Read(3.0));
    if (again.status != 503) break;
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
  }
  EXPECT_EQ(again.status, 415) << again.body;  // read and handed to the intake: not a JPEG
}

// Item 11: a slow upload cut at the read timeout gets 408 (it was closed without an answer); an
// idle keep-alive connection is closed without one.
TEST_F(ServerTransport, SlowRequestsGet408AtTheReadTimeout) {
  ServiceOptions o;
  o.server.read_timeout_s = 1;
  Start(o);
  Raw body(port_);
  body.Send("POST /v1/patients HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer " + admin_ +
            "\r\nContent-Length: 100\r\n\r\n{\"id\":");
  bool closed = false;
  const Answer slow_body = ParseAnswer(body.Read(4.0, &closed));
  EXPECT_EQ(slow_body.status, 408) << slow_body.body;
  EXPECT_EQ(ErrorCode(slow_body), "request_timeout");
  EXPECT_TRUE(closed);

  Raw head(port_);
  head.Send("GET /healthz HTTP/1.1\r\nHost: x\r\n");
  const Answer slow_head = ParseAnswer(head.Read(4.0, &closed));
  EXPECT_EQ(slow_head.status, 408) << slow_head.body;
  EXPECT_TRUE(closed);

  Raw idle(port_);
  const auto t0 = Clock::now();
  EXPECT_EQ(idle.Read(4.0, &closed), "");
  EXPECT_TRUE(closed);
  EXPECT_LT(std::chrono::duration<double>(Clock::now() - t0).count(), 3.0);

  // A keep-alive connection serves several requests, then times out quietly when idle.
  Raw keep(port_);
  keep.Send("GET /healthz HTTP/1.1\r\nHost: x\r\n\r\nGET /healthz HTTP/1.1\r\nHost: x\r\n\r\n");
  const std::string two = keep.Read(3.0, &closed);
  EXPECT_TRUE(closed);
  EXPECT_NE(two.find("HTTP/1.1 200", 10), std::string::npos) << two;
  EXPECT_EQ(two.find("408"), std::string::npos) << two;
}

// Issue 15: an upload's body goes to an unnamed spool file while it arrives, hashed on the way, so
// that a large photo is not held in memory as sent; JSON bodies stay in memory.
class SpooledUploads : public ::testing::Test {
 protected:
  void Start(const std::string& spool_dir) {
    ServerOptions o;
    o.port = 0;
    o.upload_spool_dir = spool_dir;
    o.max_body_bytes = std::size_t{4} * 1024 * 1024;
    o.max_body_memory_bytes = o.max_body_bytes * 2;
    server_ = std::make_unique<HttpServer>(
        o,
        [this](const HttpRequest& req) {
          ++handled_;
          const json seen = {{"spooled", req.spooled != nullptr},
                             {"in_body", req.body.size()},
                             {"size", req.Body().size()},
                             {"sha256", storage::Sha256Hex(req.Body())},
                             {"spool_sha256", req.spooled ? req.spooled->sha256() : ""}};
          HttpResponse r;
          r.body = seen.dump();
          return r;
        },
        AccessLog{},
        [](const HttpRequest& head) {
          Admission a;
          a.body = head.path == "/upload" ? BodyClass::kUpload : BodyClass::kJson;
          return a;
        });
    port_ = server_->Start();
  }
  void TearDown() override {
    if (server_) server_->Stop(1.0);
  }
  Answer Exchange(const std::string& bytes) {
    Raw c(port_);
    EXPECT_TRUE(c.connected());
    c.Send(bytes);
    return ParseAnswer(c.Read(5.0));
  }
  static std::string Post(const std::string& path, const std::string& body) {
    return "POST " + path + " HTTP/1.1\r\nHost: x\r\nConnection: close\r\nContent-Length: " +
           std::to_string(body.size()) + "\r\n\r\n" + body;
  }
  static std::string Bytes(std::size_t n) {
    std::string b(n, '\0');
    std::uint32_t x = 12345;
    for (char& c : b) {
      x = x * 1664525u + 1013904223u;
      c = static_cast<char>(x >> 24);
    }
    return b;
  }

  skintrack::testing::TempDir dir_{"spool"};
  std::unique_ptr<HttpServer> server_;
  std::atomic<int> handled_{0};
  int port_ = 0;
};

TEST_F(SpooledUploads, UploadBodiesReachTheHandlerFromTheSpoolWithTheirHash) {
  Start(dir_.str());
  const std::string photo = Bytes(std::size_t{3} * 1024 * 1024 + 17);
  const Answer up = Exchange(Post("/upload", photo));
  ASSERT_EQ(up.status, 200) << up.body;
  const json seen = json::parse(up.body);
  EXPECT_TRUE(seen["spooled"].get<bool>());
  EXPECT_EQ(seen["in_body"], 0);  // not also in memory
  EXPECT_EQ(seen["size"], photo.size());
  EXPECT_EQ(seen["sha256"], storage::Sha256Hex(photo));
  EXPECT_EQ(seen["spool_sha256"], storage::Sha256Hex(photo));  // hashed while it arrived

  // Chunked: the same path.
  const std::string part1 = photo.substr(0, 70000), part2 = photo.substr(70000, 5);
  char size1[16], size2[16];
  std::snprintf(size1, sizeof size1, "%zx", part1.size());
  std::snprintf(size2, sizeof size2, "%zx", part2.size());
  const Answer chunked = Exchange(
      "POST /upload HTTP/1.1\r\nHost: x\r\nConnection: close\r\nTransfer-Encoding: "
      "chunked\r\n\r\n" +
      std::string(size1) + "\r\n" + part1 + "\r\n" + size2 + "\r\n" + part2 + "\r\n0\r\n\r\n");
  ASSERT_EQ(chunked.status, 200) << chunked.body;
  EXPECT_TRUE(json::parse(chunked.body)["spooled"].get<bool>());
  EXPECT_EQ(json::parse(chunked.body)["sha256"], storage::Sha256Hex(part1 + part2));
  EXPECT_EQ(json::parse(chunked.body)["spool_sha256"], storage::Sha256Hex(part1 + part2));

  // JSON routes keep their body in memory.
  const Answer small = Exchange(Post("/json", "{\"a\":1}"));
  ASSERT_EQ(small.status, 200) << small.body;
  EXPECT_FALSE(json::parse(small.body)["spooled"].get<bool>());
  EXPECT_EQ(json::parse(small.body)["in_body"], 7);
  // The spool files were unnamed: nothing is left in the directory.
  EXPECT_TRUE(std::filesystem::is_empty(dir_.path()));
}

// The disk refusing the upload (here the file size limit, EFBIG, which the blob store also treats
// as no room) is answered 507 before any handler runs; a spool directory that is gone, 500.
TEST_F(SpooledUploads, AnUploadTheDiskCannotTakeIsAnsweredAndNotHandled) {
  Start(dir_.str());
  std::signal(SIGXFSZ, SIG_IGN);
  rlimit old{};
  ASSERT_EQ(::getrlimit(RLIMIT_FSIZE, &old), 0);
  rlimit small = old;
  small.rlim_cur = rlim_t{64} * 1024;
  ASSERT_EQ(::setrlimit(RLIMIT_FSIZE, &small), 0);
  const Answer full = Exchange(Post("/upload", Bytes(std::size_t{1} * 1024 * 1024)));
  ASSERT_EQ(::setrlimit(RLIMIT_FSIZE, &old), 0);
  EXPECT_EQ(full.status, 507) << full.body;
  EXPECT_EQ(ErrorCode(full), "storage_full");
  EXPECT_EQ(handled_.load(), 0);

  std::filesystem::remove_all(dir_.path());
  const Answer gone = Exchange(Post("/upload", Bytes(1000)));
  EXPECT_EQ(gone.status, 500) << gone.body;
  EXPECT_EQ(handled_.load(), 0);
  EXPECT_EQ(Exchange(Post("/json", "{}")).status, 200);  // the server lives
}

}  // namespace
}  // namespace skintrack::service
