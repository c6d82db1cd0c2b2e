// The learning loop of a data directory (docs/models.md): train a model from the
// clinician-corrected lesion masks stored there, evaluate it on the corrected masks it did not
// train on (a model card per ITA group), and re-segment a chosen set of captures through the
// durable queue. These read the repository and the blobs and never write a result, so they work
// while a server owns the directory (the registry files and audit entries are their only writes).
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "skintrack/core/body_sites.h"
#include "skintrack/pipeline/models.h"
#include "skintrack/scoring/learned_eval.h"
#include "skintrack/scoring/learned_segmenter.h"
#include "skintrack/storage/blob_store.h"
#include "skintrack/storage/repository.h"

namespace skintrack::pipeline {

// A stored capture whose latest lesion mask is a clinician's correction.
struct CorrectedPhoto {
  std::int64_t capture_id = 0;
  scoring::LabelledImage image;  // name "capture-<id>"
};
// Every such capture of `condition`, by capture id. Throws Error(kStorage / kImageDecode).
std::vector<CorrectedPhoto> CorrectedPhotos(storage::Repository& repository,
                                            const storage::BlobStore& blobs, Condition condition);

struct ModelTrainRequest {
  Condition condition = Condition::kPsoriasis;
  std::uint64_t seed = 1;
  double held_out_share = 0.2;  // of the corrected photos kept for `evaluate` (>= 1 from 3 on)
  scoring::LearnedTrainOptions train;  // target and seed are set from the fields above
  std::string actor;
  void Check() const;  // throws Error(kInvalidArgument)
};

struct ModelTrainOutcome {
  RegisteredModel model;
  double train_seconds = 0;
};

// Trains on the corrected photos minus a held-out split (seeded shuffle), saves the model and
// registers it (not active), and appends a `model.train` audit entry. Throws
// Error(kInvalidArgument) when fewer than 2 photos remain to train on (nothing written), or as
// LearnedModel::Train / ModelRegistry::Add.
ModelTrainOutcome TrainModel(storage::Repository& repository, const storage::BlobStore& blobs,
                             ModelRegistry& registry, const ModelTrainRequest& request);

// Activates a registered model (ModelRegistry::Activate) and audits it (`model.activate`).
void ActivateModel(storage::Repository& repository, ModelRegistry& registry, const std::string& id,
                   Condition condition, const std::string& actor);

struct ModelCard {
  RegisteredModel model;
  std::vector<std::int64_t> capture_ids;  // the held-out captures scored, as `scores`
  std::vector<scoring::PhotoScore> scores;
  std::vector<scoring::GroupSummary> summary;  // "all", then per ITA group
  std::optional<double> ita_gap;               // best minus worst group mean Dice
  std::string json_path, html_path;            // where the card was written
};

// Scores the model on its held-out captures (their current corrected masks) and writes the card
// as DIR/models/<id>.card.json and .html. Throws Error(kNotFound) for an unknown id and
// Error(kInvalidArgument) when none of its held-out captures still has a corrected mask
// (nothing written).
ModelCard EvaluateModel(storage::Repository& repository, const storage::BlobStore& blobs,
                        ModelRegistry& registry, const std::string& id);

// Which processed captures `model rescore` puts back in the queue: all of them, or those of a
// patient / site / condition (at least one of these, or `all`).
struct RescoreSelection {
  std::optional<std::string> patient_id, site;
  std::optional<Condition> condition;
  bool all = false;
  void Check() const;  // throws Error(kInvalidArgument)
};
// Requeues the selected processed captures (audited `capture.requeue` with `reason`); the
// workers append new versions of their results, earlier ones stay. Returns how many.
int RequeueForRescore(storage::Repository& repository, const RescoreSelection& selection,
                      const std::string& reason, const std::string& actor);

}  // namespace skintrack::pipeline
