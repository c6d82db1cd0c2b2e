// Agreement of labels: the per-capture figures stored with a consensus, and the dataset's
// Krippendorff's alpha per label against the published example (Krippendorff 2011, 4 observers,
// 12 units, missing data: nominal 0.743, ordinal 0.815) arranged as annotations in a store.
#include "skintrack/pipeline/annotation_agreement.h"

#include <gtest/gtest.h>

#include <nlohmann/json.hpp>
#include <opencv2/imgproc.hpp>

#include "annotation_fixture.h"
#include "phantom_store.h"
#include "skintrack/pipeline/annotations.h"
#include "skintrack/pipeline/results.h"

namespace skintrack::pipeline {
namespace {

using annotation::AnnotationAction;
using annotation::AnnotationContent;
using annotation::ReviewDecision;
using nlohmann::json;
using storage::Role;

const Annotator kAdmin{"token:admin1", Role::kAdmin};

// Krippendorff (2011), by observer and unit; 0 is a missing rating.
constexpr int kExample[4][12] = {{1, 2, 3, 3, 2, 1, 4, 1, 2, 0, 0, 0},
                                 {1, 2, 3, 3, 2, 2, 4, 1, 2, 5, 0, 3},
                                 {0, 3, 3, 3, 2, 3, 4, 2, 2, 5, 1, 0},
                                 {1, 2, 3, 3, 2, 4, 4, 1, 2, 5, 1, 0}};
const char* const kSubtypes[] = {"plaque", "guttate", "inverse", "pustular", "erythrodermic"};

std::string Author(int observer) { return "token:obs" + std::to_string(observer + 1); }

// An observer's rating v (1..5) as labels: the same category as a subtype (nominal), an image
// quality (1..5) and an erythema grade (0..4; ordinal alpha does not change with a shift).
AnnotationContent Rated(int v) {
  AnnotationContent c;
  c.labels.diagnosis = Condition::kPsoriasis;
  c.labels.subtype = kSubtypes[v - 1];
  c.labels.image_quality = v;
  c.labels.erythema = v - 1;
  return c;
}

class LabelAgreementTest : public ::testing::Test {
 protected:
  void SetUp() override {
    store_ = storage::Store::OpenInMemory();
    testing::AddPatient(*store_, "P1");
    for (int u = 0; u < 12; ++u) {
      captures_.push_back(testing::StoreCapture(*store_, "P1", {24, 16}, u));
      for (int o = 0; o < 4; ++o) {
        // A missing rating: the observer did not annotate the capture.
        if (kExample[o][u] != 0)
          testing::Submit(*store_, captures_[u], Author(o), Rated(kExample[o][u]));
      }
    }
  }

  const LabelAgreement& Label(const DatasetAgreement& a, LabelField f) {
    for (const LabelAgreement& l : a.labels) {
      if (l.field == f) return l;
    }
    throw std::logic_error("no such label");
  }

