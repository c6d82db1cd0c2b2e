// COCO datasets in and out of a Store (pipeline/annotation_dataset.h): export then import into a
// fresh store reproduces every mask pixel, box, keypoint and label; a file in CVAT's conventions
// (polygons, no skintrack fields, missing optional fields) imports; bad files and conflicts are
// refused whole with the first problem named and nothing written.
#include "skintrack/pipeline/annotation_dataset.h"

#include <gtest/gtest.h>

#include <string>

#include "annotation_fixture.h"
#include "skintrack/annotation/coco.h"
#include "skintrack/annotation/rle.h"
#include "skintrack/core/error.h"

namespace skintrack::pipeline {
namespace {

using annotation::AnnotationContent;
using annotation::AnnotationState;
using annotation::CocoDataset;
using annotation::MaskClass;
using namespace skintrack::pipeline::testing;  // NOLINT(google-build-using-namespace)

const cv::Size kSize{64, 48};
const char kAuthorA[] = "token:00112233aabbccdd";
const char kAuthorB[] = "coco:dr.smith";

// Store A: two captures of P001, two submitted annotations on the first, one on the second and a
// draft that must not leave.
struct Source {
  std::unique_ptr<storage::Store> store = storage::Store::OpenInMemory();
  std::vector<storage::Capture> captures;
  std::map<std::pair<std::int64_t, std::string>, AnnotationContent> contents;
  std::vector<std::int64_t> counted_versions;

