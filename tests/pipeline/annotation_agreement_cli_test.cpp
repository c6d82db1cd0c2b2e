// `skintrack annotations agreement` as a user runs it: the JSON is the dataset agreement of the
// data directory (whose figures annotation_agreement_test.cpp checks against a published
// example), the text names each label, and bad options are refused (exit 2, the problem named).
#include <gtest/gtest.h>

#include <nlohmann/json.hpp>
#include <string>

#include "../support/run_cli.h"
#include "annotation_fixture.h"
#include "skintrack/pipeline/annotation_agreement.h"

namespace skintrack::pipeline {
namespace {

using skintrack::testing::RunCli;
using skintrack::testing::TempDir;

// Three annotators grade erythema on two captures: 2, 2, 3 and 1, 1, 1.
std::string AnnotatedDataDir(const TempDir& tmp) {
  std::string dir = (tmp.path() / "data").string();
  auto store = storage::Store::OpenDataDir(dir);
  testing::AddPatient(*store, "P001");
  const int grades[2][3] = {{2, 2, 3}, {1, 1, 1}};
  for (int u = 0; u < 2; ++u) {
    const storage::Capture c = testing::StoreCapture(*store, "P001", {32, 24}, u);
    for (int a = 0; a < 3; ++a) {
      annotation::AnnotationContent content;
      content.labels.erythema = grades[u][a];
      testing::Submit(*store, c, "token:a" + std::to_string(a), content);
    }
  }
  return dir;
}

TEST(AnnotationAgreementCliTest, JsonIsTheDatasetAgreement) {
  TempDir tmp{"ann-agree-cli"};
  const std::string dir = AnnotatedDataDir(tmp);
  const auto r = RunCli("annotations agreement --data-dir " + dir + " --json");
  ASSERT_EQ(r.exit_code, 0) << r.err;
  const nlohmann::json j = nlohmann::json::parse(r.out);
  auto store = storage::Store::OpenDataDir(dir);
  EXPECT_EQ(j, DatasetAgreementJson(ComputeDatasetAgreement(*store, {})));
  EXPECT_EQ(j["captures"], 2);
  EXPECT_EQ(j["labels"]["erythema"]["units"], 2);
  EXPECT_EQ(j["labels"]["erythema"]["ratings"], 6);
  // token:a2 gave 3 where the others gave 2, then agreed: (0 + 1) / 2.
  EXPECT_DOUBLE_EQ(
      j["labels"]["erythema"]["per_annotator"][2]["agreement_with_others"].get<double>(), 0.5);
}

TEST(AnnotationAgreementCliTest, TextAndRefusals) {
  TempDir tmp{"ann-agree-cli"};
  const std::string dir = AnnotatedDataDir(tmp);
  const auto text = RunCli("annotations agreement --data-dir " + dir + " --condition psoriasis");
  ASSERT_EQ(text.exit_code, 0) << text.err;
  EXPECT_NE(text.out.find("2 annotated captures"), std::string::npos) << text.out;
  EXPECT_NE(text.out.find("erythema: alpha "), std::string::npos) << text.out;
  EXPECT_NE(text.out.find("monk: alpha - (ordinal, 0 captures, 0 ratings)"), std::string::npos)
      << text.out;
  const auto bad = RunCli("annotations agreement --data-dir " + dir + " --condition eczema");
  EXPECT_EQ(bad.exit_code, 2);
  EXPECT_NE(bad.err.find("eczema"), std::string::npos) << bad.err;
  const auto extra = RunCli("annotations agreement --data-dir " + dir + " --out x.json");
  EXPECT_EQ(extra.exit_code, 2);
  EXPECT_NE(extra.err.find("out"), std::string::npos) << extra.err;
  const std::string missing = (tmp.path() / "missing").string();
  const auto none = RunCli("annotations agreement --data-dir " + missing);
  EXPECT_NE(none.exit_code, 0);
  EXPECT_NE(none.err.find("no skintrack data directory"), std::string::npos) << none.err;
  EXPECT_FALSE(std::filesystem::exists(missing));  // reading created nothing
}

}  // namespace
}  // namespace skintrack::pipeline
