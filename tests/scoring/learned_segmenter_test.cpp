// The learned segmenter on synthetic scenes: it learns a texture rule the classical segmenter
// cannot express, is deterministic, round-trips through its file and refuses every bad file.
#include "skintrack/scoring/learned_segmenter.h"

#include <gtest/gtest.h>

#include <cstdio>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <opencv2/core/utility.hpp>

#include "../support/run_cli.h"
#include "learned_test_scenes.h"
#include "skintrack/core/error.h"
#include "skintrack/phantom/phantom.h"

namespace skintrack::scoring {
namespace {

using testing::DiceOf;
using testing::FastOptions;
using testing::TextureScene;
using testing::TextureScenes;
namespace fs = std::filesystem;
using testing::ErrorOf;

// One trained model shared by the tests (training is the slow part).
const LearnedModel& Model() {
  static const LearnedModel kModel = LearnedModel::Train(TextureScenes(0, 6), FastOptions());
  return kModel;
}

TEST(LearnedSegmenter, LearnsTextureTheClassicalSegmenterMisses) {
  double learned = 0, classical = 0;
  ClassicalSegmenterOptions so;
  so.condition = Condition::kPsoriasis;
  const auto baseline = MakeClassicalSegmenter(so);
  for (const LabelledImage& im : TextureScenes(100, 3)) {  // scenes the model has not seen
    learned += DiceOf(Model().PredictMask(im.bgr), im.mask) / 3;
    classical += DiceOf(baseline->Segment(im.bgr).lesion_mask, im.mask) / 3;
  }
  EXPECT_GT(learned, 0.85);
  EXPECT_LT(classical, 0.5);
  EXPECT_GE(Model().info().threshold, 0.2);
  EXPECT_LE(Model().info().threshold, 0.8);
}

TEST(LearnedSegmenter, SegmenterKeepsLesionsInsideSkinAndNamesTheModel) {
  const auto model = std::make_shared<const LearnedModel>(Model());
  const auto seg = MakeLearnedSegmenter(model)->Segment(TextureScene(101).bgr);
  EXPECT_EQ(cv::countNonZero(seg.lesion_mask & ~seg.skin_mask), 0);
  EXPECT_NE(seg.segmenter.find(model->info().Id()), std::string::npos);
  ASSERT_TRUE(seg.fraction_low && seg.fraction_high);
  EXPECT_LE(*seg.fraction_low, *seg.fraction_high);
  EXPECT_TRUE(seg.envelope_mask.empty());  // psoriasis has no envelope
  EXPECT_NE(ErrorOf([&] { MakeLearnedSegmenter(model, model); }).find("not a skin model"),
            std::string::npos);
}

TEST(LearnedSegmenter, SameSeedSameModelWhateverTheThreads) {
  const auto scenes = TextureScenes(0, 4);
  LearnedTrainOptions o = FastOptions();
  o.trees = 4;
  const int threads = cv::getNumThreads();
  cv::setNumThreads(1);
  const std::string one = LearnedModel::Train(scenes, o).Serialise();
  cv::setNumThreads(std::max(2, threads));
  const std::string many = LearnedModel::Train(scenes, o).Serialise();
  cv::setNumThreads(threads);
  EXPECT_EQ(one, many);
  o.seed = 2;
  EXPECT_NE(LearnedModel::Train(scenes, o).Serialise(), one);
}

TEST(LearnedSegmenter, FileRoundTripPredictsTheSame) {
  skintrack::testing::TempDir dir("learned_rt");
  const std::string path = dir.str() + "/m.sktseg";
  Model().Save(path);
  EXPECT_FALSE(fs::exists(path + ".tmp"));
  const LearnedModel back = LearnedModel::Load(path, LearnedTarget::kPsoriasis);
  EXPECT_EQ(back.info().Id(), Model().info().Id());
  EXPECT_EQ(back.info().threshold, Model().info().threshold);
  EXPECT_EQ(back.info().training_images, 6u);
  const cv::Mat img = TextureScene(102).bgr;
  EXPECT_EQ(cv::countNonZero(back.PredictMask(img) != Model().PredictMask(img)), 0);
}

// The id names the model, not only its training set and seed: a build whose recipe differs (here
// the phantom scenes) trains another model from the same set and seed, under another id, while
// the same training gives the same id.
TEST(LearnedSegmenter, IdTellsModelsOfOneSetAndSeedApart) {
  const auto scenes = TextureScenes(0, 3);
  LearnedTrainOptions o = FastOptions();
  o.trees = 3;
  o.phantom_scenes = 0;
  const LearnedModelInfo a = LearnedModel::Train(scenes, o).info();
  const LearnedModelInfo again = LearnedModel::Train(scenes, o).info();
  o.phantom_scenes = 1;
  const LearnedModelInfo b = LearnedModel::Train(scenes, o).info();
  EXPECT_EQ(a.training_set_hash, b.training_set_hash);
  EXPECT_EQ(a.Id(), again.Id());
  EXPECT_NE(a.Id(), b.Id());
  const std::string prefix = a.Id().substr(0, a.Id().rfind("-m"));
  EXPECT_EQ(prefix, b.Id().substr(0, b.Id().rfind("-m")));
  EXPECT_EQ(a.Id().size(), prefix.size() + 10);  // "-m" and 8 hex digits
}

class LearnedModelFile : public ::testing::Test {
 protected:
  std::string Write(const std::string& bytes) {
    std::ofstream(path_, std::ios::binary) << bytes;
    return path_;
  }
  skintrack::testing::TempDir dir_{"learned_bad"};
  std::string path_ = dir_.str() + "/bad.sktseg";
  std::string good_ = Model().Serialise();
};

TEST_F(LearnedModelFile, RefusesTruncated) {
  for (size_t keep : {size_t(4), size_t(30), good_.size() / 2, good_.size() - 1}) {
    const std::string msg = ErrorOf(
        [&] { LearnedModel::Load(Write(good_.substr(0, keep)), LearnedTarget::kPsoriasis); });
    EXPECT_NE(msg.find(path_), std::string::npos) << keep << ": " << msg;
    EXPECT_TRUE(msg.find("truncated") != std::string::npos ||
                msg.find("not a skintrack") != std::string::npos)
        << keep << ": " << msg;
  }
}

TEST_F(LearnedModelFile, RefusesOtherVersionsTargetsAndGarbage) {
  std::string v = good_;
  v[8] = 9;  // format version
  EXPECT_NE(ErrorOf([&] {
              LearnedModel::Load(Write(v), LearnedTarget::kPsoriasis);
            }).find("format version 9"),
            std::string::npos);
  v = good_;
  v[12] = 42;  // feature version
  EXPECT_NE(ErrorOf([&] {
              LearnedModel::Load(Write(v), LearnedTarget::kPsoriasis);
            }).find("feature version 42"),
            std::string::npos);
  const std::string wrong =
      ErrorOf([&] { LearnedModel::Load(Write(good_), LearnedTarget::kVitiligo); });
  EXPECT_NE(wrong.find("a psoriasis model, but a vitiligo model is needed"), std::string::npos)
      << wrong;
  v = good_;
  v[v.size() / 2] ^= 0x5A;  // a flipped byte inside the forests
  EXPECT_NE(
      ErrorOf([&] { LearnedModel::Load(Write(v), LearnedTarget::kPsoriasis); }).find("checksum"),
      std::string::npos);
  EXPECT_NE(ErrorOf([&] {
              LearnedModel::Load(Write("PNG..."), LearnedTarget::kPsoriasis);
            }).find("not a skintrack segmentation model"),
            std::string::npos);
  EXPECT_NE(ErrorOf([&] {
              LearnedModel::Load(dir_.str() + "/absent", LearnedTarget::kSkin);
            }).find("cannot read model file"),
            std::string::npos);
}

// `file` as an older format would have written it: the 4-byte fields at `offsets` (ascending)
// removed, `version` in the header, the checksum recomputed.
std::string AsOlderFormat(std::string file, uint32_t version, std::vector<size_t> offsets) {
  file.resize(file.size() - 8);  // the checksum
  for (auto it = offsets.rbegin(); it != offsets.rend(); ++it) file.erase(*it, 4);
  std::memcpy(file.data() + 8, &version, sizeof version);
  uint64_t h = 0xCBF29CE484222325ull;  // FNV-1a, the file's checksum
  for (const unsigned char c : file) h = (h ^ c) * 0x100000001B3ull;
  file.append(reinterpret_cast<const char*>(&h), sizeof h);
  return file;
}

// Files of format 2 (before the tone copies were recorded) and 3 (before the phantom scenes)
// still load, as models trained without them: the same forests, the same masks; 4 has 5's layout.
TEST_F(LearnedModelFile, ReadsFormats2To4AsModelsWithoutToneCopiesOrPhantoms) {
  ASSERT_EQ(Model().info().options.tone_copies, 1);  // the psoriasis defaults, recorded
  ASSERT_EQ(Model().info().options.phantom_scenes, 6);
  // Header: magic 8, format, features, target (3 x 4), hash 8, images 4, then the options, whose
  // last field before format 3's tone copies is the seed (ends at byte 93); format 4's phantom
  // scenes follow the tone copies.
  constexpr size_t kToneCopiesAt = 93, kPhantomScenesAt = 97;
  int32_t copies = 0, scenes = 0;
  std::memcpy(&copies, good_.data() + kToneCopiesAt, sizeof copies);
  std::memcpy(&scenes, good_.data() + kPhantomScenesAt, sizeof scenes);
  ASSERT_EQ(copies, 1);
  ASSERT_EQ(scenes, 6);
  const cv::Mat img = TextureScene(103).bgr;
  const LearnedModel v2 = LearnedModel::Load(
      Write(AsOlderFormat(good_, 2, {kToneCopiesAt, kPhantomScenesAt})), LearnedTarget::kPsoriasis);
  const LearnedModel v3 = LearnedModel::Load(Write(AsOlderFormat(good_, 3, {kPhantomScenesAt})),
                                             LearnedTarget::kPsoriasis);
  EXPECT_EQ(v2.info().format_version, 2u);
  EXPECT_EQ(v2.info().options.tone_copies, 0);
  EXPECT_EQ(v3.info().format_version, 3u);
  EXPECT_EQ(v3.info().options.tone_copies, 1);
  // Format 4 and older keep the id they were registered under: without the content part.
  const LearnedModel v4 =
      LearnedModel::Load(Write(AsOlderFormat(good_, 4, {})), LearnedTarget::kPsoriasis);
  const std::string id = Model().info().Id();
  EXPECT_EQ(v4.info().Id(), id.substr(0, id.rfind("-m")));
  EXPECT_EQ(v4.info().options.phantom_scenes, 6);
  for (const LearnedModel* old : {&v2, &v3}) {
    EXPECT_EQ(old->info().Id(), v4.info().Id());
    EXPECT_EQ(old->info().options.phantom_scenes, 0);
    EXPECT_EQ(old->info().threshold, Model().info().threshold);
    EXPECT_EQ(cv::countNonZero(old->PredictMask(img) != Model().PredictMask(img)), 0);
  }
}

// Tone copies teach skin tones the training photos do not show: trained on light skin only, the
// model finds the same lesions on darker skin far better with them.
TEST(LearnedSegmenter, ToneCopiesCarryTheModelToDarkerSkin) {
  auto darker = [](LabelledImage im) {
    cv::Mat f;
    im.bgr.convertTo(f, CV_32FC3, 1 / 255.0);
    cv::pow(f, 2.2, f);  // to linear, darkened as by melanin (more in blue), back to sRGB
    cv::multiply(f, cv::Scalar(0.22, 0.35, 0.5), f);
    cv::pow(f, 1 / 2.2, f);
    f.convertTo(im.bgr, CV_8UC3, 255.0);
    return im;
  };
  LearnedTrainOptions o = FastOptions();
  o.phantom_scenes = 0;  // they show darker skin too: the copies alone are measured here
  double dice[2] = {0, 0};
  for (int copies : {0, 1}) {
    o.tone_copies = copies;
    const LearnedModel m = LearnedModel::Train(TextureScenes(0, 6), o);
    EXPECT_EQ(m.info().options.tone_copies, copies);
    for (const LabelledImage& im : TextureScenes(100, 3)) {
      const LabelledImage dark = darker(im);
      dice[copies] += DiceOf(m.PredictMask(dark.bgr), dark.mask) / 3;
    }
  }
  std::printf("dark-skin Dice: without tone copies %.3f, with %.3f\n", dice[0], dice[1]);
  EXPECT_GT(dice[1], dice[0] + 0.1);
}

// Phantom scenes teach what the annotated photos rarely show: skin that is red in blotches without
// a plaque. On such skin (phantoms of other seeds, no lesion at all) a model trained on the texture
// scenes alone marks the blotches; with the phantom scenes added it leaves them.
TEST(LearnedSegmenter, PhantomScenesTeachThatBlotchyRednessIsNoPlaque) {
  LearnedTrainOptions o = FastOptions();
  o.tone_copies = 0;
  double share[2] = {0, 0};
  for (int with : {0, 1}) {
    o.phantom_scenes = with ? 6 : 0;
    const LearnedModel m = LearnedModel::Train(TextureScenes(0, 6), o);
    EXPECT_EQ(m.info().options.phantom_scenes, o.phantom_scenes);
    EXPECT_EQ(m.info().training_images, 6u);  // the user's photos; the phantoms are an option
    for (int k = 0; k < 3; ++k) {
      phantom::PhantomOptions po;
      po.visits = 1;
      po.seed = 500 + k;
      po.fitzpatrick = 2 + 2 * k;
      po.size = cv::Size(800, 600);
      po.lesions = false;
      po.diffuse_erythema = 6;
      const phantom::Visit v = phantom::GeneratePhantom(po).visits.front();
      const double skin = cv::countNonZero(v.skin_mask);
      share[with] += cv::countNonZero(m.PredictMask(v.image) & v.skin_mask) / skin / 3;
    }
  }
  std::printf("blotchy skin marked as lesion: without phantom scenes %.3f, with %.3f\n", share[0],
              share[1]);
  EXPECT_LT(share[1], 0.02);
  EXPECT_GT(share[0], share[1] + 0.05);
}

TEST(LearnedSegmenter, RefusesBadTrainingSets) {
  auto scenes = TextureScenes(0, 3);
  LearnedTrainOptions o = FastOptions();
  EXPECT_NE(ErrorOf([&] { LearnedModel::Train({scenes[0]}, o); }).find("at least 2"),
            std::string::npos);
  auto bad = scenes;
  bad[1].mask = cv::Mat::zeros(10, 10, CV_8UC1);
  EXPECT_NE(ErrorOf([&] { LearnedModel::Train(bad, o); }).find("scene1.png"), std::string::npos);
  bad = scenes;
  bad[2].mask = scenes[2].mask / 2;  // 0/127
  EXPECT_NE(
      ErrorOf([&] { LearnedModel::Train(bad, o); }).find("scene2.png: the mask is not binary"),
      std::string::npos);
  bad = scenes;
  for (auto& im : bad) im.mask.setTo(0);  // refused although the phantom scenes have lesions
  EXPECT_NE(ErrorOf([&] { LearnedModel::Train(bad, o); }).find("all empty"), std::string::npos);
  for (auto& im : bad) im.mask.setTo(255);
  EXPECT_NE(ErrorOf([&] { LearnedModel::Train(bad, o); }).find("all full"), std::string::npos);
  o.trees = 0;
  EXPECT_NE(ErrorOf([&] { LearnedModel::Train(scenes, o); }).find("trees"), std::string::npos);
}

TEST(LearnedSegmenter, SaveIntoMissingFolderFailsAndWritesNothing) {
  skintrack::testing::TempDir dir("learned_save");
  const std::string path = dir.str() + "/no/such/m.sktseg";
  EXPECT_NE(ErrorOf([&] { Model().Save(path); }).find("cannot write"), std::string::npos);
  EXPECT_TRUE(fs::is_empty(dir.str()));
}

}  // namespace
}  // namespace skintrack::scoring