  Source() {
    AddPatient(*store, "P001");
    captures.push_back(StoreCapture(*store, "P001", kSize, 1));
    captures.push_back(StoreCapture(*store, "P001", kSize, 2));
    Add(captures[0], kAuthorA, 0);
    Add(captures[0], kAuthorB, 1);
    Add(captures[1], kAuthorA, 2);
    const Annotator drafter{"token:ffeeddccbbaa9988", storage::Role::kAnnotator};
    ChangeOwnAnnotation(*store, captures[1], drafter, annotation::AnnotationAction::kSaveDraft,
                        SampleContent(kSize, 3), "", 0);
  }
  void Add(const storage::Capture& c, const std::string& author, int k) {
    const AnnotationContent content = SampleContent(kSize, k);
    counted_versions.push_back(Submit(*store, c, author, content, "Jane Doe's arm").id);
    contents[{c.id, author}] = content;
  }
};

// Store B gets P001 and the photos as new captures (the bytes as stored in A).
CocoImportOptions IngestInto(storage::Store& from, const CocoExport& e) {
  CocoImportOptions o;
  for (const storage::Capture& c : e.captures) {
    const std::string bytes = from.ReadBlob(c.blob.sha256);
    storage::NewCapture nc;
    nc.patient_id = "P001";
    nc.site = c.site;
    nc.condition = c.condition;
    nc.captured_at = c.captured_at;
    nc.media_type = c.media_type;
    nc.width = c.width;
    nc.height = c.height;
    nc.upload_sha256 = storage::Sha256Hex(bytes);
    o.new_captures.push_back({nc, bytes});
  }
  return o;
}

std::string RefusalOf(const std::function<void()>& f) {
  try {
    f();
  } catch (const Error& e) {
    return ErrorCodeName(e.code()) + std::string(": ") + e.what();
  }
  return "accepted";
}

TEST(AnnotationDatasetTest, ExportThenImportIntoAFreshStoreReproducesEverything) {
  Source a;
  const CocoExport e = BuildCocoDataset(*a.store, {});
  std::vector<std::int64_t> expected = a.counted_versions;
  std::sort(expected.begin(), expected.end());
  EXPECT_EQ(e.dataset.annotation_versions, expected);  // the draft is not in the dataset
  ASSERT_EQ(e.dataset.images.size(), 2U);
  EXPECT_EQ(e.dataset.images[0].subject, "P001");
  EXPECT_EQ(e.dataset.images[0].fitzpatrick, 4);
  EXPECT_EQ(e.dataset.images[0].file_name, "capture-" + std::to_string(a.captures[0].id) + ".png");
  const std::string text = annotation::WriteCoco(e.dataset);
  EXPECT_EQ(annotation::WriteCoco(BuildCocoDataset(*a.store, {}).dataset), text);  // reproducible
  EXPECT_EQ(text.find("Jane"), std::string::npos);  // notes never leave

  auto b = storage::Store::OpenInMemory();
  AddPatient(*b, "P001");
  const CocoDataset parsed = annotation::ParseCoco(text);
  const CocoImportReport r = ImportCocoDataset(*b, parsed, IngestInto(*a.store, e), "cli");
  EXPECT_EQ(r.captures_created, 2);
  EXPECT_EQ(r.annotations_imported, 3);
  ASSERT_EQ(r.capture_ids.size(), 2U);
  for (const auto& [key, content] : a.contents) {
    const size_t image = key.first == a.captures[0].id ? 0 : 1;
    const std::string author = key.second == kAuthorB ? kAuthorB : "coco:" + key.second;
    const auto capture = b->repository().FindCapture(r.capture_ids[image]);
    ASSERT_TRUE(capture);
    const auto v = b->repository().FindAnnotation(capture->id, author);
    ASSERT_TRUE(v) << author;
    EXPECT_EQ(v->state, AnnotationState::kSubmitted);
    EXPECT_EQ(v->version, 1);
    SCOPED_TRACE(author);
    ExpectSameContent(content, LoadAnnotationContent(*b, *capture, *v));
  }
  EXPECT_EQ(b->repository().LatestAnnotations(r.capture_ids[1]).size(), 1U);  // no draft

  // The same import again finds everything stored: nothing new.
  const Counts before = CountStored(*b);
  const CocoImportReport again = ImportCocoDataset(*b, parsed, IngestInto(*a.store, e), "cli");
  EXPECT_EQ(again.annotations_imported, 0);
  EXPECT_EQ(again.annotations_unchanged, 3);
  EXPECT_EQ(again.captures_created, 0);
  EXPECT_TRUE(CountStored(*b) == before);
}

TEST(AnnotationDatasetTest, ImportByCaptureIdAsAccepted) {
  Source a;
  CocoDataset d = BuildCocoDataset(*a.store, {}).dataset;
  for (auto& ann : d.annotations) ann.annotator = "reader_" + ann.annotator.substr(0, 4);
  for (auto& im : d.images) im.annotator_labels.clear();
  CocoImportOptions o;
  o.state = CocoImportState::kAccepted;
  const CocoImportReport r = ImportCocoDataset(*a.store, d, o, "cli");
  EXPECT_EQ(r.captures_created, 0);
  EXPECT_GT(r.annotations_imported, 0);
  const auto v = a.store->repository().FindAnnotation(a.captures[0].id, "coco:reader_toke");
  ASSERT_TRUE(v);
  EXPECT_EQ(v->state, AnnotationState::kReviewed);
  EXPECT_EQ(v->decision, annotation::ReviewDecision::kAccepted);
  EXPECT_EQ(v->actor, "cli");
  EXPECT_EQ(v->version, 2);  // submitted by its author, then accepted
}

// What CVAT 2.x writes for a mask drawn as a polygon, a box and a skeleton: no skintrack fields,
// its own extra fields, no info, keypoint names with spaces and capitals.
constexpr char kCvat[] = R"({
 "licenses": [{"name": "", "id": 0, "url": ""}],
 "categories": [
  {"id": 1, "name": "Psoriasis", "supercategory": ""},
  {"id": 2, "name": "Exclude", "supercategory": ""},
  {"id": 3, "name": "Landmark", "supercategory": "", "keypoints": ["Navel", "left-elbow"],
   "skeleton": []}],
 "images": [{"id": 1, "width": 64, "height": 48, "file_name": "arm.png", "license": 0,
             "flickr_url": "", "coco_url": "", "date_captured": 0}],
 "annotations": [
  {"id": 1, "image_id": 1, "category_id": 1, "segmentation": [[10, 10, 30, 10, 30, 20, 10, 20]],
   "area": 200.0, "bbox": [10, 10, 20, 10], "iscrowd": 0, "attributes": {"occluded": false}},
  {"id": 2, "image_id": 1, "category_id": 1, "segmentation": [[40, 30, 45, 30, 45, 35]],
   "iscrowd": 0},
  {"id": 3, "image_id": 1, "category_id": 2, "segmentation": [], "bbox": [2, 3, 4, 5]},
  {"id": 4, "image_id": 1, "category_id": 3, "keypoints": [5, 6, 2, 0, 0, 0],
   "num_keypoints": 1, "bbox": [5, 6, 0, 0]}]
})";

