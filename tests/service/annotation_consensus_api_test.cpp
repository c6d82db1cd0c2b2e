// The consensus of a capture's annotations through the API (two annotators submit, a clinician
// builds the consensus, the capture's lesion mask and scores then come from it) and the COCO
// export (what a coordinator gets).
#include <set>

#include "annotation_api_fixture.h"
#include "skintrack/annotation/coco.h"
#include "skintrack/scoring/consensus.h"

namespace skintrack::service {
namespace {

using nlohmann::json;

std::string ETagOf(const HttpResponse& r) {
  for (const auto& [name, value] : r.headers) {
    if (name == "ETag") return value;
  }
  return "";
}

cv::Mat DecodePng(const HttpResponse& r) {
  return cv::imdecode(
      cv::Mat(1, static_cast<int>(r.body.size()), CV_8U, const_cast<char*>(r.body.data())),
      cv::IMREAD_GRAYSCALE);
}

TEST_F(AnnotationApiTest, ConsensusOfTwoAnnotatorsBecomesTheCapturesLesionMask) {
  const std::int64_t c = PushCapture(6, "2026-01-01T00:00:00Z");
  Assign(c, {ann_a_.id, ann_b_.id});
  const json before = Body(Call("GET", CapturePath(c), clinician_));
  ASSERT_EQ(before["results"]["lesion"]["source"], "automated");
  const cv::Mat a = RectMask({30, 30, 120, 100});
  const cv::Mat b = RectMask({60, 50, 120, 100});
  ASSERT_EQ(PutMine(ann_a_, c, "submit", 0, PlaqueDocument(a)).status, 201);

  // One submitted annotation is no consensus: 409, nothing stored.
  const HttpResponse too_few = Call("POST", CapturePath(c) + "/consensus", clinician_,
                                    json{{"method", "majority"}});
  EXPECT_EQ(too_few.status, 409) << too_few.body;
  EXPECT_EQ(Call("GET", CapturePath(c) + "/consensus", clinician_).status, 404);
  ASSERT_EQ(PutMine(ann_b_, c, "submit", 0, PlaqueDocument(b)).status, 201);
  EXPECT_EQ(Call("POST", CapturePath(c) + "/consensus", ann_a_, json::object()).status, 403);
  EXPECT_EQ(Call("POST", CapturePath(c) + "/consensus", clinician_, json{{"method", "vote"}})
                .status,
            400);

  const HttpResponse built = Call("POST", CapturePath(c) + "/consensus", clinician_,
                                  json{{"method", "majority"}});
  ASSERT_EQ(built.status, 201) << built.body;
  const json figures = Body(built);
  EXPECT_EQ(figures["method"], "majority");
  EXPECT_EQ(figures["annotators"], 2);
  // Figures computed here by hand: two rectangles of 120x100 overlapping in 90x80.
  const double dice = 2.0 * 90 * 80 / (2.0 * 120 * 100);
  EXPECT_NEAR(figures["pairwise_dice_mean"].get<double>(), dice, 1e-9);
  const double union_pixels = 2.0 * 120 * 100 - 90 * 80;
  EXPECT_NEAR(figures["consensus_fraction"].get<double>(), union_pixels / (kWidth * kHeight),
              1e-9);
  ASSERT_EQ(figures["per_annotator"].size(), 2u);
  std::set<std::string> authors;
  for (const json& p : figures["per_annotator"]) {
    authors.insert(p["author"].get<std::string>());
    // Of two annotators, leave-one-out is the other one's mask.
    EXPECT_NEAR(p["dice_vs_others"].get<double>(), dice, 1e-9);
    EXPECT_GT(p["version_id"].get<std::int64_t>(), 0);
  }
  EXPECT_EQ(authors, (std::set<std::string>{ann_a_.Author(), ann_b_.Author()}));

  // The capture's lesion mask is the consensus (majority of two: the union), source consensus,
  // and its scores were computed again from it.
  const json after = Body(Call("GET", CapturePath(c), clinician_));
  EXPECT_EQ(after["results"]["lesion"]["source"], "consensus");
  EXPECT_EQ(after["results"]["lesion"]["id"], figures["mask_result_id"]);
  EXPECT_GT(after["results"]["measurements"]["version"].get<int>(),
            before["results"]["measurements"]["version"].get<int>());
  EXPECT_NE(after["results"]["measurements"]["value"], before["results"]["measurements"]["value"]);
  EXPECT_EQ(after["results"]["measurements"]["source"], "consensus");
  const cv::Mat lesion = DecodePng(Call("GET", CapturePath(c) + "/mask.png", clinician_));
  ASSERT_EQ(lesion.size(), a.size());
  EXPECT_EQ(cv::countNonZero((lesion > 0) != (a | b)), 0);

  // The stored figures are what the build answered.
  const HttpResponse stored = Call("GET", CapturePath(c) + "/consensus", admin_);
  ASSERT_EQ(stored.status, 200) << stored.body;
  json built_figures = figures;
  EXPECT_EQ(built_figures["requeued_captures"], 0);  // the only capture: nothing to requeue
  built_figures.erase("requeued_captures");
  EXPECT_EQ(Body(stored), built_figures);
}

TEST_F(AnnotationApiTest, ExportIsTheCocoDatasetAndACoordinatorsHasNoNamesOrNotes) {
  const std::int64_t c = PushCapture(7, "2026-01-01T00:00:00Z");
  Assign(c, {ann_a_.id, ann_b_.id});
  const std::string note = "patient Jane Doe said it itches";
  ASSERT_EQ(PutMine(ann_a_, c, "submit", 0, PlaqueDocument(RectMask({30, 30, 60, 40})), note)
                .status,
            201);
  ASSERT_EQ(PutMine(ann_b_, c, "save", 0, PlaqueDocument(RectMask({60, 50, 60, 40})), note)
                .status,
            201);  // a draft: not exported

  const HttpResponse full = Call("GET", "/v1/annotations/export", admin_);
  ASSERT_EQ(full.status, 200) << full.body;
  const annotation::CocoDataset dataset = annotation::ParseCoco(full.body);
  ASSERT_EQ(dataset.images.size(), 1u);
  EXPECT_EQ(dataset.images[0].capture_id, c);
  EXPECT_EQ(dataset.images[0].subject, "P1");
  ASSERT_EQ(dataset.annotations.size(), 1u);  // A's plaque; B's draft is not a label yet
  EXPECT_EQ(dataset.annotations[0].annotator, ann_a_.Author());
  EXPECT_NE(full.body.find("\"annotation_versions\""), std::string::npos);

  const HttpResponse pseudo = Call("GET", "/v1/annotations/export", coordinator_);
  ASSERT_EQ(pseudo.status, 200) << pseudo.body;
  EXPECT_EQ(pseudo.body.find("Jane"), std::string::npos);
  EXPECT_EQ(pseudo.body.find("\"P1\""), std::string::npos);
  const annotation::CocoDataset coordinators = annotation::ParseCoco(pseudo.body);
  ASSERT_EQ(coordinators.images.size(), 1u);
  EXPECT_NE(coordinators.images[0].subject, "P1");
  EXPECT_FALSE(coordinators.images[0].subject.empty());
  // Exporting the same versions twice gives the same bytes, named by the ETag.
  const HttpResponse again = Call("GET", "/v1/annotations/export", admin_);
  EXPECT_EQ(again.body, full.body);
  EXPECT_EQ(ETagOf(again), ETagOf(full));
  EXPECT_EQ(ETagOf(full).size(), 66u);  // "<sha256>"
  EXPECT_EQ(Call("GET", "/v1/annotations/export?condition=vitiligo", admin_).body.find(
                "\"capture_id\""),
            std::string::npos);
  EXPECT_EQ(Call("GET", "/v1/annotations/export?condition=eczema", admin_).status, 400);
}

}  // namespace
}  // namespace skintrack::service