  std::unique_ptr<storage::Store> store_;
  std::vector<storage::Capture> captures_;
};

TEST_F(LabelAgreementTest, AlphaPerLabelIsThePublishedExample) {
  const DatasetAgreement a = ComputeDatasetAgreement(*store_, {});
  EXPECT_EQ(a.captures, 12);
  ASSERT_EQ(a.labels.size(), 8U);
  const LabelAgreement& subtype = Label(a, LabelField::kSubtype);
  ASSERT_TRUE(subtype.alpha);
  EXPECT_NEAR(*subtype.alpha, 0.743, 0.0005);
  // Unit 12 has one rating: 11 units, 40 ratings of 41 given.
  EXPECT_EQ(subtype.units, 11);
  EXPECT_EQ(subtype.ratings, 40);
  for (LabelField f : {LabelField::kImageQuality, LabelField::kErythema}) {
    ASSERT_TRUE(Label(a, f).alpha) << LabelFieldName(f);
    EXPECT_NEAR(*Label(a, f).alpha, 0.815, 0.0005) << LabelFieldName(f);
  }
  // Everyone said psoriasis: alpha 1, nobody disagrees.
  EXPECT_DOUBLE_EQ(*Label(a, LabelField::kDiagnosis).alpha, 1.0);
  // Labels nobody set.
  const LabelAgreement& monk = Label(a, LabelField::kMonk);
  EXPECT_FALSE(monk.alpha);
  EXPECT_EQ(monk.units, 0);
  EXPECT_TRUE(monk.per_annotator.empty());
  EXPECT_FALSE(a.lesion_pairwise_dice_mean);
}

TEST_F(LabelAgreementTest, EachAnnotatorAgainstTheOthersByHand) {
  const DatasetAgreement a = ComputeDatasetAgreement(*store_, {});
  const LabelAgreement& q = Label(a, LabelField::kImageQuality);
  ASSERT_EQ(q.per_annotator.size(), 4U);
  // Observer 1 rated units 1-9, each with others; disagreed only on 6 (1 vs 2, 3, 4: 0 of 3).
  // Unit 1: others 1 and 1 (obs 3 missing): 1. Units 2: 2,3,2 -> 2/3. Unit 8: 1,2,1 -> 2/3.
  EXPECT_EQ(q.per_annotator[0].author, "token:obs1");
  EXPECT_EQ(q.per_annotator[0].units, 9);
  EXPECT_NEAR(*q.per_annotator[0].agreement_with_others,
              (1 + 2.0 / 3 + 1 + 1 + 1 + 0 + 1 + 2.0 / 3 + 1) / 9, 1e-12);
  // Observer 3 did not rate unit 1; unit 12's lone rating by observer 2 is not paired.
  EXPECT_EQ(q.per_annotator[2].units, 10);
  EXPECT_EQ(q.per_annotator[1].units, 10);
}

TEST_F(LabelAgreementTest, OnlyAnnotationsThatCountAreRated) {
  // A draft and a rejected annotation that disagree with everything change nothing.
  AnnotationContent odd = Rated(5);
  ChangeOwnAnnotation(*store_, captures_[0], {"token:drafter", Role::kAnnotator},
                      AnnotationAction::kSaveDraft, odd, "", 0);
  const auto rejected = testing::Submit(*store_, captures_[1], "token:rejected", odd);
  ReviewAnnotation(*store_, captures_[1], rejected.annotation_id, kAdmin, ReviewDecision::kRejected,
                   {}, "", 1);
  const DatasetAgreement a = ComputeDatasetAgreement(*store_, {});
  EXPECT_NEAR(*Label(a, LabelField::kSubtype).alpha, 0.743, 0.0005);
  EXPECT_EQ(Label(a, LabelField::kSubtype).per_annotator.size(), 4U);
  // No vitiligo captures: nothing to rate.
  DatasetAgreementOptions vitiligo;
  vitiligo.condition = Condition::kVitiligo;
  const DatasetAgreement none = ComputeDatasetAgreement(*store_, vitiligo);
  EXPECT_EQ(none.captures, 0);
  EXPECT_FALSE(Label(none, LabelField::kSubtype).alpha);
}

TEST_F(LabelAgreementTest, DatasetJsonNamesEveryLabel) {
  const json j = DatasetAgreementJson(ComputeDatasetAgreement(*store_, {}));
  EXPECT_EQ(j["captures"], 12);
  EXPECT_EQ(j["labels"].size(), 8U);
  EXPECT_EQ(j["labels"]["subtype"]["metric"], "nominal");
  EXPECT_EQ(j["labels"]["erythema"]["metric"], "ordinal");
  EXPECT_NEAR(j["labels"]["erythema"]["alpha"].get<double>(), 0.815, 0.0005);
  EXPECT_TRUE(j["labels"]["monk"]["alpha"].is_null());
  EXPECT_EQ(j["labels"]["image_quality"]["per_annotator"][3]["author"], "token:obs4");
  EXPECT_TRUE(j["lesion_pairwise_dice_mean"].is_null());
}

// The consensus stores each input annotator's labels and their agreement on this capture.
TEST(CaptureLabelAgreement, StoredWithTheConsensus) {
  auto store = storage::Store::OpenInMemory();
  const phantom::Series series = testing::SmallSeries(43, 1, {160, 120});
  const auto ids = testing::StoreSeries(*store, "P1", "left-forearm", series);
  const storage::Capture c = *store->repository().FindCapture(ids[0]);
  const PipelineOptions options;
  ASSERT_EQ(testing::DrainQueue(*store, options), 1);
  const int erythema[] = {2, 2, 3};
  const int monk[] = {5, 0, 0};  // only the first sets it: not reported
  for (int i = 0; i < 3; ++i) {
    AnnotationContent content;
    content.masks[annotation::MaskClass::kPsoriasisPlaque] = series.visits[0].lesion_mask;
    content.labels.erythema = erythema[i];
    content.labels.subtype = i == 2 ? "guttate" : "plaque";
    content.labels.diagnosis = Condition::kPsoriasis;
    if (monk[i] != 0) content.labels.monk = monk[i];
    testing::Submit(*store, c, Author(i), content);
  }
  const CaptureConsensus out =
      BuildCaptureConsensus(*store, c, scoring::ConsensusMethod::kMajority, kAdmin, options);
  const json labels = json::parse(out.agreement.payload_json)["labels"];
  ASSERT_TRUE(labels.contains("erythema")) << labels.dump();
  const json& e = labels["erythema"]["per_annotator"];
  ASSERT_EQ(e.size(), 3U);
  for (int i = 0; i < 3; ++i) {
    EXPECT_EQ(e[i]["author"], Author(i));
    EXPECT_EQ(e[i]["value"], erythema[i]);
  }
  EXPECT_DOUBLE_EQ(e[0]["agreement_with_others"].get<double>(), 0.5);
  EXPECT_DOUBLE_EQ(e[1]["agreement_with_others"].get<double>(), 0.5);
  EXPECT_DOUBLE_EQ(e[2]["agreement_with_others"].get<double>(), 0.0);
  EXPECT_EQ(labels["subtype"]["per_annotator"][2]["value"], "guttate");
  EXPECT_DOUBLE_EQ(labels["diagnosis"]["per_annotator"][0]["agreement_with_others"].get<double>(),
                   1.0);
  EXPECT_FALSE(labels.contains("monk"));
  EXPECT_FALSE(labels.contains("induration"));

  // The dataset figure takes the stored pairwise lesion Dice (identical masks: 1).
  const DatasetAgreement a = ComputeDatasetAgreement(*store, {});
  EXPECT_EQ(a.lesion_dice_captures, 1);
  ASSERT_TRUE(a.lesion_pairwise_dice_mean);
  EXPECT_DOUBLE_EQ(*a.lesion_pairwise_dice_mean, *out.agreement.value);
}

}  // namespace
}  // namespace skintrack::pipeline