TEST(AnnotationDatasetTest, ForeignPolygonFileImports) {
  auto b = storage::Store::OpenInMemory();
  AddPatient(*b, "P009");
  const CocoDataset d = annotation::ParseCoco(kCvat);
  CocoImportOptions o;
  const std::string png = PhotoPng(kSize, 5);
  o.new_captures.push_back({CaptureFacts("P009", kSize, png), png});
  const CocoImportReport r = ImportCocoDataset(*b, d, o, "cli");
  EXPECT_EQ(r.captures_created, 1);
  EXPECT_EQ(r.annotations_imported, 1);  // one annotator (unnamed): one annotation
  const auto capture = b->repository().FindCapture(r.capture_ids[0]);
  const auto v = b->repository().FindAnnotation(capture->id, "coco:unknown");
  ASSERT_TRUE(v);
  const AnnotationContent c = LoadAnnotationContent(*b, *capture, *v);
  ASSERT_EQ(c.masks.count(MaskClass::kPsoriasisPlaque), 1U);
  const cv::Mat expected =
      annotation::RasterisePolygons({{10, 10, 30, 10, 30, 20, 10, 20}}, kSize) |
      annotation::RasterisePolygons({{40, 30, 45, 30, 45, 35}}, kSize);
  EXPECT_EQ(cv::countNonZero(c.masks.at(MaskClass::kPsoriasisPlaque) != expected), 0);
  EXPECT_EQ(cv::countNonZero(expected), 21 * 11 + 21);  // edges included: 231 + a triangle
  EXPECT_EQ(c.masks.size(), 1U);                        // the exclude annotation is a box
  ASSERT_EQ(c.boxes.size(), 1U);
  EXPECT_EQ(c.boxes[0].mask_class, MaskClass::kExclude);
  EXPECT_EQ(c.boxes[0].height, 5);
  ASSERT_EQ(c.keypoints.size(), 1U);  // the unlabelled elbow (visibility 0) is no keypoint
  EXPECT_EQ(c.keypoints[0].name, "navel");
  EXPECT_EQ(c.keypoints[0].x, 5);
}

TEST(AnnotationDatasetTest, BadContentIsRefusedWholeWithTheFirstProblemNamed) {
  Source a;
  CocoDataset d = BuildCocoDataset(*a.store, {}).dataset;
  for (auto& ann : d.annotations) ann.annotator = "second_" + ann.annotator.substr(6);
  d.images[0].annotator_labels.clear();
  // Two problems: the first image's labels, then a keypoint outside the second image.
  d.images[0].annotator_labels["x"] = {{"erythema", "7"}};
  d.images[1].annotator_labels.clear();
  for (auto& ann : d.annotations) {
    if (ann.image_id != d.images[1].id) continue;
    for (auto& k : ann.keypoints) {
      if (k.visibility > 0) k.x = 500;
    }
  }
  const Counts before = CountStored(*a.store);
  const std::string refusal = RefusalOf([&] { ImportCocoDataset(*a.store, d, {}, "cli"); });
  EXPECT_NE(refusal.find("invalid_argument"), std::string::npos) << refusal;
  EXPECT_NE(refusal.find("images[0]"), std::string::npos) << refusal;
  EXPECT_NE(refusal.find("coco:x"), std::string::npos) << refusal;
  EXPECT_NE(refusal.find("erythema"), std::string::npos) << refusal;
  EXPECT_NE(refusal.find("nothing was imported"), std::string::npos) << refusal;
  EXPECT_TRUE(CountStored(*a.store) == before);

  // With the first fixed, the second is named, and still nothing is written.
  d.images[0].annotator_labels.clear();
  const std::string second = RefusalOf([&] { ImportCocoDataset(*a.store, d, {}, "cli"); });
  EXPECT_NE(second.find("images[1]"), std::string::npos) << second;
  EXPECT_NE(second.find("keypoints"), std::string::npos) << second;
  EXPECT_TRUE(CountStored(*a.store) == before);
}

