// docs/openapi.json against the route table, without sockets: every route of AddApiRoutes and
// AddDashboardRoutes, and the HEAD the router answers beside each GET, is a documented operation
// (and nothing else is documented), with an operationId, a 2xx and a 4xx answer, and the roles it
// documents (security and x-skintrack-roles) are exactly those the route's gate admits. A HEAD
// operation mirrors its GET (scripts/openapi_heads.py writes them); OPTIONS, documented once in
// info.description, allows exactly the documented methods of each path, with no CORS header.
// tests/openapi/live.test.mjs checks the answers themselves against the schemas.
#include <gtest/gtest.h>

#include <cctype>
#include <fstream>
#include <nlohmann/json.hpp>
#include <set>
#include <sstream>

#include "route_paths.h"
#include "skintrack/pipeline/pipeline.h"
#include "skintrack/pipeline/pseudonym.h"
#include "skintrack/service/dashboard.h"
#include "skintrack/service/service.h"
#include "skintrack/storage/store.h"

namespace skintrack::service {
namespace {

using nlohmann::json;

// "method pattern", the key of an operation.
std::string Key(std::string method, const std::string& pattern) {
  method += ' ';
  method += pattern;
  return method;
}

std::string Lower(std::string s) {
  for (char& c : s) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return s;
}

// The methods of an Allow header ("GET, HEAD, OPTIONS"), upper case.
std::set<std::string> AllowedMethods(const std::string& allow) {
  std::set<std::string> out;
  std::istringstream in(allow);
  std::string method;
  while (std::getline(in, method, ',')) {
    const size_t first = method.find_first_not_of(' ');
    if (first != std::string::npos) out.insert(method.substr(first));
  }
  return out;
}

// The answer's content, its $ref into components/responses followed.
const json& Resolved(const json& doc, const json& response) {
  if (!response.contains("$ref")) return response;
  const std::string name =
      response["$ref"].get<std::string>().substr(sizeof("#/components/responses/") - 1);
  return doc["components"]["responses"][name];
}

class OpenApiContract : public ::testing::Test {
 protected:
  void SetUp() override {
    std::ifstream in(std::string(SKINTRACK_SOURCE_DIR) + "/docs/openapi.json");
    ASSERT_TRUE(in) << "docs/openapi.json missing";
    doc_ = json::parse(in);
    store_ = storage::Store::OpenInMemory();
    context_.reset(new ApiContext{
        *store_, nullptr, &metrics_, IntakeLimits{}, 1.0,
        pipeline::PseudonymKey{pipeline::PseudonymKey::Scheme::kHmacSha256, "test-key"},
        pipeline::PipelineOptions{}});
    AddApiRoutes(router_, *context_);
    AddDashboardRoutes(router_);
    storage::PatientInfo patient;
    patient.id = "1";
    store_->repository().CreatePatient(patient, "test");
    for (storage::Role role :
         {storage::Role::kAdmin, storage::Role::kClinician, storage::Role::kCoordinator,
          storage::Role::kDevice, storage::Role::kAnnotator}) {
      storage::NewToken t;
      t.role = role;
      if (role == storage::Role::kDevice) t.patient_scope = {"1"};
      tokens_.emplace_back(storage::RoleName(role),
                           store_->repository().CreateToken(t, "test").token);
    }
  }

  // The roles whose token the route's gate admits, and whether it admits a request without one.
  std::set<std::string> Admitted(const std::string& method, const std::string& pattern,
                                 bool& public_route) const {
    HttpRequest head;
    head.method = method;
    head.path = PathFor(pattern);
    public_route = !router_.Admit(head).refusal.has_value();
    std::set<std::string> roles;
    for (const auto& [role, token] : tokens_) {
      head.headers["authorization"] = "Bearer " + token;
      if (!router_.Admit(head).refusal) roles.insert(role);
    }
    return roles;
  }

  // What the server answers: every route, and HEAD beside every GET (the router runs the GET).
  std::vector<std::pair<std::string, std::string>> Operations() const {
    std::vector<std::pair<std::string, std::string>> out;
    for (const auto& [method, pattern] : router_.Routes()) {
      out.emplace_back(method, pattern);
      if (method == "GET") out.emplace_back("HEAD", pattern);
    }
    return out;
  }

