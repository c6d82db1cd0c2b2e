// Issue 16 item 4, without sockets: HEAD wherever GET works, OPTIONS (no CORS), and cursor
// pagination of GET /v1/patients, /v1/tokens and /v1/patients/{p}/timeseries.
#include <gtest/gtest.h>

#include <nlohmann/json.hpp>
#include <opencv2/imgcodecs.hpp>
#include <set>
#include <string>
#include <vector>

#include "../../src/service/src/pagination.h"
#include "skintrack/pipeline/pipeline.h"
#include "skintrack/pipeline/pseudonym.h"
#include "skintrack/service/service.h"
#include "skintrack/storage/store.h"

namespace skintrack::service {
namespace {

using nlohmann::json;

std::string Header(const HttpResponse& r, const std::string& name) {
  for (const auto& [n, v] : r.headers) {
    if (n == name) return v;
  }
  return "";
}

class ApiFixture : public ::testing::Test {
 protected:
  void SetUp() override {
    store_ = storage::Store::OpenInMemory();
    key_.secret = "00112233445566778899aabbccddeeff";
    context_.reset(new ApiContext{*store_, nullptr, &metrics_, IntakeLimits{}, 1.0, key_,
                                  pipeline::PipelineOptions{}});
    AddApiRoutes(router_, *context_);
    admin_ = Token(storage::Role::kAdmin);
    coordinator_ = Token(storage::Role::kCoordinator);
  }
  std::string Token(storage::Role role) {
    storage::NewToken t;
    t.role = role;
    return store_->repository().CreateToken(t, "test").token;
  }
  HttpRequest Request(const std::string& method, const std::string& target,
                      const std::string& token) const {
    HttpRequest r;
    r.method = method;
    const size_t q = target.find('?');
    r.path = target.substr(0, q);
    if (q != std::string::npos) r.query = ParseQuery(target.substr(q + 1));
    if (!token.empty()) r.headers["authorization"] = "Bearer " + token;
    return r;
  }
  HttpResponse Call(const std::string& method, const std::string& target,
                    const std::string& token = "") const {
    return router_.Dispatch(Request(method, target, token));
  }
  json GetJson(const std::string& target, const std::string& token) const {
    const HttpResponse r = Call("GET", target, token);
    EXPECT_EQ(r.status, 200) << target << ": " << r.body;
    return json::parse(r.body);
  }
  void AddPatient(const std::string& id) {
    storage::PatientInfo p;
    p.id = id;
    store_->repository().CreatePatient(p, "test");
  }
  void AddCapture(const std::string& patient, std::int64_t captured_at, int shade) {
    cv::Mat img(32, 32, CV_8UC3, cv::Scalar(shade, 140, 200));
    std::vector<unsigned char> b;
    cv::imencode(".png", img, b);
    storage::NewCapture c;
    c.patient_id = patient;
    c.site = "left-forearm";
    c.captured_at = captured_at;
    c.width = c.height = 32;
    store_->IngestCapture(c, std::string(b.begin(), b.end()), "test");
  }
  // Every item of `list` over all pages of `target` with ?limit=`limit`, following `next`.
  std::vector<json> Walk(const std::string& target, const std::string& list, int limit,
                         const std::string& token, int* pages) {
    std::vector<json> out;
    std::string after;
    *pages = 0;
    for (int guard = 0; guard < 100; ++guard) {
      const char sep = target.find('?') == std::string::npos ? '?' : '&';
      const json page = GetJson(target + sep + "limit=" + std::to_string(limit) +
                                    (after.empty() ? "" : "&after=" + after),
                                token);
      ++*pages;
      EXPECT_LE(page[list].size(), static_cast<size_t>(limit));
      for (const json& item : page[list]) out.push_back(item);
      if (page["next"].is_null()) return out;
      after = page["next"].get<std::string>();
    }
    ADD_FAILURE() << "pagination did not end";
    return out;
  }

