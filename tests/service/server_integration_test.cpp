// The real server on 127.0.0.1 (ephemeral port, temporary data directory) driven by a real HTTP
// client: ingest with ?wait=true, idempotent retry, streamed body limit, restart.
#include <gtest/gtest.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <nlohmann/json.hpp>
#include <opencv2/imgcodecs.hpp>

#include "../support/run_cli.h"
#include "skintrack/phantom/phantom.h"
#include "skintrack/service/http_client.h"
#include "skintrack/service/service.h"
#include "skintrack/storage/store.h"

namespace skintrack::service {
namespace {

using nlohmann::json;

HttpReply Send(int port, const std::string& method, const std::string& target,
               const std::string& token, const std::string& body = "",
               const std::string& type = "") {
  return LoopbackRequest(port, method, target, token, body, type);
}

std::string Jpeg(const cv::Mat& img) {
  std::vector<unsigned char> b;
  cv::imencode(".jpg", img, b, {cv::IMWRITE_JPEG_QUALITY, 92});
  return std::string(b.begin(), b.end());
}

TEST(ServerIntegration, IngestProcessReadAndRestart) {
  skintrack::testing::TempDir dir("service");
  ServiceOptions o;
  o.data_dir = dir.str() + "/data";
  o.server.port = 0;
  o.server.max_body_bytes = 2 * 1024 * 1024;
  o.pipeline.workers = 1;
  o.log_requests = false;
  std::string admin;
  phantom::PhantomOptions po;
  po.size = cv::Size(480, 360);
  po.visits = 3;
  po.seed = 9;
  po.max_rotation_deg = 25;
  po.new_lesions = false;
  const phantom::Series series = phantom::GeneratePhantom(po);
  {
    Service svc(o);
    storage::NewToken t;
    t.role = storage::Role::kAdmin;
    admin = svc.store().repository().CreateToken(t, "test").token;
    const int port = svc.Start();
    EXPECT_EQ(Send(port, "GET", "/healthz", "").status, 200);
    EXPECT_EQ(Send(port, "GET", "/v1/patients", "").status, 401);
    ASSERT_EQ(Send(port, "POST", "/v1/patients", admin, R"({"id":"P9"})").status, 201);
    std::vector<std::int64_t> ids;
    for (int k = 0; k < 3; ++k) {
      const std::string target =
          "/v1/patients/P9/sites/left-forearm/captures?condition=psoriasis"
          "&captured_at=2026-0" +
          std::to_string(k + 1) + "-01T08:00:00Z&visit=V" + std::to_string(k) + "&wait=true";
      const std::string bytes = Jpeg(series.visits[k].image);
      const HttpReply r = Send(port, "POST", target, admin, bytes, "image/jpeg");
      ASSERT_EQ(r.status, 201) << r.body;
      const json j = json::parse(r.body);
      EXPECT_EQ(j["status"], "processed") << r.body;
      ids.push_back(j["id"].get<std::int64_t>());
      const HttpReply retry = Send(port, "POST", target, admin, bytes, "image/jpeg");
      EXPECT_EQ(retry.status, 200);
      EXPECT_EQ(json::parse(retry.body)["id"].get<std::int64_t>(), ids.back());
    }
    // A body over the limit is refused from its Content-Length, before it is read.
    const HttpReply big = Send(port, "POST",
                               "/v1/patients/P9/sites/left-forearm/captures?condition=psoriasis"
                               "&captured_at=2026-05-01T08:00:00Z",
                               admin, std::string(3 * 1024 * 1024, 'x'), "image/jpeg");
    EXPECT_EQ(big.status, 413);
    EXPECT_NE(big.body.find("payload_too_large"), std::string::npos);

    const HttpReply response = Send(port, "GET", "/v1/patients/P9/response", admin);
    ASSERT_EQ(response.status, 200);
    const json visits = json::parse(response.body)["conditions"][0]["visits"];
    ASSERT_EQ(visits.size(), 3u);
    // The phantom is a responder: area and PASI fall; measured area tracks the truth.
    EXPECT_LT(visits[2]["bsa_percent"].get<double>(), visits[0]["bsa_percent"].get<double>());
    const HttpReply metrics = Send(port, "GET", "/metrics", "");
    EXPECT_NE(metrics.body.find("skintrack_captures{status=\"processed\"} 3"), std::string::npos)
        << metrics.body;
    svc.Stop();
  }
  {
    // The data survives a restart of the service on the same directory.
    Service svc(o);
    const int port = svc.Start();
    const HttpReply series_reply = Send(port, "GET", "/v1/patients/P9/timeseries", admin);
    ASSERT_EQ(series_reply.status, 200);
    EXPECT_EQ(json::parse(series_reply.body)["points"].size(), 3u);
    svc.Stop();
  }
}

// `skintrack serve` as a process: SIGTERM stops it gracefully with exit code 0.
TEST(ServerIntegration, ServeStopsGracefullyOnSigterm) {
  skintrack::testing::TempDir dir("serve");
  const int port = 20000 + static_cast<int>(::getpid() % 20000);
  int out[2];
  ASSERT_EQ(::pipe(out), 0);
  const pid_t pid = ::fork();
  ASSERT_GE(pid, 0);
  if (pid == 0) {
    ::dup2(out[1], 1);
    ::close(out[0]);
    const std::string data = dir.str() + "/data", p = std::to_string(port);
    ::execl(SKINTRACK_BINARY, SKINTRACK_BINARY, "serve", "--data-dir", data.c_str(), "--port",
            p.c_str(), "--quiet", static_cast<char*>(nullptr));
    ::_exit(127);
  }
  ::close(out[1]);
  FILE* child_out = ::fdopen(out[0], "r");
  char line[512] = {0};
  ASSERT_NE(std::fgets(line, sizeof line, child_out), nullptr);
  EXPECT_NE(std::string(line).find("skintrack serving"), std::string::npos) << line;
  EXPECT_EQ(Send(port, "GET", "/healthz", "").status, 200);
  ::kill(pid, SIGTERM);
  std::string rest;
  while (std::fgets(line, sizeof line, child_out) != nullptr) rest += line;
  std::fclose(child_out);
  int status = 0;
  ::waitpid(pid, &status, 0);
  ASSERT_TRUE(WIFEXITED(status));
  EXPECT_EQ(WEXITSTATUS(status), 0);
  EXPECT_NE(rest.find("stopped"), std::string::npos) << rest;
}

TEST(ServerIntegration, TokenCommandPrintsTokenOnLastLine) {
  skintrack::testing::TempDir dir("token");
  const auto r = skintrack::testing::RunCli("token create --data-dir " + dir.str() +
                                            " --role clinician --label dr-who");
  ASSERT_EQ(r.exit_code, 0) << r.err;
  const std::string last = r.out.substr(r.out.rfind('\n', r.out.size() - 2) + 1);
  EXPECT_EQ(last.rfind("stk_", 0), 0u) << r.out;
  const auto bad =
      skintrack::testing::RunCli("token create --data-dir " + dir.str() + " --role emperor");
  EXPECT_NE(bad.exit_code, 0);
  const auto unknown = skintrack::testing::RunCli("token create --data-dir " + dir.str() +
                                                  " --role device --patient P1");
  EXPECT_NE(unknown.exit_code, 0);
  EXPECT_NE(unknown.err.find("unknown patient"), std::string::npos) << unknown.err;
}

}  // namespace
}  // namespace skintrack::service
