// The waiter limit on the real server: ?wait=true pushes must not take every handler thread.
#include <gtest/gtest.h>

#include <chrono>
#include <future>
#include <opencv2/imgcodecs.hpp>
#include <opencv2/imgproc.hpp>
#include <thread>

#include "../support/run_cli.h"
#include "skintrack/service/http_client.h"
#include "skintrack/service/service.h"
#include "skintrack/storage/store.h"

namespace skintrack::service {
namespace {

using Clock = std::chrono::steady_clock;

std::string Jpeg(int seed) {
  cv::Mat img(96, 128, CV_8UC3, cv::Scalar(90, 140, 200));
  cv::circle(img, {20 + seed * 9, 48}, 14, cv::Scalar(60, 60, 220), cv::FILLED);
  std::vector<unsigned char> b;
  cv::imencode(".jpg", img, b, {cv::IMWRITE_JPEG_QUALITY, 90});
  return std::string(b.begin(), b.end());
}

// With 4 handler threads, 4 concurrent ?wait=true pushes (no worker processes them) made
// /healthz wait until their max_wait_s ran out.
TEST(IntakeIntegration, WaitingPushesLeaveHandlerThreadsForHealthz) {
  skintrack::testing::TempDir dir("intake");
  ServiceOptions o;
  o.data_dir = dir.str() + "/data";
  o.server.port = 0;
  o.server.handler_threads = 4;
  o.pipeline.workers = 0;  // captures stay queued: every waiter waits its full max_wait_s
  o.max_wait_s = 6;
  o.log_requests = false;
  Service svc(o);
  storage::PatientInfo p;
  p.id = "P1";
  svc.store().repository().CreatePatient(p, "test");
  storage::NewToken t;
  t.role = storage::Role::kAdmin;
  const std::string admin = svc.store().repository().CreateToken(t, "test").token;
  const int port = svc.Start();

  std::vector<std::future<HttpReply>> pushes(4);
  for (int i = 0; i < 4; ++i) {
    pushes[i] = std::async(std::launch::async, [&, i] {
      return LoopbackRequest(port, "POST",
                             "/v1/patients/P1/sites/left-forearm/captures?condition=psoriasis"
                             "&captured_at=2026-01-0" +
                                 std::to_string(i + 1) + "T09:00:00Z&wait=true",
                             admin, Jpeg(i), "image/jpeg", 30);
    });
  }
  std::this_thread::sleep_for(std::chrono::milliseconds(500));  // all four are in their handlers
  const auto t0 = Clock::now();
  const HttpReply health = LoopbackRequest(port, "GET", "/healthz", "", "", "", 5);
  const double seconds = std::chrono::duration<double>(Clock::now() - t0).count();
  EXPECT_EQ(health.status, 200);
  EXPECT_LT(seconds, 2.0);
  for (auto& push : pushes) EXPECT_EQ(push.get().status, 201);  // every capture stored
  EXPECT_EQ(svc.store().repository().CountQueue().queued, 4);
  svc.Stop();
}

}  // namespace
}  // namespace skintrack::service