  json doc_;
  std::unique_ptr<storage::Store> store_;
  Metrics metrics_;
  std::unique_ptr<ApiContext> context_;
  Router router_;
  std::vector<std::pair<std::string, std::string>> tokens_;  // (role, secret)
};

TEST_F(OpenApiContract, EveryRouteIsADocumentedOperationAndNothingElse) {
  std::set<std::string> served;
  for (const auto& [method, pattern] : Operations()) {
    const std::string m = Lower(method);
    served.insert(Key(m, pattern));
    ASSERT_TRUE(doc_["paths"].contains(pattern)) << pattern << " is not in docs/openapi.json";
    ASSERT_TRUE(doc_["paths"][pattern].contains(m)) << method << " " << pattern;
    const json& op = doc_["paths"][pattern][m];
    EXPECT_FALSE(op.value("operationId", "").empty()) << method << " " << pattern;
    bool ok = false;
    bool refused = false;
    for (const auto& [status, response] : op["responses"].items()) {
      ok = ok || status[0] == '2';
      refused = refused || status[0] == '4';
    }
    EXPECT_TRUE(ok && refused) << method << " " << pattern << " needs a 2xx and a 4xx answer";
  }
  EXPECT_GE(served.size(), 65u);  // 38 routes, 27 of them GET with their HEAD (2026-12)
  for (const auto& [path, item] : doc_["paths"].items()) {
    for (const auto& [m, op] : item.items()) {
      EXPECT_TRUE(served.count(Key(m, path))) << "documented but not served: " << m << " " << path;
    }
  }
}

TEST_F(OpenApiContract, EveryHeadMirrorsItsGetWithoutBodies) {
  const char* regenerate = " (python3 scripts/openapi_heads.py rewrites the HEAD operations)";
  for (const auto& [path, item] : doc_["paths"].items()) {
    if (!item.contains("get")) continue;
    ASSERT_TRUE(item.contains("head")) << path << regenerate;
    const json& get = item["get"];
    const json& head = item["head"];
    const std::string id = get["operationId"];
    EXPECT_EQ(head["operationId"],
              "head" + std::string(1, static_cast<char>(std::toupper(id[0]))) + id.substr(1))
        << path;
    EXPECT_EQ(head.value("parameters", json::array()), get.value("parameters", json::array()))
        << path << regenerate;
    EXPECT_EQ(head["security"], get["security"]) << path;
    EXPECT_EQ(head["x-skintrack-roles"], get["x-skintrack-roles"]) << path;
    std::set<std::string> get_statuses;
    std::set<std::string> head_statuses;
    for (const auto& [status, response] : get["responses"].items()) get_statuses.insert(status);
    for (const auto& [status, response] : head["responses"].items()) {
      head_statuses.insert(status);
      EXPECT_FALSE(Resolved(doc_, response).contains("content"))
          << "HEAD " << path << " " << status << " documents a body";
    }
    EXPECT_EQ(head_statuses, get_statuses) << path << regenerate;
  }
}

TEST_F(OpenApiContract, OptionsAllowsTheDocumentedMethodsWithoutCors) {
  for (const auto& [path, item] : doc_["paths"].items()) {
    HttpRequest options;
    options.method = "OPTIONS";
    options.path = PathFor(path);
    const Admission admission = router_.Admit(options);  // no token: the route table is public
    ASSERT_TRUE(admission.refusal.has_value()) << path << ": OPTIONS reached a handler";
    const HttpResponse& r = *admission.refusal;
    EXPECT_EQ(r.status, 204) << path;
    EXPECT_TRUE(r.body.empty()) << path;
    std::set<std::string> documented = {"OPTIONS"};
    for (const auto& [m, op] : item.items()) {
      std::string upper = m;
      for (char& c : upper) c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
      documented.insert(upper);
    }
    std::set<std::string> allowed;
    for (const auto& [name, value] : r.headers) {
      EXPECT_NE(Lower(name).rfind("access-control-", 0), 0u) << path << ": " << name;
      if (Lower(name) == "allow") allowed = AllowedMethods(value);
    }
    EXPECT_EQ(allowed, documented) << path;
  }
}

TEST_F(OpenApiContract, DocumentedRolesAreTheGatesRoles) {
  for (const auto& [method, pattern] : Operations()) {
    const json& op = doc_["paths"][pattern][Lower(method)];
    const std::string what = Key(method, pattern);
    bool public_route = false;
    const std::set<std::string> admitted = Admitted(method, pattern, public_route);
    ASSERT_TRUE(op.contains("x-skintrack-roles")) << what;
    ASSERT_TRUE(op.contains("security")) << what;
    const std::set<std::string> documented = op["x-skintrack-roles"].get<std::set<std::string>>();
    std::set<std::string> schemes;
    for (const json& requirement : op["security"]) {
      ASSERT_EQ(requirement.size(), 1u) << what << ": one scheme per alternative";
      schemes.insert(requirement.begin().key());
    }
    if (public_route) {
      EXPECT_TRUE(documented.empty()) << what << " needs no token";
      EXPECT_TRUE(schemes.empty()) << what << " needs no token: security []";
      continue;
    }
    EXPECT_EQ(documented, admitted) << what;
    std::set<std::string> expected_schemes;
    for (const std::string& role : admitted) expected_schemes.insert(role + "Token");
    EXPECT_EQ(schemes, expected_schemes) << what;
    EXPECT_TRUE(op["responses"].contains("401") && op["responses"].contains("403")) << what;
  }
  for (const auto& [name, scheme] : doc_["components"]["securitySchemes"].items()) {
    EXPECT_EQ(scheme["type"], "http") << name;
    EXPECT_EQ(scheme["scheme"], "bearer") << name;
  }
}

}  // namespace
}  // namespace skintrack::service
