// Patient-specific segmentation and the evaluation helpers on synthetic scenes.
#include "skintrack/scoring/learned_reference.h"

#include <gtest/gtest.h>

#include "learned_test_scenes.h"
#include "skintrack/core/colour.h"
#include "skintrack/core/error.h"
#include "skintrack/scoring/learned_eval.h"

namespace skintrack::scoring {
namespace {

using testing::DiceOf;
using testing::TextureScene;

ReferenceOptions FastReference() {
  ReferenceOptions o;
  o.samples = 4000;
  o.trees = 6;
  o.max_depth = 10;
  return o;
}

TEST(ReferenceSegmenter, LearnsThePatientsLesionsFromOneReference) {
  const LabelledImage ref = TextureScene(7), follow_up = TextureScene(8);
  const auto seg = MakeReferenceSegmenter({ref.bgr, ref.mask, {}}, FastReference());
  EXPECT_GT(DiceOf(seg->Segment(follow_up.bgr).lesion_mask, follow_up.mask), 0.8);
  EXPECT_NE(seg->Name().find("patient forest"), std::string::npos);
  EXPECT_TRUE(seg->LearnedFromReference());
  // Provenance tells the tuned threshold (psoriasis) from the fixed one.
  EXPECT_EQ(seg->Name().rfind("reference-forest 2 (", 0), 0u) << seg->Name();
  EXPECT_NE(seg->Name().find("tuned on the reference"), std::string::npos);
  ReferenceOptions fixed = FastReference();
  fixed.tune_threshold = 0;
  EXPECT_EQ(MakeReferenceSegmenter({ref.bgr, ref.mask, {}}, fixed)
                ->Name()
                .rfind("reference-forest 1 (patient forest on classical features)", 0),
            0u);
}

TEST(ReferenceSegmenter, WithoutLesionsInTheReferenceFallsBackAndSaysSo) {
  const LabelledImage ref = TextureScene(7);
  const auto seg = MakeReferenceSegmenter({ref.bgr, cv::Mat::zeros(ref.bgr.size(), CV_8UC1), {}},
                                          FastReference());
  EXPECT_NE(seg->Name().find("nothing to learn"), std::string::npos);
  EXPECT_FALSE(seg->LearnedFromReference());
  EXPECT_EQ(seg->Segment(ref.bgr).lesion_mask.size(), ref.bgr.size());
}

TEST(ReferenceSegmenter, RefusesMismatchedMasks) {
  const LabelledImage ref = TextureScene(7);
  EXPECT_THROW(
      MakeReferenceSegmenter({ref.bgr, cv::Mat::zeros(5, 5, CV_8UC1), {}}, FastReference()), Error);
  ReferenceOptions o = FastReference();
  o.threshold = 1.5;
  EXPECT_THROW(MakeReferenceSegmenter({ref.bgr, ref.mask, {}}, o), Error);
}

// Scenes whose lesions are faint (speckle at 40 %): where lesion and skin pixels overlap, a fixed
// 0.5 on a forest fitted on half lesion pixels marks too much or too little; the threshold tuned
// on the reference (its halves scoring each other) fits the follow-ups better.
TEST(ReferenceSegmenter, ThresholdTunedOnTheReferenceForPsoriasisOnly) {
  auto faint = [](LabelledImage im) {
    cv::Mat f;
    im.bgr.convertTo(f, CV_32FC3);
    const cv::Scalar skin(150, 170, 215);  // the scenes' skin, BGR
    cv::Mat out = f.clone();
    cv::Mat(skin + 0.4 * (f - skin)).copyTo(out, im.mask);
    out.convertTo(im.bgr, CV_8UC3);
    return im;
  };
  double dice[2] = {0, 0};
  int moved = 0;
  for (int tune : {0, 1}) {
    for (int s = 0; s < 4; ++s) {
      const LabelledImage ref = faint(TextureScene(30 + 2 * s));
      const LabelledImage follow_up = faint(TextureScene(31 + 2 * s));
      ReferenceOptions o = FastReference();
      o.tune_threshold = tune;
      const Segmentation seg =
          MakeReferenceSegmenter({ref.bgr, ref.mask, {}}, o)->Segment(follow_up.bgr);
      dice[tune] += DiceOf(seg.lesion_mask, follow_up.mask) / 4;
      if (tune == 0) {
        EXPECT_EQ(seg.threshold, o.threshold);
      }
      EXPECT_GE(seg.threshold, 0.2 - 1e-9);
      EXPECT_LE(seg.threshold, 0.8 + 1e-9);
      moved += tune == 1 && seg.threshold != o.threshold;
    }
  }
  std::printf("faint lesions, follow-up Dice: threshold 0.5 %.3f, tuned %.3f\n", dice[0], dice[1]);
  EXPECT_GT(moved, 0);
  EXPECT_GT(dice[1], dice[0]);
  ReferenceOptions defaults;
  EXPECT_TRUE(defaults.TunesThreshold());  // psoriasis
  defaults.condition = Condition::kVitiligo;
  EXPECT_FALSE(defaults.TunesThreshold());  // measured to lose there
  const LabelledImage ref = TextureScene(7);
  ReferenceOptions vitiligo = FastReference();
  vitiligo.condition = Condition::kVitiligo;
  EXPECT_EQ(MakeReferenceSegmenter({ref.bgr, ref.mask, {}}, vitiligo)->Segment(ref.bgr).threshold,
            vitiligo.threshold);
  vitiligo.tune_threshold = 2;
  EXPECT_THROW(MakeReferenceSegmenter({ref.bgr, ref.mask, {}}, vitiligo), Error);
}

TEST(LearnedEval, HalvesProtocolScoresTheRightHalf) {
  const LabelledImage photo = TextureScene(9, {256, 128});
  const HalvesOutcome h = SegmentRightHalf(photo, FastReference());
  EXPECT_EQ(h.predicted.size(), cv::Size(128, 128));
  EXPECT_EQ(cv::countNonZero(h.truth != photo.mask(cv::Rect(128, 0, 128, 128))), 0);
}

TEST(LearnedEval, CrossValidationPredictsEveryPhotoAndSummarisesPerGroup) {
  LearnedTrainOptions o = testing::FastOptions();
  o.trees = 4;
  const auto photos = testing::TextureScenes(20, 4);
  const CrossValidation cv = CrossValidate(photos, o, 2);
  ASSERT_EQ(cv.masks.size(), 4u);
  std::vector<PhotoScore> scores;
  for (size_t i = 0; i < photos.size(); ++i) {
    ASSERT_EQ(cv.masks[i].size(), photos[i].bgr.size());
    scores.push_back(ScorePhoto(photos[i].name, photos[i].bgr, cv.masks[i], photos[i].mask,
                                LearnedTarget::kPsoriasis));
  }
  const auto summary = Summarise(scores);
  ASSERT_GE(summary.size(), 2u);
  EXPECT_EQ(summary[0].group, "all");
  EXPECT_EQ(summary[0].photos, 4);
  EXPECT_GT(summary[0].dice_mean, 0.7);
  EXPECT_THROW(CrossValidate(photos, o, 5), Error);
}

TEST(LearnedEval, GroupGapIsBestMinusWorstOfGroupsWithEnoughPhotos) {
  std::vector<GroupSummary> s = {{"all", 5, 0.6, 0.6, 0, {}},
                                 {"light", 2, 0.8, 0.8, 0, {}},
                                 {"tan", 2, 0.5, 0.5, 0, {}},
                                 {"dark", 1, 0.1, 0.1, 0, {}}};
  ASSERT_TRUE(GroupGap(s).has_value());
  EXPECT_NEAR(*GroupGap(s), 0.3, 1e-12);
  EXPECT_FALSE(GroupGap(s, 3).has_value());
  s.push_back({"uncertain", 3, 0.05, 0.05, 0, {}});  // no skin tone: not part of the gap
  EXPECT_NEAR(*GroupGap(s), 0.3, 1e-12);
}

// A photo under a purple cast has no yellow left in its skin: its ITA would put light skin
// among the darkest, so its tone group is "uncertain", summarised apart and after the six.
TEST(LearnedEval, ColourCastPhotosHaveNoToneGroup) {
  const cv::Mat mask(90, 120, CV_8UC1, cv::Scalar(255));
  const cv::Mat warm(mask.size(), CV_8UC3, cv::Scalar(120, 150, 200));    // BGR: skin
  const cv::Mat purple(mask.size(), CV_8UC3, cv::Scalar(150, 110, 135));  // b* < 0
  std::vector<PhotoScore> scores = {ScorePhoto("warm", warm, mask, mask, LearnedTarget::kSkin),
                                    ScorePhoto("purple", purple, mask, mask, LearnedTarget::kSkin)};
  EXPECT_NE(scores[0].ita_group, std::string(kToneUncertain));
  EXPECT_EQ(scores[1].ita_group, std::string(kToneUncertain));
  const auto summary = Summarise(scores);
  ASSERT_EQ(summary.size(), 3u);
  EXPECT_EQ(summary[1].group, scores[0].ita_group);
  EXPECT_EQ(summary[2].group, std::string(kToneUncertain));
}

}  // namespace
}  // namespace skintrack::scoring
