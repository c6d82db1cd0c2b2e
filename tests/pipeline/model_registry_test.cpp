// The models of a data directory: train from the stored corrected masks, list, activate (the
// pipeline then segments with it), evaluate (the card), rescore (new versions appended), and the
// bad inputs (unknown id, wrong condition, empty training set: a clear error, nothing written).
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>

#include "phantom_store.h"
#include "skintrack/core/error.h"
#include "skintrack/pipeline/model_training.h"
#include "skintrack/pipeline/models.h"

namespace skintrack::pipeline {
namespace {

namespace fs = std::filesystem;
using nlohmann::json;

class ModelRegistryTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ =
        fs::temp_directory_path() /
        ("skintrack-models-" + std::to_string(::testing::UnitTest::GetInstance()->random_seed()) +
         "-" + ::testing::UnitTest::GetInstance()->current_test_info()->name());
    fs::remove_all(dir_);
    fs::create_directories(dir_);
    store_ = storage::Store::OpenInMemory();
  }
  void TearDown() override { fs::remove_all(dir_); }

  // Four single-visit phantom patients, each processed and corrected by a clinician (the truth).
  void StoreCorrectedPhantoms() {
    for (int p = 0; p < 4; ++p) {
      const phantom::Series s = testing::SmallSeries(50 + p, 1, {320, 240}, 2 + p);
      const auto ids = testing::StoreSeries(*store_, "M" + std::to_string(p), "trunk-anterior", s);
      testing::AppendCorrectedMask(*store_, ids[0], s.visits[0].lesion_mask);
    }
    ASSERT_EQ(testing::DrainQueue(*store_, PipelineOptions{}), 4);
  }

  ModelTrainRequest Request() const {
    ModelTrainRequest r;
    r.condition = Condition::kPsoriasis;
    r.seed = 3;
    r.actor = "test";
    r.train.work_max_side = 160;  // small and quick: the test is about the loop, not accuracy
    r.train.samples_per_image = 1500;
    r.train.trees = 6;
    r.train.max_depth = 10;
    r.train.context_folds = 2;
    return r;
  }

  fs::path dir_;
  std::unique_ptr<storage::Store> store_;
};

TEST_F(ModelRegistryTest, TrainListActivateEvaluateRescore) {
  StoreCorrectedPhantoms();
  ModelRegistry registry(dir_);
  const ModelTrainOutcome trained =
      TrainModel(store_->repository(), store_->blobs(), registry, Request());
  EXPECT_EQ(trained.model.images, 3);
  EXPECT_EQ(trained.model.held_out.size(), 1u);
  EXPECT_TRUE(fs::exists(registry.dir() / trained.model.file));
  // Registered, recorded, not active; the same set and seed again is refused.
  ModelRegistryState state = registry.Read();
  ASSERT_EQ(state.models.size(), 1u);
  EXPECT_EQ(state.models[0].trained_on, trained.model.trained_on);
  EXPECT_TRUE(state.active.empty());
  EXPECT_THROW(TrainModel(store_->repository(), store_->blobs(), registry, Request()), Error);
  // Another recipe (a build with other defaults) on the same set and seed is another model.
  ModelTrainRequest other = Request();
  other.train.trees = 5;
  const ModelTrainOutcome retrained =
      TrainModel(store_->repository(), store_->blobs(), registry, other);
  EXPECT_NE(retrained.model.id, trained.model.id);
  ASSERT_EQ(registry.Read().models.size(), 2u);

  // Activation: the pipeline segments new work with it (the model id in the provenance).
  EXPECT_THROW(
      ActivateModel(store_->repository(), registry, trained.model.id, Condition::kVitiligo, "test"),
      Error);
  EXPECT_THROW(ActivateModel(store_->repository(), registry, "nope", Condition::kPsoriasis, "test"),
               Error);
  EXPECT_TRUE(registry.Read().active.empty());
  ActivateModel(store_->repository(), registry, trained.model.id, Condition::kPsoriasis, "test");
  EXPECT_EQ(registry.Read().active.at("psoriasis"), trained.model.id);
  int audited = 0;
  for (const auto& a : store_->repository().ListAudit({})) {
    audited += a.object == "model:" + trained.model.id;
  }
  EXPECT_EQ(audited, 2);  // model.train, model.activate

  // The card: Dice on the held-out capture, per ITA group, JSON + HTML.
  const ModelCard card =
      EvaluateModel(store_->repository(), store_->blobs(), registry, trained.model.id);
  ASSERT_EQ(card.capture_ids, trained.model.held_out);
  EXPECT_GT(card.scores[0].dice, 0.5);
  const json j = json::parse(std::ifstream(card.json_path));
  EXPECT_EQ(j["model"]["id"], trained.model.id);
  EXPECT_EQ(j["groups"][0]["group"], "all");
  EXPECT_TRUE(fs::exists(card.html_path));
  EXPECT_THROW(EvaluateModel(store_->repository(), store_->blobs(), registry, "nope"), Error);

  // Rescore: requeued, segmented with the active model as new versions (earlier ones kept). The
  // clinician-corrected captures keep their masks; a new uncorrected capture shows the model.
  const phantom::Series extra = testing::SmallSeries(60, 1, {320, 240});
  const auto extra_id = testing::StoreSeries(*store_, "M9", "trunk-anterior", extra)[0];
  PipelineOptions options;
  options.models = std::make_shared<ActiveModels>(dir_);
  ASSERT_EQ(testing::DrainQueue(*store_, options), 1);
  RescoreSelection all;
  all.all = true;
  EXPECT_EQ(RequeueForRescore(store_->repository(), all, "model rescore", "test"), 5);
  ASSERT_EQ(testing::DrainQueue(*store_, options), 5);
  const auto masks =
      store_->repository().ResultHistory(extra_id, storage::ResultKind::kMask, result::kLesionMask);
  ASSERT_EQ(masks.size(), 2u);
  EXPECT_EQ(json::parse(masks[1].provenance_json)["model_id"], trained.model.id);
  EXPECT_EQ(store_->repository()
                .ResultHistory(extra_id, storage::ResultKind::kScore, result::kPasiSite)
                .size(),
            2u);
}

TEST_F(ModelRegistryTest, BadInputsAreClearErrorsAndWriteNothing) {
  ModelRegistry registry(dir_);
  // Empty training set: no corrected mask stored.
  try {
    TrainModel(store_->repository(), store_->blobs(), registry, Request());
    FAIL() << "trained on nothing";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("not enough clinician-corrected psoriasis"),
              std::string::npos)
        << e.what();
  }
  EXPECT_FALSE(fs::exists(registry.dir()));
  EXPECT_THROW(ActivateModel(store_->repository(), registry, "psoriasis-0-s1",
                             Condition::kPsoriasis, "test"),
               Error);
  EXPECT_FALSE(fs::exists(registry.registry_path()));
  RescoreSelection none;
  EXPECT_THROW(RequeueForRescore(store_->repository(), none, "r", "test"), Error);
  none.patient_id = "nobody";
  EXPECT_THROW(RequeueForRescore(store_->repository(), none, "r", "test"), Error);
  // A registry that does not parse is named in the error.
  fs::create_directories(registry.dir());
  std::ofstream(registry.registry_path()) << "{not json";
  try {
    registry.Read();
    FAIL();
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("registry.json"), std::string::npos);
  }
  // The pipeline then falls back to the classical segmenter.
  ActiveModels active(dir_);
  EXPECT_EQ(active.For(Condition::kPsoriasis), nullptr);
}

}  // namespace
}  // namespace skintrack::pipeline
