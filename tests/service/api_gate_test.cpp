// The route table's gate (roles checked on the head, before the body is read) against the handlers'
// own Authorize: for every route and every kind of caller they must agree, so that the two lists
// of roles cannot drift apart. Without sockets: the router on an in-memory store.
#include <gtest/gtest.h>

#include <nlohmann/json.hpp>
#include <set>

#include "route_paths.h"
#include "skintrack/pipeline/pipeline.h"
#include "skintrack/pipeline/pseudonym.h"
#include "skintrack/service/service.h"
#include "skintrack/storage/store.h"

namespace skintrack::service {
namespace {

using nlohmann::json;

std::string CodeOf(const HttpResponse& r) {
  const json j = json::parse(r.body, nullptr, false);
  return j.is_discarded() || !j.contains("error") ? "" : j["error"]["code"].get<std::string>();
}

class ApiGate : public ::testing::Test {
 protected:
  void SetUp() override {
    store_ = storage::Store::OpenInMemory();
    context_.reset(new ApiContext{
        *store_, nullptr, &metrics_, IntakeLimits{}, 1.0,
        pipeline::PseudonymKey{pipeline::PseudonymKey::Scheme::kHmacSha256, "test-key"},
        pipeline::PipelineOptions{}});
    AddApiRoutes(router_, *context_);
    storage::PatientInfo patient;
    patient.id = "1";  // the patient every {patient} placeholder names
    store_->repository().CreatePatient(patient, "test");
    for (storage::Role role :
         {storage::Role::kAdmin, storage::Role::kClinician, storage::Role::kCoordinator,
          storage::Role::kDevice, storage::Role::kAnnotator}) {
      storage::NewToken t;
      t.role = role;
      if (role == storage::Role::kDevice) t.patient_scope = {"1"};  // no 403 from the scope
      callers_.emplace_back(storage::RoleName(role),
                            store_->repository().CreateToken(t, "test").token);
    }
    callers_.emplace_back("no token", "");
    callers_.emplace_back("unknown token", "stk_0000000000000000_" + std::string(64, '0'));
  }

  HttpRequest Head(const std::string& method, const std::string& pattern,
                   const std::string& token) const {
    HttpRequest r;
    r.method = method;
    r.path = PathFor(pattern);
    if (!token.empty()) r.headers["authorization"] = "Bearer " + token;
    return r;
  }

  std::unique_ptr<storage::Store> store_;
  Metrics metrics_;
  std::unique_ptr<ApiContext> context_;
  Router router_;
  std::vector<std::pair<std::string, std::string>> callers_;  // (name, token)
};

TEST_F(ApiGate, GateAndHandlerAgreeForEveryRouteAndCaller) {
  const auto routes = router_.Routes();
  ASSERT_GE(routes.size(), 17u);
  int refused = 0, admitted = 0;
  for (const auto& [method, pattern] : routes) {
    for (const auto& [caller, token] : callers_) {
      const HttpRequest head = Head(method, pattern, token);
      const Admission gate = router_.Admit(head);
      const HttpResponse handler = router_.Dispatch(head);
      std::string what = method;
      what.append(" ").append(pattern).append(" as ").append(caller);
      if (gate.refusal) {
        ++refused;
        // The gate refuses exactly as the handler would.
        EXPECT_EQ(gate.refusal->status, handler.status) << what << ": " << handler.body;
        EXPECT_EQ(CodeOf(*gate.refusal), CodeOf(handler)) << what;
      } else {
        ++admitted;
        // What the gate lets through, the handler does not refuse for the caller's identity.
        EXPECT_NE(handler.status, 401) << what << ": " << handler.body;
        EXPECT_NE(handler.status, 403) << what << ": " << handler.body;
      }
    }
  }
  EXPECT_GT(refused, 0);  // both branches ran: the test can fail either way
  EXPECT_GT(admitted, 0);
}

// Only the routes that take an image have the upload limit; every other route the JSON one.
TEST_F(ApiGate, OnlyImageRoutesHaveTheUploadBodyClass) {
  const std::string admin = callers_[0].second;
  std::set<std::string> uploads;
  for (const auto& [method, pattern] : router_.Routes()) {
    const Admission a = router_.Admit(Head(method, pattern, admin));
    ASSERT_FALSE(a.refusal) << method << " " << pattern << ": " << a.refusal->body;
    if (a.body == BodyClass::kUpload)
      uploads.insert(std::string(method).append(" ").append(pattern));
  }
  EXPECT_EQ(uploads, (std::set<std::string>{"POST /v1/patients/{patient}/sites/{site}/captures",
                                            "PUT /v1/captures/{id}/mask"}));
}

// The gate reads only the head: it refuses a request whose body was never given to it.
TEST_F(ApiGate, UnknownPathsAndMethodsAreRefusedOnTheHead) {
  const Admission missing = router_.Admit(Head("POST", "/v1/nothing", ""));
  ASSERT_TRUE(missing.refusal);
  EXPECT_EQ(missing.refusal->status, 404);
  const Admission wrong = router_.Admit(Head("DELETE", "/v1/patients", callers_[0].second));
  ASSERT_TRUE(wrong.refusal);
  EXPECT_EQ(wrong.refusal->status, 405);
}

}  // namespace
}  // namespace skintrack::service
