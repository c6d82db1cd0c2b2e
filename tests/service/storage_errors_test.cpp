// Storage failures at the HTTP edge (issue 13, item 9): no room answers 507 `storage_full`, a busy
// or unavailable database 503 with Retry-After, and no 5xx body carries the server's internals
// (paths, SQLite text); the detail goes to standard error for the operator. Through the router,
// without sockets, and through the real routes on a store whose disk is full.
#include <gtest/gtest.h>

#include <nlohmann/json.hpp>
#include <opencv2/imgcodecs.hpp>

#include "../support/full_disk.h"
#include "skintrack/service/api.h"
#include "skintrack/service/error_response.h"
#include "skintrack/service/http.h"

namespace skintrack::service {
namespace {

using nlohmann::json;

HttpRequest Request(const std::string& method, const std::string& path) {
  HttpRequest r;
  r.method = method;
  r.path = path;
  return r;
}

// Dispatches a request to a route that throws `error`; returns the response and what was logged.
std::pair<HttpResponse, std::string> Throwing(const Error& error,
                                              const std::string& path = "/v1/thing") {
  Router router;
  router.Add("POST", "/v1/{x}",
             [&](const HttpRequest&, const PathParams&) -> HttpResponse { throw error; });
  ::testing::internal::CaptureStderr();
  HttpResponse r = router.Dispatch(Request("POST", path));
  return {r, ::testing::internal::GetCapturedStderr()};
}

std::string Header(const HttpResponse& r, const std::string& name) {
  for (const auto& [k, v] : r.headers) {
    if (k == name) return v;
  }
  return "";
}

constexpr char kPathMessage[] =
    "cannot write /srv/skintrack-internal/data/blobs/tmp/ab.put: No space left on device";

TEST(StorageErrors, StatusesOfTheStorageCodes) {
  EXPECT_EQ(HttpStatusFor(ErrorCode::kStorageFull), 507);
  EXPECT_EQ(HttpStatusFor(ErrorCode::kStorage), 503);
  EXPECT_EQ(HttpStatusFor(ErrorCode::kIo), 500);
  EXPECT_STREQ(ErrorCodeName(ErrorCode::kStorageFull), "storage_full");
}

TEST(StorageErrors, NoRoomIs507WithoutThePathWhichGoesToTheLog) {
  const auto [r, log] = Throwing(Error(ErrorCode::kStorageFull, kPathMessage));
  EXPECT_EQ(r.status, 507);
  const json body = json::parse(r.body);
  EXPECT_EQ(body["error"]["code"], "storage_full");
  const std::string message = body["error"]["message"];
  EXPECT_EQ(message.find('/'), std::string::npos) << message;
  EXPECT_NE(message.find("storage space"), std::string::npos) << message;
  EXPECT_EQ(Header(r, "Retry-After"), "");
  // The operator's log line: one JSON object with the request and the full detail.
  const json line = json::parse(log);
  EXPECT_EQ(line["event"], "server_error");
  EXPECT_EQ(line["method"], "POST");
  EXPECT_EQ(line["path"], "/v1/thing");
  EXPECT_EQ(line["status"], 507);
  EXPECT_EQ(line["detail"], kPathMessage);
}

TEST(StorageErrors, BusyDatabaseIs503WithRetryAfter) {
  const auto [r, log] =
      Throwing(Error(ErrorCode::kStorage, "database error: disk I/O error (/srv/x/skintrack.db)"));
  EXPECT_EQ(r.status, 503);
  EXPECT_EQ(json::parse(r.body)["error"]["code"], "storage_error");
  EXPECT_EQ(r.body.find("/srv"), std::string::npos) << r.body;
  EXPECT_EQ(Header(r, "Retry-After"), std::to_string(kRetryAfterSeconds));
  EXPECT_NE(log.find("/srv/x/skintrack.db"), std::string::npos) << log;
}

TEST(StorageErrors, IoAndInternalErrorsShowNoInternals) {
  for (const ErrorCode code : {ErrorCode::kIo, ErrorCode::kInternal}) {
    const auto [r, log] = Throwing(Error(code, kPathMessage));
    EXPECT_EQ(r.status, 500);
    EXPECT_EQ(json::parse(r.body)["error"]["code"], ErrorCodeName(code));
    EXPECT_EQ(r.body.find("/srv"), std::string::npos) << r.body;
    EXPECT_NE(log.find(kPathMessage), std::string::npos) << log;
  }
}

TEST(StorageErrors, ClientErrorsKeepTheirMessageAndAreNotLogged) {
  const auto [r, log] = Throwing(Error(ErrorCode::kInvalidArgument, "fitzpatrick must be 1..6"));
  EXPECT_EQ(r.status, 400);
  EXPECT_EQ(json::parse(r.body)["error"]["message"], "fitzpatrick must be 1..6");
  EXPECT_EQ(log, "");
}

// (A path that is not UTF-8 never reaches a handler: the router answers 400 first.)
TEST(StorageErrors, TheLogLineSurvivesBytesThatAreNotUtf8) {
  const auto [r, log] =
      Throwing(Error(ErrorCode::kStorageFull, "cannot write /d/\xff\xfe"), "/v1/fails");
  EXPECT_EQ(r.status, 507);  // not the 500 of a throwing log line
  const json line = json::parse(log);
  EXPECT_EQ(line["status"], 507);
  EXPECT_EQ(line["detail"], "cannot write /d/\xEF\xBF\xBD\xEF\xBF\xBD");
}

// The real routes on a store whose disk fills up.
class FullDiskApiTest : public ::testing::Test {
 protected:
  void SetUp() override {
    store_ = testing::OpenFullableStore(disk_);
    context_.reset(new ApiContext{*store_, nullptr, nullptr, IntakeLimits{}, 1.0,
                                  pipeline::PseudonymKey{}, pipeline::PipelineOptions{}});
    AddApiRoutes(router_, *context_);
    storage::NewToken t;
    t.role = storage::Role::kAdmin;
    admin_ = store_->repository().CreateToken(t, "test").token;
    storage::PatientInfo p;
    p.id = "P1";
    store_->repository().CreatePatient(p, "test");
  }

