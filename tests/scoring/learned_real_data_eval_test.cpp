// The learned segmenter on real photos (label `eval`): trains and cross-validates on
// SKINTRACK_SHARED_DATA_DIR (../shared/data), skips with a message when it is absent, prints the
// figures beside the classical segmenter's and the human bar, and asserts floors a little under
// the figures measured on 2026-12-01 (docs/learned-segmentation.md). Photos are only read.
#include <gtest/gtest.h>

#include <cstdio>
#include <filesystem>
#include <nlohmann/json.hpp>

#include "../support/run_cli.h"
#include "skintrack/scoring/learned_dataset.h"
#include "skintrack/scoring/learned_eval.h"

namespace skintrack::scoring {
namespace {

namespace fs = std::filesystem;
const fs::path kData = SKINTRACK_SHARED_DATA_DIR;

// Floors: measured figure minus about 0.02 (the figures are deterministic for the seed and do not
// depend on the thread count; the margin absorbs a different OpenCV build's JPEG decoder).
// Measured: psoriasis 5-fold 0.682, share error 9.6 points (one tone copy, six phantom scenes;
// 0.669 and 12.6 without the scenes, 0.661 and 12.2 without either), halves 0.735 (threshold
// tuned on each reference; 0.718 at a fixed 0.5); skin ECU
// 3-fold 0.741; vitiligo rough 5-fold (+DermX) 0.545; vitiligo DermX 5-fold (+rough) 0.546.
constexpr double kPsoriasisCvFloor = 0.66;
constexpr double kPsoriasisCvShareErrorCeiling = 11.5;  // points of the image
constexpr double kPsoriasisHalvesFloor = 0.715;
constexpr double kVitiligoDermxCvFloor = 0.52;
constexpr double kVitiligoRoughCvFloor = 0.52;
constexpr double kSkinEcuCvFloor = 0.72;

bool Present(const fs::path& p) {
  if (fs::is_directory(p)) return true;
  std::printf("skipping: %s is absent\n", p.string().c_str());
  return false;
}

std::vector<LabelledImage> Images(const std::vector<AnnotatedPhoto>& photos) {
  std::vector<LabelledImage> v;
  v.reserve(photos.size());
  for (const auto& p : photos) v.push_back(p.image);
  return v;
}

std::vector<std::string> Sources(const std::vector<LabelledImage>& photos) {
  std::vector<std::string> v;
  v.reserve(photos.size());
  for (const auto& p : photos) v.push_back(SourceKey(p.name));
  return v;
}

// Scores `masks` against the photos' references, prints every group and returns the whole set's.
GroupSummary Report(const char* what, const std::vector<LabelledImage>& photos,
                    const std::vector<cv::Mat>& masks, LearnedTarget target,
                    const std::vector<AnnotatedPhoto>* annotated = nullptr) {
  std::vector<PhotoScore> scores;
  for (size_t i = 0; i < photos.size(); ++i) {
    scores.push_back(ScorePhoto(photos[i].name, photos[i].bgr, masks[i], photos[i].mask, target));
    if (annotated) scores.back().human = HumanAgreement((*annotated)[i]);
  }
  const auto summary = Summarise(scores);
  for (const GroupSummary& g : summary) {
    std::printf("%-28s %-13s n=%-3d dice %.3f median %.3f |share err| %.1f pts", what,
                g.group.c_str(), g.photos, g.dice_mean, g.dice_median, g.abs_share_error_points);
    if (g.human_mean) std::printf(" human %.3f", *g.human_mean);
    std::printf("\n");
  }
  const auto gap = GroupGap(summary);
  std::printf("%-28s ITA gap %s\n", what, gap ? std::to_string(*gap).c_str() : "n/a");
  return summary[0];
}

TEST(LearnedRealData, PsoriasisDermxCrossValidatedAndHalves) {
  const fs::path dir = kData / "psoriasis/dermx";
  if (!Present(dir)) GTEST_SKIP() << dir << " absent";
  const auto annotated = LoadAnnotatorFolder(
      (dir / "images").string(), (dir / "annotators").string(), LearnedTarget::kPsoriasis);
  const auto photos = Images(annotated);
  LearnedTrainOptions o;
  o.target = LearnedTarget::kPsoriasis;
  const CrossValidation cv = CrossValidate(photos, o, 5);
  std::printf("psoriasis 5-fold: training %.1f s, prediction %.1f s (wall)\n", cv.train_seconds,
              cv.predict_seconds);
  const GroupSummary all = Report("psoriasis dermx 5-fold", photos, cv.masks, o.target, &annotated);
  EXPECT_GE(all.dice_mean, kPsoriasisCvFloor);
  EXPECT_LE(all.abs_share_error_points, kPsoriasisCvShareErrorCeiling);

  std::vector<LabelledImage> rights;
  std::vector<cv::Mat> masks;
  for (const auto& p : photos) {
    const HalvesOutcome h = SegmentRightHalf(p, ReferenceOptions{});
    rights.push_back({p.name, h.right, h.truth});
    masks.push_back(h.predicted);
  }
  EXPECT_GE(Report("psoriasis dermx halves", rights, masks, o.target).dice_mean,
            kPsoriasisHalvesFloor);
}

TEST(LearnedRealData, VitiligoDermxAndRoughLabelsCrossValidated) {
  const fs::path dermx = kData / "vitiligo/dermx", rough = kData / "vitiligo";
  if (!Present(dermx) || !Present(rough / "images")) GTEST_SKIP() << "vitiligo sets absent";
  const auto annotated = LoadAnnotatorFolder(
      (dermx / "images").string(), (dermx / "annotators").string(), LearnedTarget::kVitiligo);
  const auto dermx_photos = Images(annotated);
  const auto rough_photos = LoadMaskFolder((rough / "images").string(), (rough / "masks").string());
  LearnedTrainOptions o;
  o.target = LearnedTarget::kVitiligo;
  // Each set scored by 5-fold over its own photos, the other set always in the training folds.
  const CrossValidation on_dermx = CrossValidate(dermx_photos, o, 5, {}, rough_photos);
  EXPECT_GE(
      Report("vitiligo dermx 5-fold (+rough)", dermx_photos, on_dermx.masks, o.target, &annotated)
          .dice_mean,
      kVitiligoDermxCvFloor);
  const CrossValidation on_rough =
      CrossValidate(rough_photos, o, 5, Sources(rough_photos), dermx_photos);
  EXPECT_GE(
      Report("vitiligo rough 5-fold (+dermx)", rough_photos, on_rough.masks, o.target).dice_mean,
      kVitiligoRoughCvFloor);
}

TEST(LearnedRealData, SkinEcuCrossValidated) {
  const fs::path dir = kData / "skin/ecu";
  if (!Present(dir)) GTEST_SKIP() << dir << " absent";
  // Some masks of the skin sets were resampled (grey edge values): thresholded at 128.
  const auto photos =
      LoadMaskFolder((dir / "images").string(), (dir / "masks").string(), /*binarise=*/true);
  LearnedTrainOptions o;
  o.target = LearnedTarget::kSkin;
  const CrossValidation cv = CrossValidate(photos, o, 3);
  EXPECT_GE(Report("skin ecu 3-fold", photos, cv.masks, o.target).dice_mean, kSkinEcuCvFloor);
}

TEST(LearnedRealData, TrainCommandOnDermxWritesAModelThatLoads) {
  const fs::path dir = kData / "psoriasis/dermx";
  if (!Present(dir)) GTEST_SKIP() << dir << " absent";
  skintrack::testing::TempDir tmp("learned_real_train");
  const std::string model = tmp.str() + "/psoriasis.sktseg";
  const auto r = skintrack::testing::RunCli(
      "train --condition psoriasis --images " + (dir / "images").string() + " --annotators " +
      (dir / "annotators").string() + " --out " + model + " --json");
  ASSERT_EQ(r.exit_code, 0) << r.err;
  const auto j = nlohmann::json::parse(r.out);
  std::printf("train: %d photos in %.1f s (CPU %.1f s), validation Dice %.3f on %d photos\n",
              j["training_images"].get<int>(), j["train_seconds"].get<double>(),
              j["train_cpu_seconds"].get<double>(),
              j["validation_summary"]["groups"][0]["dice_mean"].get<double>(),
              j["validation_images"].get<int>());
  EXPECT_LT(j["train_seconds"].get<double>(), 600.0);
  EXPECT_NO_THROW(LearnedModel::Load(model, LearnedTarget::kPsoriasis));
}

}  // namespace
}  // namespace skintrack::scoring
