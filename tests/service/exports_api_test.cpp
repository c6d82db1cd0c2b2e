// GET /v1/exports/{cohort.csv,rs.csv,rs-define.json,fhir} (issue 16): served from the running
// server's Store, pseudonymised for every caller exactly as `skintrack export`, with the data
// directory's study id, audited; through the router, without sockets.
#include <gtest/gtest.h>

#include <filesystem>
#include <nlohmann/json.hpp>

#include "../report/export_fixture.h"
#include "skintrack/pipeline/pseudonym.h"
#include "skintrack/report/cohort.h"
#include "skintrack/report/report.h"
#include "skintrack/service/service.h"
#include "skintrack/storage/store.h"

namespace skintrack::service {
namespace {

using nlohmann::json;
using report::testing::kKey;

class ExportsApi : public ::testing::Test {
 protected:
  // The cohort is processed once (seconds); each test adds its own tokens and counts its audits.
  static void SetUpTestSuite() { shared_store = report::testing::CohortStore().release(); }
  static void TearDownTestSuite() {
    delete shared_store;
    shared_store = nullptr;
  }

  void SetUp() override {
    store_ = shared_store;
    data_dir_ = std::filesystem::temp_directory_path() /
                ("skintrack-exports-api-" + std::to_string(::getpid()));
    std::filesystem::create_directories(data_dir_);
    report::SaveStudyId(data_dir_.string(), "ST-API");
    context_.reset(new ApiContext{*store_, nullptr, &metrics_, IntakeLimits{}, 1.0, kKey,
                                  pipeline::PipelineOptions{}});
    context_->data_dir = data_dir_.string();
    AddApiRoutes(router_, *context_);
    for (storage::Role role : {storage::Role::kAdmin, storage::Role::kClinician,
                               storage::Role::kCoordinator, storage::Role::kDevice}) {
      storage::NewToken t;
      t.role = role;
      if (role == storage::Role::kDevice) t.patient_scope = {"P1"};
      tokens_[storage::RoleName(role)] = store_->repository().CreateToken(t, "test").token;
    }
    audits_before_ = CountExportAudits();
  }
  void TearDown() override { std::filesystem::remove_all(data_dir_); }

  HttpResponse Get(const std::string& path, const std::string& role) {
    HttpRequest r;
    r.method = "GET";
    r.path = path;
    if (!role.empty()) r.headers["authorization"] = "Bearer " + tokens_.at(role);
    return router_.Dispatch(r);
  }

  int ExportAudits() { return CountExportAudits() - audits_before_; }
  int CountExportAudits() {
    int n = 0;
    storage::AuditQuery q;
    q.object = "cohort";
    q.limit = 10000;
    for (const storage::AuditEntry& e : store_->repository().ListAudit(q)) {
      n += e.action == "cohort.export" && e.actor.rfind("token:", 0) == 0;
    }
    return n;
  }

  static storage::Store* shared_store;
  storage::Store* store_ = nullptr;
  int audits_before_ = 0;
  std::filesystem::path data_dir_;
  Metrics metrics_;
  std::unique_ptr<ApiContext> context_;
  Router router_;
  std::map<std::string, std::string> tokens_;
};

storage::Store* ExportsApi::shared_store = nullptr;

TEST_F(ExportsApi, ReadersGetTheCliExportsPseudonymisedWithTheStudyId) {
  const report::CohortExportOptions options{kKey, "ST-API"};
  const std::string cohort = report::ExportCohortCsv(*store_, options);
  const std::string rs = report::ExportRsCsv(*store_, options);
  const std::string define = report::ExportRsDefine(*store_, options);
  for (const char* role : {"admin", "clinician", "coordinator"}) {
    const HttpResponse csv = Get("/v1/exports/cohort.csv", role);
    ASSERT_EQ(csv.status, 200) << role << ": " << csv.body;
    EXPECT_EQ(csv.content_type.rfind("text/csv", 0), 0u);
    EXPECT_EQ(csv.body, cohort) << role;
    EXPECT_NE(csv.body.find("\nST-API,S-"), std::string::npos);
    const HttpResponse r = Get("/v1/exports/rs.csv", role);
    ASSERT_EQ(r.status, 200) << r.body;
    EXPECT_EQ(r.body, rs);
    EXPECT_EQ(Get("/v1/exports/rs-define.json", role).body, define);
    const HttpResponse fhir = Get("/v1/exports/fhir", role);
    ASSERT_EQ(fhir.status, 200) << fhir.body;
    EXPECT_EQ(fhir.content_type, "application/fhir+json");
    json served = json::parse(fhir.body);
    json expected = json::parse(report::ExportCohortFhir(*store_, options));
    served.erase("timestamp");
    expected.erase("timestamp");
    EXPECT_EQ(served, expected);
    for (const std::string* body : {&csv.body, &r.body, &fhir.body}) {
      EXPECT_EQ(body->find("P1"), std::string::npos) << role << ": a patient id left";
      EXPECT_EQ(body->find("P2"), std::string::npos) << role;
    }
    bool attachment = false;
    for (const auto& [name, value] : csv.headers) {
      attachment = attachment || (name == "Content-Disposition" &&
                                  value == "attachment; filename=\"cohort.csv\"");
    }
    EXPECT_TRUE(attachment);
  }
  EXPECT_EQ(ExportAudits(), 12);  // every download, by its token
}

TEST_F(ExportsApi, DevicesAndAnonymousCallersAreRefusedAndNotAudited) {
  for (const char* path : {"/v1/exports/cohort.csv", "/v1/exports/rs.csv",
                           "/v1/exports/rs-define.json", "/v1/exports/fhir"}) {
    EXPECT_EQ(Get(path, "device").status, 403) << path;
    EXPECT_EQ(Get(path, "").status, 401) << path;
  }
  EXPECT_EQ(ExportAudits(), 0);
}

TEST_F(ExportsApi, TheStudyIdIsReadPerRequestBesideTheRunningServer) {
  report::SaveStudyId(data_dir_.string(), "ST-NEW");  // as `skintrack study --set-id` would
  EXPECT_NE(Get("/v1/exports/rs.csv", "coordinator").body.find("\nST-NEW,RS,S-"),
            std::string::npos);
}

}  // namespace
}  // namespace skintrack::service
