// Operations at the HTTP edge (issue 16 item 4), without sockets: /readyz, the version in /healthz
// and the skintrack_build_info metric, ETag / Cache-Control / 304 on the content-addressed photo,
// and X-Request-Id through Service::Handle.
#include <gtest/gtest.h>

#include <filesystem>
#include <nlohmann/json.hpp>
#include <opencv2/imgcodecs.hpp>
#include <string>

#include "skintrack/pipeline/pipeline.h"
#include "skintrack/service/service.h"
#include "skintrack/storage/store.h"

namespace skintrack::service {
namespace {

namespace fs = std::filesystem;
using nlohmann::json;

std::string Header(const HttpResponse& r, const std::string& name) {
  for (const auto& [n, v] : r.headers) {
    if (n == name) return v;
  }
  return "";
}

class OpsTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = fs::temp_directory_path() / ("skintrack-ops-" + std::to_string(::getpid()));
    fs::create_directories(dir_);
    store_ = storage::Store::OpenInMemory();
    context_.reset(new ApiContext{*store_, nullptr, &metrics_, IntakeLimits{}, 1.0,
                                  pipeline::PseudonymKey{}, pipeline::PipelineOptions{}});
    context_->data_dir = dir_.string();
    AddApiRoutes(router_, *context_);
    storage::NewToken t;
    t.role = storage::Role::kClinician;
    clinician_ = store_->repository().CreateToken(t, "test").token;
  }
  void TearDown() override { fs::remove_all(dir_); }

  HttpResponse Get(const std::string& path, const std::string& token = "",
                   const std::string& if_none_match = "") {
    HttpRequest r;
    r.method = "GET";
    r.path = path;
    if (!token.empty()) r.headers["authorization"] = "Bearer " + token;
    if (!if_none_match.empty()) r.headers["if-none-match"] = if_none_match;
    return router_.Dispatch(r);
  }

  // A JPEG capture of patient P1 (id 1); returns its blob hash.
  std::string StoreCapture() {
    storage::PatientInfo p;
    p.id = "P1";
    store_->repository().CreatePatient(p, "test");
    cv::Mat img(64, 64, CV_8UC3, cv::Scalar(120, 140, 200));
    std::vector<unsigned char> b;
    cv::imencode(".jpg", img, b);
    storage::NewCapture c;
    c.patient_id = "P1";
    c.site = "left-forearm";
    c.captured_at = 1764000000000;
    c.media_type = "image/jpeg";
    c.width = c.height = 64;
    return store_->IngestCapture(c, std::string(b.begin(), b.end()), "test").capture.blob.sha256;
  }

  fs::path dir_;
  std::unique_ptr<storage::Store> store_;
  Metrics metrics_;
  std::unique_ptr<ApiContext> context_;
  Router router_;
  std::string clinician_;
};

TEST_F(OpsTest, ReadyWhenTheDatabaseAnswersAndTheDataDirectoryTakesWrites) {
  HttpResponse r = Get("/readyz");
  ASSERT_EQ(r.status, 200) << r.body;
  const json ok = json::parse(r.body);
  EXPECT_EQ(ok["status"], "ready");
  EXPECT_EQ(ok["checks"]["database"], "ok");
  EXPECT_EQ(ok["checks"]["schema"], "ok");
  EXPECT_EQ(ok["checks"]["data_dir_writable"], "ok");
  EXPECT_TRUE(fs::is_empty(dir_));  // the probe leaves nothing behind
  // A data directory that is gone (unmounted, deleted) is not ready, and says which check.
  context_->data_dir = (dir_ / "gone").string();
  r = Get("/readyz");
  EXPECT_EQ(r.status, 503);
  EXPECT_EQ(Header(r, "Retry-After"), "5");
  const json bad = json::parse(r.body);
  EXPECT_EQ(bad["error"]["code"], "not_ready");
  EXPECT_NE(bad["error"]["message"].get<std::string>().find("data_dir_writable"),
            std::string::npos);
  EXPECT_EQ(bad["checks"]["database"], "ok");
}

TEST_F(OpsTest, HealthAndMetricsNameTheBuild) {
  EXPECT_EQ(json::parse(Get("/healthz").body)["version"], SKINTRACK_VERSION);
  const std::string metrics = Get("/metrics").body;
  EXPECT_NE(metrics.find("skintrack_build_info{version=\"" + std::string(SKINTRACK_VERSION) +
                         "\",pipeline=\""),
            std::string::npos)
      << metrics;
}

TEST_F(OpsTest, ThePhotoIsCachedByItsContentHash) {
  const std::string sha = StoreCapture();
  const std::string etag = "\"" + sha + "\"";
  HttpResponse r = Get("/v1/captures/1/image", clinician_);
  ASSERT_EQ(r.status, 200);
  EXPECT_EQ(Header(r, "ETag"), etag);
  EXPECT_EQ(Header(r, "Cache-Control"), "private, max-age=31536000, immutable");
  EXPECT_FALSE(r.body.empty());
  for (const std::string& match : {etag, "W/" + etag, "\"other\", " + etag, std::string("*")}) {
    r = Get("/v1/captures/1/image", clinician_, match);
    EXPECT_EQ(r.status, 304) << match;
    EXPECT_TRUE(r.body.empty());
    EXPECT_EQ(Header(r, "ETag"), etag);
  }
  EXPECT_EQ(Get("/v1/captures/1/image", clinician_, "\"other\"").status, 200);
  // Authorisation still comes first: no token, no 304.
  EXPECT_EQ(Get("/v1/captures/1/image", "", etag).status, 401);
}

TEST(OpsServiceTest, EveryAnswerCarriesARequestId) {
  const fs::path dir =
      fs::temp_directory_path() / ("skintrack-ops-svc-" + std::to_string(::getpid()));
  {
    ServiceOptions o;
    o.data_dir = dir.string();
    o.pipeline.workers = 0;
    Service service(o);
    HttpRequest r;
    r.method = "GET";
    r.path = "/healthz";
    r.headers["x-request-id"] = "device-42.retry:3";
    EXPECT_EQ(Header(service.Handle(r), "X-Request-Id"), "device-42.retry:3");
    r.headers["x-request-id"] = "has spaces; and \"quotes\"";
    const std::string made = Header(service.Handle(r), "X-Request-Id");
    EXPECT_EQ(made.size(), 32U);
    EXPECT_EQ(made.find_first_not_of("0123456789abcdef"), std::string::npos);
    r.headers.erase("x-request-id");
    r.path = "/no/such/route";
    const HttpResponse missing = service.Handle(r);
    EXPECT_EQ(missing.status, 404);
    EXPECT_NE(Header(missing, "X-Request-Id"), made);  // a new one per request
  }
  fs::remove_all(dir);
}

}  // namespace
}  // namespace skintrack::service