TEST(AnnotationDatasetTest, UnresolvedImagesAndCategoriesAreRefusedBeforeAnyWrite) {
  Source a;
  const Counts before = CountStored(*a.store);
  CocoDataset d = BuildCocoDataset(*a.store, {}).dataset;
  for (auto& ann : d.annotations) ann.annotator = "other";
  d.images[1].capture_id = 999;  // the first image is fine: it must not be imported alone
  std::string refusal = RefusalOf([&] { ImportCocoDataset(*a.store, d, {}, "cli"); });
  EXPECT_NE(refusal.find("not_found"), std::string::npos) << refusal;
  EXPECT_NE(refusal.find("images[1]"), std::string::npos) << refusal;
  EXPECT_TRUE(CountStored(*a.store) == before);

  d.images[1].capture_id = a.captures[1].id;
  d.images[1].width = 65;
  refusal = RefusalOf([&] { ImportCocoDataset(*a.store, d, {}, "cli"); });
  EXPECT_NE(refusal.find("images[1]"), std::string::npos) << refusal;
  EXPECT_NE(refusal.find("65x48"), std::string::npos) << refusal;

  d.images[1].width = 64;
  d.categories[0].name = "tattoo";
  refusal = RefusalOf([&] { ImportCocoDataset(*a.store, d, {}, "cli"); });
  EXPECT_NE(refusal.find("'tattoo' is not a mask class"), std::string::npos) << refusal;
  EXPECT_TRUE(CountStored(*a.store) == before);
}

TEST(AnnotationDatasetTest, AnnotationStoredWithOtherContentIsAConflict) {
  Source a;
  CocoDataset d = BuildCocoDataset(*a.store, {}).dataset;
  const Counts before = CountStored(*a.store);
  // kAuthorB is "coco:dr.smith" already: importing its annotation with other content collides.
  for (auto& ann : d.annotations) {
    if (ann.annotator == kAuthorB && ann.bbox && !ann.segmentation) ann.bbox->x += 1;
  }
  const std::string refusal = RefusalOf([&] { ImportCocoDataset(*a.store, d, {}, "cli"); });
  EXPECT_NE(refusal.find("conflict"), std::string::npos) << refusal;
  EXPECT_NE(refusal.find("already has an annotation by coco:dr.smith"), std::string::npos)
      << refusal;
  EXPECT_TRUE(CountStored(*a.store) == before);
}

TEST(AnnotationDatasetTest, CoordinatorExportIsPseudonymised) {
  Source a;
  CocoExportOptions o;
  o.pseudonymise = PseudonymKey{PseudonymKey::Scheme::kHmacSha256, std::string(64, 'a')};
  o.condition = Condition::kPsoriasis;
  const CocoExport e = BuildCocoDataset(*a.store, o);
  const std::string text = annotation::WriteCoco(e.dataset);
  EXPECT_EQ(text.find("P001"), std::string::npos);
  EXPECT_EQ(text.find("smith"), std::string::npos);
  EXPECT_NE(text.find(SubjectId(*o.pseudonymise, "P001")), std::string::npos);
  EXPECT_NE(text.find(kAuthorA), std::string::npos);  // token ids are opaque already
  bool opaque = false;
  for (const auto& ann : e.dataset.annotations) opaque |= ann.annotator.rfind("A-", 0) == 0;
  EXPECT_TRUE(opaque);

  o.condition = Condition::kVitiligo;
  EXPECT_TRUE(BuildCocoDataset(*a.store, o).dataset.images.empty());
}

}  // namespace
}  // namespace skintrack::pipeline
