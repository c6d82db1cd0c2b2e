// `skintrack annotations export|import` as a user runs it: export with photos and manifest, import
// into a fresh data directory through the capture intake, and the refusals (exit 2, the problem
// named, nothing imported).
#include <gtest/gtest.h>

#include <fstream>
#include <nlohmann/json.hpp>
#include <sstream>
#include <string>

#include "../support/run_cli.h"
#include "annotation_fixture.h"
#include "skintrack/storage/sha256.h"

namespace skintrack::pipeline {
namespace {

using skintrack::testing::RunCli;
using skintrack::testing::TempDir;
using namespace skintrack::pipeline::testing;  // NOLINT(google-build-using-namespace)

const cv::Size kSize{64, 48};

std::string Slurp(const std::filesystem::path& p) {
  std::ifstream in(p, std::ios::binary);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

struct Fixture {
  TempDir tmp{"ann-cli"};
  std::string a = (tmp.path() / "a").string();
  std::string b = (tmp.path() / "b").string();
  std::filesystem::path out = tmp.path() / "out";
  std::map<std::string, annotation::AnnotationContent> contents;  // by author
  std::string photo;

  Fixture() {
    auto store = storage::Store::OpenDataDir(a);
    AddPatient(*store, "P001");
    const storage::Capture c = StoreCapture(*store, "P001", kSize, 3);
    photo = store->ReadBlob(c.blob.sha256);
    for (int k = 0; k < 2; ++k) {
      const std::string author = k == 0 ? "token:0123456789abcdef" : "coco:reader2";
      contents[author] = SampleContent(kSize, k);
      Submit(*store, c, author, contents[author]);
    }
  }
};

TEST(AnnotationCliTest, ExportThenImportIntoAFreshDataDirectory) {
  Fixture f;
  const auto ex = RunCli("annotations export --data-dir " + f.a + " --out " +
                         (f.out / "ds.json").string() + " --images " + (f.out / "img").string());
  ASSERT_EQ(ex.exit_code, 0) << ex.err;
  const std::string text = Slurp(f.out / "ds.json");
  const auto manifest = nlohmann::json::parse(Slurp(f.out / "ds.manifest.json"));
  EXPECT_EQ(manifest["sha256"], storage::Sha256Hex(text));
  EXPECT_EQ(manifest["annotation_versions"].size(), 2U);
  EXPECT_EQ(nlohmann::json::parse(text)["info"]["skintrack"]["annotation_versions"],
            manifest["annotation_versions"]);
  const auto name = manifest["image_files"][0]["file_name"].get<std::string>();
  EXPECT_EQ(Slurp(f.out / "img" / name), f.photo);  // the stored, de-identified bytes

  ASSERT_EQ(RunCli("patient add --data-dir " + f.b + " --id P001").exit_code, 0);
  const auto im = RunCli("annotations import --data-dir " + f.b + " --coco " +
                         (f.out / "ds.json").string() + " --images " + (f.out / "img").string() +
                         " --patient P001 --site left-forearm --condition psoriasis"
                         " --captured-at 2026-01-05T10:00:00Z --state accepted");
  ASSERT_EQ(im.exit_code, 0) << im.err;
  EXPECT_NE(im.out.find("imported 2 annotations"), std::string::npos) << im.out;
  auto store = storage::Store::OpenDataDir(f.b);
  const auto ids = store->repository().AnnotatedCaptures(0, 10);
  ASSERT_EQ(ids.size(), 1U);
  const auto capture = store->repository().FindCapture(ids[0]);
  EXPECT_EQ(capture->site, "left-forearm");
  for (const auto& [author, content] : f.contents) {
    const std::string imported = author.rfind("coco:", 0) == 0 ? author : "coco:" + author;
    const auto v = store->repository().FindAnnotation(capture->id, imported);
    ASSERT_TRUE(v) << imported;
    EXPECT_EQ(v->decision, annotation::ReviewDecision::kAccepted);
    SCOPED_TRACE(imported);
    ExpectSameContent(content, LoadAnnotationContent(*store, *capture, *v));
  }
}

TEST(AnnotationCliTest, MalformedFileIsRefusedWhole) {
  Fixture f;
  ASSERT_EQ(
      RunCli("annotations export --data-dir " + f.a + " --out " + (f.out / "ds.json").string())
          .exit_code,
      0);
  auto j = nlohmann::json::parse(Slurp(f.out / "ds.json"));
  for (auto& a : j["annotations"]) a["skintrack"]["annotator"] = "someone_else";
  j["annotations"][2]["image_id"] = 99;  // a problem after two good annotations
  std::ofstream(f.out / "bad.json") << j.dump();
  const Counts before = [&] {
    auto store = storage::Store::OpenDataDir(f.a);
    return CountStored(*store);
  }();
  const auto r =
      RunCli("annotations import --data-dir " + f.a + " --coco " + (f.out / "bad.json").string());
  EXPECT_EQ(r.exit_code, 2);
  EXPECT_NE(r.err.find("annotations[2].image_id"), std::string::npos) << r.err;
  auto store = storage::Store::OpenDataDir(f.a);
  EXPECT_TRUE(CountStored(*store) == before);
}

TEST(AnnotationCliTest, UsageErrorsExitTwo) {
  Fixture f;
  const auto help = RunCli("annotations --help");
  EXPECT_EQ(help.exit_code, 0);
  EXPECT_NE(help.out.find("annotations import"), std::string::npos);
  const auto half = RunCli("annotations import --data-dir " + f.a + " --coco x.json --patient P1");
  EXPECT_EQ(half.exit_code, 2);
  EXPECT_NE(half.err.find("go together"), std::string::npos) << half.err;
  EXPECT_EQ(RunCli("annotations frobnicate --data-dir " + f.a).exit_code, 2);
  const auto who = RunCli("annotations export --data-dir " + f.a + " --out x.json --for public");
  EXPECT_EQ(who.exit_code, 2);
  EXPECT_NE(who.err.find("--for must be coordinator"), std::string::npos) << who.err;
}

}  // namespace
}  // namespace skintrack::pipeline