  HttpResponse Call(const std::string& method, const std::string& path, const std::string& body,
                    const std::string& type, std::map<std::string, std::string> query = {}) {
    HttpRequest r = Request(method, path);
    r.query = std::move(query);
    r.headers["authorization"] = "Bearer " + admin_;
    r.headers["content-type"] = type;
    r.body = body;
    ::testing::internal::CaptureStderr();
    HttpResponse out = router_.Dispatch(r);
    log_ = ::testing::internal::GetCapturedStderr();
    return out;
  }

  static void ExpectStorageFull(const HttpResponse& r) {
    EXPECT_EQ(r.status, 507) << r.body;
    const json body = json::parse(r.body);
    EXPECT_EQ(body["error"]["code"], "storage_full");
    EXPECT_EQ(r.body.find(testing::kFullDiskPath), std::string::npos) << r.body;
    EXPECT_EQ(r.body.find('/'), std::string::npos) << r.body;
  }

  std::string Png() const {
    std::vector<unsigned char> b;
    cv::imencode(".png", cv::Mat(48, 64, CV_8UC3, cv::Scalar(90, 120, 200)), b);
    return std::string(b.begin(), b.end());
  }

  std::shared_ptr<testing::Disk> disk_ = std::make_shared<testing::Disk>();
  std::unique_ptr<storage::Store> store_;
  std::unique_ptr<ApiContext> context_;
  Router router_;
  std::string admin_;
  std::string log_;
};

TEST_F(FullDiskApiTest, CreatingAPatientOnAFullDatabaseIs507) {
  disk_->database_full = true;
  ExpectStorageFull(Call("POST", "/v1/patients", json{{"id", "P2"}, {"fitzpatrick", 3}}.dump(),
                         "application/json"));
  EXPECT_NE(log_.find(testing::kFullDiskPath), std::string::npos) << log_;
  disk_->database_full = false;
  EXPECT_EQ(Call("POST", "/v1/patients", json{{"id", "P2"}}.dump(), "application/json").status,
            201);
}

TEST_F(FullDiskApiTest, ACaptureWithoutRoomIs507AndNothingIsStored) {
  const std::map<std::string, std::string> q = {{"condition", "psoriasis"},
                                                {"captured_at", "2026-01-05T09:00:00Z"}};
  for (const bool blobs : {true, false}) {
    disk_->blobs_full = blobs;
    disk_->database_full = !blobs;
    ExpectStorageFull(
        Call("POST", "/v1/patients/P1/sites/left-forearm/captures", Png(), "image/png", q));
  }
  EXPECT_EQ(store_->repository().CountQueue().queued, 0);
  disk_->database_full = false;
  EXPECT_EQ(store_->Check(true).stored_blobs, 0) << "a blob without its row was left behind";
  EXPECT_EQ(
      Call("POST", "/v1/patients/P1/sites/left-forearm/captures", Png(), "image/png", q).status,
      201);
}

}  // namespace
}  // namespace skintrack::service
