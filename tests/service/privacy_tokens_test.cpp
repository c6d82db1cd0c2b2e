// Issue 13, through the router without sockets: what coordinators may see (no free text, visit
// labels and age bands only in a safe form), token listing and revocation, JSON integers range-
// checked before any conversion, and a device token that cannot tell which patients exist.
#include <gtest/gtest.h>

#include <nlohmann/json.hpp>
#include <opencv2/imgcodecs.hpp>
#include <string>
#include <vector>

#include "skintrack/phantom/phantom.h"
#include "skintrack/pipeline/pipeline.h"
#include "skintrack/pipeline/pseudonym.h"
#include "skintrack/report/report.h"
#include "skintrack/service/service.h"
#include "skintrack/storage/sha256.h"
#include "skintrack/storage/store.h"

namespace skintrack::service {
namespace {

using nlohmann::json;
using storage::Role;

const pipeline::PseudonymKey kKey{pipeline::PseudonymKey::Scheme::kHmacSha256, "test-key"};

std::string PhantomJpeg(std::uint64_t seed) {
  phantom::PhantomOptions o;
  o.size = cv::Size(240, 180);
  o.visits = 1;
  o.seed = seed;
  o.new_lesions = false;
  std::vector<unsigned char> b;
  cv::imencode(".jpg", phantom::GeneratePhantom(o).visits[0].image, b);
  return std::string(b.begin(), b.end());
}

class PrivacyTokensTest : public ::testing::Test {
 protected:
  void SetUp() override {
    store_ = storage::Store::OpenInMemory();
    context_.reset(new ApiContext{*store_, nullptr, &metrics_, IntakeLimits{}, 1.0, kKey,
                                  pipeline::PipelineOptions{}});
    AddApiRoutes(router_, *context_);
    admin_ = Token(Role::kAdmin);
    clinician_ = Token(Role::kClinician);
    coordinator_ = Token(Role::kCoordinator);
  }

  std::string Token(Role role, std::vector<std::string> scope = {}) {
    storage::NewToken t;
    t.role = role;
    t.patient_scope = std::move(scope);
    t.label = std::string("test ") + storage::RoleName(role);
    return store_->repository().CreateToken(t, "test").token;
  }

  HttpResponse Call(const std::string& method, const std::string& target, const std::string& token,
                    const std::string& body = "", const std::string& type = "") {
    HttpRequest r;
    r.method = method;
    const size_t q = target.find('?');
    r.path = target.substr(0, q);
    if (q != std::string::npos) r.query = ParseQuery(target.substr(q + 1));
    if (!token.empty()) r.headers["authorization"] = "Bearer " + token;
    if (!type.empty()) r.headers["content-type"] = type;
    r.body = body;
    return router_.Dispatch(r);
  }

  static json Body(const HttpResponse& r) { return json::parse(r.body); }

  // Pushes one capture as the clinician and processes it as a worker would; returns its id.
  std::int64_t PushProcessed(const std::string& patient, const std::string& when,
                             const std::string& visit, std::uint64_t seed) {
    const HttpResponse r =
        Call("POST",
             "/v1/patients/" + patient +
                 "/sites/left-forearm/captures?condition=psoriasis&captured_at=" + when +
                 "&visit=" + visit,
             clinician_, PhantomJpeg(seed), "image/jpeg");
    EXPECT_EQ(r.status, 201) << r.body;
    const auto item = store_->repository().ClaimWork("worker:test", 60000);
    EXPECT_TRUE(item.has_value());
    if (!item) return 0;
    pipeline::ProcessCapture(*store_, item->capture, pipeline::PipelineOptions{}, "worker:test");
    store_->repository().CompleteWork(item->capture.id, "worker:test");
    return item->capture.id;
  }