  std::unique_ptr<storage::Store> store_;
  pipeline::PseudonymKey key_;
  Metrics metrics_;
  std::unique_ptr<ApiContext> context_;
  Router router_;
  std::string admin_, coordinator_;
};

// --- HEAD and OPTIONS -----------------------------------------------------------------------

TEST_F(ApiFixture, HeadRunsTheGetRouteWithItsGateAndStatus) {
  const HttpResponse get = Call("GET", "/v1/tokens", admin_);
  const HttpResponse head = Call("HEAD", "/v1/tokens", admin_);
  EXPECT_EQ(head.status, 200);
  EXPECT_EQ(head.content_type, get.content_type);
  EXPECT_EQ(head.body, get.body);  // the transport drops it and keeps its Content-Length
  EXPECT_EQ(Call("HEAD", "/v1/tokens").status, 401);
  EXPECT_EQ(Call("HEAD", "/v1/tokens", coordinator_).status, 403);
  const Admission refused = router_.Admit(Request("HEAD", "/v1/tokens", ""));
  ASSERT_TRUE(refused.refusal.has_value());
  EXPECT_EQ(refused.refusal->status, 401);
  EXPECT_FALSE(router_.Admit(Request("HEAD", "/healthz", "")).refusal.has_value());
}

TEST_F(ApiFixture, EveryGetRouteAnswersHead) {
  for (const auto& [method, pattern] : router_.Routes()) {
    if (method != "GET") continue;
    HttpRequest r = Request("HEAD", pattern, "");
    EXPECT_NE(router_.Dispatch(r).status, 405) << pattern;
  }
}

TEST_F(ApiFixture, HeadOnAPathWithoutGetIs405WithAllow) {
  const HttpResponse r = Call("HEAD", "/v1/captures/1/baseline", admin_);
  EXPECT_EQ(r.status, 405);
  EXPECT_EQ(Header(r, "Allow"), "PUT, OPTIONS");
}

TEST_F(ApiFixture, OptionsAnswers204WithAllowAndNoCorsHeaders) {
  HttpRequest preflight = Request("OPTIONS", "/v1/tokens", "");
  preflight.headers["origin"] = "https://elsewhere.example";
  preflight.headers["access-control-request-method"] = "POST";
  const Admission admitted = router_.Admit(preflight);
  ASSERT_TRUE(admitted.refusal.has_value());  // answered on the head, no token needed
  for (const HttpResponse& r : {*admitted.refusal, router_.Dispatch(preflight)}) {
    EXPECT_EQ(r.status, 204);
    EXPECT_EQ(r.body, "");
    EXPECT_EQ(Header(r, "Allow"), "POST, GET, HEAD, OPTIONS");
    for (const auto& [name, value] : r.headers) {
      EXPECT_NE(name.rfind("Access-Control-", 0), 0u) << name;
    }
  }
  EXPECT_EQ(Call("OPTIONS", "/v1/nothing").status, 404);
}

// --- pagination ---------------------------------------------------------------------------

TEST(Cursor, RoundTripsAndRefusesWhatItDidNotMake) {
  for (const std::string& key :
       std::vector<std::string>{"a", "ab", "abc", "P-001", std::string("\0\xff", 2)}) {
    EXPECT_EQ(DecodeCursor(EncodeCursor(key)), key);
  }
  for (const std::string& bad :
       std::vector<std::string>{"", "!", "a", "a b", "YR", std::string(2000, 'A')}) {
    EXPECT_THROW(DecodeCursor(bad), Error) << bad;
  }
  EXPECT_LT(SortableInt(-5), SortableInt(3));
  EXPECT_LT(SortableInt(3), SortableInt(40));
}

TEST_F(ApiFixture, WithoutLimitListsComeWholeWithNextNull) {
  for (const char* id : {"P3", "P1", "P2"}) AddPatient(id);
  const json all = GetJson("/v1/patients", admin_);
  ASSERT_EQ(all["patients"].size(), 3u);
  EXPECT_EQ(all["patients"][0]["id"], "P1");
  EXPECT_TRUE(all.contains("next"));
  EXPECT_TRUE(all["next"].is_null());
  EXPECT_TRUE(GetJson("/v1/tokens", admin_)["next"].is_null());
}

TEST_F(ApiFixture, PatientPagesCoverTheListOnceInOrder) {
  for (int i = 1; i <= 7; ++i) AddPatient("P" + std::to_string(i));
  int pages = 0;
  const std::vector<json> items = Walk("/v1/patients", "patients", 3, admin_, &pages);
  EXPECT_EQ(pages, 3);
  ASSERT_EQ(items.size(), 7u);
  for (int i = 0; i < 7; ++i) EXPECT_EQ(items[i]["id"], "P" + std::to_string(i + 1));
  // An exact fit ends with next = null on the last full page, not on an empty extra one.
  Walk("/v1/patients", "patients", 7, admin_, &pages);
  EXPECT_EQ(pages, 1);
}

TEST_F(ApiFixture, ACursorSurvivesInsertsAndDeletesAroundIt) {
  for (const char* id : {"A", "C", "E"}) AddPatient(id);
  const json first = GetJson("/v1/patients?limit=2", admin_);
  ASSERT_EQ(first["patients"].size(), 2u);  // A, C
  AddPatient("D");                          // after the cursor: on the next page
  AddPatient("B");                          // before it: not repeated
  const json second =
      GetJson("/v1/patients?limit=2&after=" + first["next"].get<std::string>(), admin_);
  ASSERT_EQ(second["patients"].size(), 2u);
  EXPECT_EQ(second["patients"][0]["id"], "D");
  EXPECT_EQ(second["patients"][1]["id"], "E");
  EXPECT_TRUE(second["next"].is_null());
}

TEST_F(ApiFixture, CoordinatorPagesAreInSubjectIdOrderAndCursorsHoldNoPatientId) {
  std::set<std::string> patient_ids;
  for (int i = 1; i <= 5; ++i) {
    AddPatient("P" + std::to_string(i));
    patient_ids.insert("P" + std::to_string(i));
  }
  const json page = GetJson("/v1/patients?limit=2", coordinator_);
  const std::string next = page["next"].get<std::string>();
  EXPECT_EQ(DecodeCursor(next), page["patients"][1]["id"].get<std::string>());
  EXPECT_EQ(patient_ids.count(DecodeCursor(next)), 0u);
  int pages = 0;
  const std::vector<json> items = Walk("/v1/patients", "patients", 2, coordinator_, &pages);
  ASSERT_EQ(items.size(), 5u);
  for (size_t i = 1; i < items.size(); ++i) {
    EXPECT_LT(items[i - 1]["id"].get<std::string>(), items[i]["id"].get<std::string>());
  }
  for (const json& item : items) {
    EXPECT_EQ(patient_ids.count(item["id"].get<std::string>()), 0u);
  }
}

TEST_F(ApiFixture, TokenPagesAreOldestFirst) {
  for (int i = 0; i < 4; ++i) Token(storage::Role::kClinician);
  const json whole = GetJson("/v1/tokens", admin_);
  int pages = 0;
  const std::vector<json> items = Walk("/v1/tokens", "tokens", 2, admin_, &pages);
  EXPECT_EQ(pages, 3);  // 6 tokens: admin, coordinator and 4 clinicians
  ASSERT_EQ(items.size(), whole["tokens"].size());
  for (size_t i = 0; i < items.size(); ++i) EXPECT_EQ(items[i]["id"], whole["tokens"][i]["id"]);
}

TEST_F(ApiFixture, TimeSeriesPagesFollowCaptureTime) {
  AddPatient("P1");
  AddCapture("P1", 1764000300000, 10);
  AddCapture("P1", 1764000100000, 20);
  AddCapture("P1", 1764000200000, 30);
  int pages = 0;
  const std::vector<json> points =
      Walk("/v1/patients/P1/timeseries?site=left-forearm", "points", 2, admin_, &pages);
  EXPECT_EQ(pages, 2);
  ASSERT_EQ(points.size(), 3u);
  EXPECT_LT(points[0]["captured_at"].get<std::string>(),
            points[1]["captured_at"].get<std::string>());
  EXPECT_LT(points[1]["captured_at"].get<std::string>(),
            points[2]["captured_at"].get<std::string>());
  const json whole = GetJson("/v1/patients/P1/timeseries", admin_);
  EXPECT_EQ(whole["points"].size(), 3u);
  EXPECT_TRUE(whole["next"].is_null());
}

TEST_F(ApiFixture, BadLimitOrCursorIs400NamingTheParameter) {
  AddPatient("P1");
  for (const std::string& target : std::vector<std::string>{
           "/v1/patients?limit=0", "/v1/patients?limit=1001", "/v1/patients?limit=abc",
           "/v1/patients?limit=-1", "/v1/tokens?limit=2.5", "/v1/patients?after=%21%21",
           "/v1/tokens?after=", "/v1/patients/P1/timeseries?after=*"}) {
    const HttpResponse r = Call("GET", target, admin_);
    EXPECT_EQ(r.status, 400) << target << ": " << r.body;
    const std::string message = json::parse(r.body)["error"]["message"];
    const bool names =
        message.find("limit") != std::string::npos || message.find("after") != std::string::npos;
    EXPECT_TRUE(names) << target << ": " << message;
  }
}

}  // namespace
}  // namespace skintrack::service
