#include "skintrack/pipeline/model_training.h"

#include <algorithm>
#include <chrono>
#include <cmath>
#include <nlohmann/json.hpp>
#include <opencv2/imgcodecs.hpp>
#include <random>

#include "skintrack/core/error.h"
#include "skintrack/core/oriented_image.h"
#include "skintrack/pipeline/results.h"

namespace skintrack::pipeline {

using nlohmann::json;

namespace {

// `orientation`: the capture's for its photo, 1 for a mask (stored as shown).
cv::Mat DecodeBlob(const storage::BlobStore& blobs, const std::string& sha, int orientation,
                   int flags, const std::string& what) {
  try {
    return DecodeOriented(blobs.Get(sha), orientation, flags);
  } catch (const Error& e) {
    if (e.code() != ErrorCode::kImageDecode) throw;
    throw Error(ErrorCode::kImageDecode, what + ": " + e.what());
  }
}

// The capture's photo and its latest lesion mask when that mask is a reviewed one (a clinician's
// correction or a consensus).
std::optional<CorrectedPhoto> CorrectedPhotoOf(storage::Repository& repository,
                                               const storage::BlobStore& blobs,
                                               const storage::Capture& capture) {
  const auto history =
      repository.ResultHistory(capture.id, storage::ResultKind::kMask, result::kLesionMask);
  if (history.empty() || !IsReviewedMask(history.back())) return std::nullopt;
  const std::string name = "capture-" + std::to_string(capture.id);
  CorrectedPhoto photo;
  photo.capture_id = capture.id;
  photo.image.name = name;
  photo.image.bgr = DecodeBlob(blobs, capture.blob.sha256, capture.orientation, cv::IMREAD_COLOR,
                               name + " image");
  photo.image.mask =
      DecodeBlob(blobs, history.back().blob_sha256, 1, cv::IMREAD_GRAYSCALE, name + " mask") > 0;
  if (photo.image.mask.size() != photo.image.bgr.size()) {
    throw Error(ErrorCode::kInvalidArgument, name + ": the corrected mask is not the photo's size");
  }
  return photo;
}

// Indices [0, n) in a seeded order that does not depend on the standard library (std::shuffle's
// algorithm is unspecified): Fisher-Yates over mt19937_64, whose sequence is specified.
std::vector<std::size_t> SeededOrder(std::size_t n, std::uint64_t seed) {
  std::vector<std::size_t> order(n);
  for (std::size_t i = 0; i < n; ++i) order[i] = i;
  std::mt19937_64 rng(seed);
  for (std::size_t i = n; i > 1; --i) std::swap(order[i - 1], order[rng() % i]);
  return order;
}

void AuditModel(storage::Repository& repository, const std::string& actor,
                const std::string& action, const std::string& id, const json& details) {
  storage::AuditEntry entry;
  entry.at = storage::NowMs();
  entry.actor = actor;
  entry.action = action;
  entry.object = "model:" + id;
  entry.details_json = details.dump();
  repository.AppendAudit(entry);
}

}  // namespace

std::vector<CorrectedPhoto> CorrectedPhotos(storage::Repository& repository,
                                            const storage::BlobStore& blobs, Condition condition) {
  std::vector<CorrectedPhoto> photos;
  for (const storage::Patient& patient : repository.ListPatients()) {
    storage::SeriesQuery q;
    q.patient_id = patient.info.id;
    q.condition = condition;
    for (const storage::SeriesPoint& p : repository.TimeSeries(q)) {
      if (auto photo = CorrectedPhotoOf(repository, blobs, p.capture)) {
        photos.push_back(std::move(*photo));
      }
    }
  }
  std::sort(photos.begin(), photos.end(),
            [](const auto& a, const auto& b) { return a.capture_id < b.capture_id; });
  return photos;
}

void ModelTrainRequest::Check() const {
  if (!(held_out_share >= 0.0 && held_out_share <= 0.5)) {
    throw Error(ErrorCode::kInvalidArgument, "held-out share must be 0..0.5");
  }
  if (actor.empty()) throw Error(ErrorCode::kInvalidArgument, "an actor is required");
}

ModelTrainOutcome TrainModel(storage::Repository& repository, const storage::BlobStore& blobs,
                             ModelRegistry& registry, const ModelTrainRequest& request) {
  request.Check();
  std::vector<CorrectedPhoto> photos = CorrectedPhotos(repository, blobs, request.condition);
  // From 3 photos on at least one is held out, so that `evaluate` has something to score.
  const std::size_t held =
      photos.size() < 3
          ? 0
          : std::max<std::size_t>(
                1, static_cast<std::size_t>(std::lround(request.held_out_share * photos.size())));
  if (photos.size() - held < 2) {
    throw Error(ErrorCode::kInvalidArgument,
                "not enough clinician-corrected " + std::string(ConditionName(request.condition)) +
                    " lesion masks to train on: " + std::to_string(photos.size()) +
                    " found, at least 2 needed (" + registry.dir().parent_path().string() + ")");
  }
  const std::vector<std::size_t> order = SeededOrder(photos.size(), request.seed);
  RegisteredModel entry;
  entry.condition = request.condition;
  entry.seed = request.seed;
  entry.created_by = request.actor;
  std::vector<scoring::LabelledImage> training;
  for (std::size_t k = 0; k < order.size(); ++k) {
    CorrectedPhoto& p = photos[order[k]];
    if (k < held) {
      entry.held_out.push_back(p.capture_id);
    } else {
      entry.trained_on.push_back(p.capture_id);
      training.push_back(std::move(p.image));
    }
  }
  std::sort(entry.held_out.begin(), entry.held_out.end());
  std::sort(entry.trained_on.begin(), entry.trained_on.end());
  entry.images = static_cast<int>(training.size());

  scoring::LearnedTrainOptions options = request.train;
  options.target = scoring::TargetOf(request.condition);
  options.seed = request.seed;
  const auto t0 = std::chrono::steady_clock::now();
  const scoring::LearnedModel model = scoring::LearnedModel::Train(training, options);
  ModelTrainOutcome out;
  out.train_seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  entry.created_at = storage::NowMs();
  out.model = registry.Add(model, entry);
  AuditModel(repository, request.actor, "model.train", out.model.id,
             {{"condition", ConditionName(request.condition)},
              {"images", out.model.images},
              {"trained_on", out.model.trained_on},
              {"held_out", out.model.held_out},
              {"seed", out.model.seed}});
  return out;
}

void ActivateModel(storage::Repository& repository, ModelRegistry& registry, const std::string& id,
                   Condition condition, const std::string& actor) {
  const ModelRegistryState before = registry.Read();
  const auto previous = before.active.find(ConditionName(condition));
  registry.Activate(id, condition);
  AuditModel(
      repository, actor, "model.activate", id,
      {{"condition", ConditionName(condition)},
       {"previous", previous == before.active.end() ? json(nullptr) : json(previous->second)}});
}

void RescoreSelection::Check() const {
  if (!all && !patient_id && !site && !condition) {
    throw Error(ErrorCode::kInvalidArgument,
                "choose what to rescore: --all, or --patient / --site / --condition");
  }
  if (all && (patient_id || site || condition)) {
    throw Error(ErrorCode::kInvalidArgument, "--all excludes --patient, --site and --condition");
  }
}

int RequeueForRescore(storage::Repository& repository, const RescoreSelection& selection,
                      const std::string& reason, const std::string& actor) {
  selection.Check();
  std::vector<std::string> patients;
  if (selection.patient_id) {
    if (!repository.FindPatient(*selection.patient_id)) {
      throw Error(ErrorCode::kNotFound, "no patient " + *selection.patient_id);
    }
    patients.push_back(*selection.patient_id);
  } else {
    for (const storage::Patient& p : repository.ListPatients()) patients.push_back(p.info.id);
  }
  std::vector<std::int64_t> ids;
  for (const std::string& patient : patients) {
    storage::SeriesQuery q;
    q.patient_id = patient;
    q.site = selection.site;
    q.condition = selection.condition;
    for (const storage::SeriesPoint& p : repository.TimeSeries(q)) {
      if (p.capture.status == storage::CaptureStatus::kProcessed) ids.push_back(p.capture.id);
    }
  }
  if (ids.empty()) return 0;
  return repository.RequeueProcessed(ids, reason, actor);
}

}  // namespace skintrack::pipeline