  std::unique_ptr<storage::Store> store_;
  Metrics metrics_;
  std::unique_ptr<ApiContext> context_;
  Router router_;
  std::string admin_, clinician_, coordinator_;
};

// Item 6: the free text of the issue reached the coordinator's responses verbatim.
TEST_F(PrivacyTokensTest, CoordinatorsSeeNoFreeTextOnAnySurface) {
  ASSERT_EQ(
      Call("POST", "/v1/patients", clinician_, R"({"id":"P002","age_band":"JaneDoe"})").status,
      201);
  ASSERT_EQ(Call("POST", "/v1/patients", clinician_, R"({"id":"P003","age_band":"40-49"})").status,
            201);
  const std::int64_t leaky =
      PushProcessed("P002", "2026-01-10T09:00:00Z", "P002-JaneDoe-week12", 3);
  const std::int64_t plain = PushProcessed("P003", "2026-01-10T09:00:00Z", "Week-12", 4);
  const std::string leaky_path = "/v1/captures/" + std::to_string(leaky);
  ASSERT_EQ(Call("PUT", leaky_path + "/assessment", clinician_,
                 R"({"erythema":2,"note":"P002 = Jane Doe, MRN 4711"})")
                .status,
            201);
  // A processing error is an exception's text; it can quote anything.
  std::string failed_path;
  {
    const HttpResponse r = Call("POST",
                                "/v1/patients/P002/sites/scalp/captures?condition=psoriasis&"
                                "captured_at=2026-02-10T09:00:00Z",
                                clinician_, PhantomJpeg(5), "image/jpeg");
    ASSERT_EQ(r.status, 201) << r.body;
    const auto item = store_->repository().ClaimWork("worker:test", 60000);
    ASSERT_TRUE(item.has_value());
    failed_path = "/v1/captures/" + std::to_string(item->capture.id);
    store_->repository().FailWork(item->capture.id, "worker:test",
                                  "cannot read /data/Jane Doe 4711.jpg", false);
  }
  const std::string subject = pipeline::SubjectId(kKey, "P002");

  // The clinician still sees everything as entered.
  const json clinical = Body(Call("GET", leaky_path, clinician_));
  EXPECT_EQ(clinical["visit"], "P002-JaneDoe-week12");
  EXPECT_EQ(clinical["assessments"][0]["note"], "P002 = Jane Doe, MRN 4711");

  std::vector<std::pair<std::string, std::string>> seen;  // surface, body
  for (const std::string& target :
       {std::string("/v1/patients"), leaky_path, failed_path,
        "/v1/patients/" + subject + "/timeseries", "/v1/patients/" + subject + "/response"}) {
    const HttpResponse r = Call("GET", target, coordinator_);
    ASSERT_EQ(r.status, 200) << target << " " << r.body;
    seen.emplace_back(target, r.body);
  }
  seen.emplace_back("cohort csv", report::ExportCohortCsv(*store_, kKey));
  seen.emplace_back("cohort fhir", report::ExportCohortFhir(*store_, kKey));
  for (const auto& [surface, body] : seen) {
    for (const char* secret : {"Jane", "4711", "P002", "MRN", "/data"}) {
      EXPECT_EQ(body.find(secret), std::string::npos)
          << secret << " in " << surface << ": " << body;
    }
  }

  // What they get instead: the safe label as it is, the unsafe one as a stable keyed token, the
  // grades without the note, the safe age band, and the status without the error text.
  const std::string redacted = pipeline::PseudonymisedVisitLabel(kKey, "P002-JaneDoe-week12");
  EXPECT_EQ(redacted.rfind("redacted-", 0), 0u) << redacted;
  const json capture = Body(Call("GET", leaky_path, coordinator_));
  EXPECT_EQ(capture["visit"], redacted);
  EXPECT_EQ(capture["assessments"][0]["grades"]["erythema"], 2);
  EXPECT_FALSE(capture["assessments"][0].contains("note"));
  EXPECT_EQ(Body(Call("GET", "/v1/captures/" + std::to_string(plain), coordinator_))["visit"],
            "Week-12");
  const json failed = Body(Call("GET", failed_path, coordinator_));
  EXPECT_EQ(failed["status"], "failed");
  EXPECT_FALSE(failed.contains("last_error"));
  EXPECT_TRUE(Body(Call("GET", failed_path, clinician_)).contains("last_error"));
  const json patients = Body(Call("GET", "/v1/patients", coordinator_))["patients"];
  ASSERT_EQ(patients.size(), 2u);
  for (const json& p : patients) {
    EXPECT_EQ(p["age_band"], p["id"] == subject ? "redacted" : "40-49") << p.dump();
  }
  const json response = Body(Call("GET", "/v1/patients/" + subject + "/response", coordinator_));
  EXPECT_EQ(response["conditions"][0]["visits"][0]["visit"], redacted);
}

// Item 7: GET /v1/tokens and DELETE /v1/tokens/{id}, admin only, effective at once, audited.
TEST_F(PrivacyTokensTest, AdminsListAndRevokeTokensEffectiveAtOnce) {
  const std::string id = coordinator_.substr(4, 16);  // "stk_" + id + "_" + secret
  auto find = [&](const json& list) {
    for (const json& t : list["tokens"]) {
      if (t["id"] == id) return t;
    }
    return json();
  };
  const json list = Body(Call("GET", "/v1/tokens", admin_));
  ASSERT_EQ(list["tokens"].size(), 3u);
  const json coordinator = find(list);
  ASSERT_TRUE(coordinator.is_object()) << list.dump();
  EXPECT_EQ(coordinator["role"], "coordinator");
  EXPECT_EQ(coordinator["status"], "active");
  EXPECT_EQ(coordinator["label"], "test coordinator");
  EXPECT_TRUE(coordinator["revoked_at"].is_null());
  // Never a secret or its hash.
  const std::string listing = Call("GET", "/v1/tokens", admin_).body;
  for (const std::string& t : {admin_, clinician_, coordinator_}) {
    const std::string secret = t.substr(21);
    EXPECT_EQ(listing.find(secret), std::string::npos);
    EXPECT_EQ(listing.find(storage::Sha256Hex(secret)), std::string::npos);
  }
  EXPECT_EQ(listing.find("stk_"), std::string::npos);

  for (const std::string& who : {clinician_, coordinator_}) {
    EXPECT_EQ(Call("GET", "/v1/tokens", who).status, 403);
    EXPECT_EQ(Call("DELETE", "/v1/tokens/" + id, who).status, 403);
  }
  ASSERT_EQ(Call("GET", "/v1/patients", coordinator_).status, 200);
  const HttpResponse revoked = Call("DELETE", "/v1/tokens/" + id, admin_);
  ASSERT_EQ(revoked.status, 200) << revoked.body;
  EXPECT_EQ(Body(revoked)["status"], "revoked");
  EXPECT_FALSE(Body(revoked)["revoked_at"].is_null());
  // The very next request with it is refused.
  const HttpResponse after = Call("GET", "/v1/patients", coordinator_);
  EXPECT_EQ(after.status, 401);
  EXPECT_EQ(Body(after)["error"]["code"], "unauthorized");
  // Idempotent: the same answer again, one audit entry naming the admin.
  const HttpResponse again = Call("DELETE", "/v1/tokens/" + id, admin_);
  EXPECT_EQ(again.status, 200);
  EXPECT_EQ(Body(again)["revoked_at"], Body(revoked)["revoked_at"]);
  storage::AuditQuery q;
  q.object = "token:" + id;
  int revocations = 0;
  for (const storage::AuditEntry& e : store_->repository().ListAudit(q)) {
    if (e.action != "token.revoke") continue;
    ++revocations;
    EXPECT_EQ(e.actor, "token:" + admin_.substr(4, 16));
  }
  EXPECT_EQ(revocations, 1);
  EXPECT_EQ(find(Body(Call("GET", "/v1/tokens", admin_)))["status"], "revoked");

  const HttpResponse bad = Call("DELETE", "/v1/tokens/NOT-AN-ID", admin_);
  EXPECT_EQ(bad.status, 400);
  EXPECT_EQ(Body(bad)["error"]["code"], "invalid_argument");
  const HttpResponse unknown = Call("DELETE", "/v1/tokens/0123456789abcdef", admin_);
  EXPECT_EQ(unknown.status, 404);
  EXPECT_EQ(Body(unknown)["error"]["code"], "not_found");
  EXPECT_EQ(Call("GET", "/v1/tokens", "").status, 401);
}

// Item 8: every JSON integer is range-checked as parsed, before it is narrowed.
TEST_F(PrivacyTokensTest, JsonIntegersOutsideTheirRangeAreRejectedNotTruncated) {
  struct Case {
    const char* body;
    const char* names;  // what the message must name
  };
  // 4294967299 = 2^32 + 3 (was Fitzpatrick 3); -4294967295 wraps to 1 as an int.
  const Case patients[] = {
      {R"({"id":"X7b","fitzpatrick":4294967299})", "fitzpatrick"},
      {R"({"id":"X7b","fitzpatrick":-4294967295})", "fitzpatrick"},
      {R"({"id":"X7b","fitzpatrick":18446744073709551619})", "fitzpatrick"},
      {R"({"id":"X7b","fitzpatrick":3.0})", "fitzpatrick"},
      {R"({"id":"X7b","fitzpatrick":true})", "fitzpatrick"},
      {R"({"id":"X7b","fitzpatrick":"3"})", "fitzpatrick"},
      {R"({"id":"X7b","fitzpatrick":7})", "fitzpatrick"},
  };
  for (const Case& c : patients) {
    const HttpResponse r = Call("POST", "/v1/patients", clinician_, c.body);
    EXPECT_EQ(r.status, 400) << c.body << " " << r.body;
    EXPECT_EQ(Body(r)["error"]["code"], "invalid_argument");
    EXPECT_NE(Body(r)["error"]["message"].get<std::string>().find(c.names), std::string::npos);
  }
  EXPECT_TRUE(store_->repository().ListPatients().empty());
  ASSERT_EQ(Call("POST", "/v1/patients", clinician_, R"({"id":"X7b","fitzpatrick":6})").status,
            201);
  EXPECT_EQ(*store_->repository().FindPatient("X7b")->info.fitzpatrick, 6);

  const std::int64_t id = PushProcessed("X7b", "2026-01-10T09:00:00Z", "baseline", 7);
  const std::string path = "/v1/captures/" + std::to_string(id) + "/assessment";
  // 1099511627776 = 2^40 (was grade 0); 4294967306 = 2^32 + 10 (was level 10).
  const Case grades[] = {
      {R"({"erythema":1099511627776})", "erythema"},
      {R"({"erythema":4294967298})", "erythema"},
      {R"({"induration":-1})", "induration"},
      {R"({"desquamation":2.5})", "desquamation"},
      {R"({"desquamation":1e0})", "desquamation"},
      {R"({"erythema":false})", "erythema"},
      {R"({"erythema":null})", "erythema"},
      {R"({"depigmentation_level":4294967306})", "depigmentation_level"},
      {R"({"depigmentation_level":30})", "depigmentation_level"},
  };
  for (const Case& c : grades) {
    const HttpResponse r = Call("PUT", path, clinician_, c.body);
    EXPECT_EQ(r.status, 400) << c.body << " " << r.body;
    EXPECT_NE(r.body.find(c.names), std::string::npos) << r.body;
  }
  // Beyond a double: the parser refuses it, the body is not accepted either.
  EXPECT_EQ(Call("PUT", path, clinician_, R"({"erythema":1e999})").status, 400);
  EXPECT_TRUE(store_->repository().AssessmentHistory(id).empty());
  const HttpResponse ok = Call("PUT", path, clinician_, R"({"erythema":4,"induration":0})");
  ASSERT_EQ(ok.status, 201) << ok.body;
  const auto history = store_->repository().AssessmentHistory(id);
  ASSERT_EQ(history.size(), 1u);
  EXPECT_EQ(json::parse(history[0].grades_json), json::parse(R"({"erythema":4,"induration":0})"));
}

// Issue 13, first point: unknown and someone else's patient answer alike to a device token.
TEST_F(PrivacyTokensTest, ADeviceCannotTellWhichPatientsExist) {
  for (const char* id : {"P1", "P2"}) {
    ASSERT_EQ(Call("POST", "/v1/patients", admin_, json{{"id", id}}.dump()).status, 201);
  }
  const std::string device = Token(Role::kDevice, {"P1"});
  const std::string image = PhantomJpeg(1);
  auto push = [&](const std::string& patient) {
    return Call("POST",
                "/v1/patients/" + patient +
                    "/sites/left-forearm/captures?condition=psoriasis&captured_at="
                    "2026-01-01T00:00:00Z",
                device, image, "image/jpeg");
  };
  const HttpResponse other = push("P2");  // exists, not in the token's scope
  const HttpResponse none = push("P9");   // does not exist
  EXPECT_EQ(other.status, 404);
  EXPECT_EQ(none.status, other.status);
  std::string other_message = Body(other)["error"]["message"].get<std::string>();
  std::string none_message = Body(none)["error"]["message"].get<std::string>();
  other_message.replace(other_message.find("P2"), 2, "X");
  none_message.replace(none_message.find("P9"), 2, "X");
  EXPECT_EQ(other_message, none_message);
  EXPECT_EQ(Body(other)["error"]["code"], Body(none)["error"]["code"]);
  EXPECT_EQ(other.headers, none.headers);
  EXPECT_EQ(push("P1").status, 201);  // its own patient still works
  EXPECT_EQ(store_->repository().CountQueue().queued, 1);
}

}  // namespace
}  // namespace skintrack::service
