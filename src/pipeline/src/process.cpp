// ProcessCapture, top to bottom: decode, quality gate, segment, register (+ change), score.
#include <functional>
#include <future>
#include <memory>
#include <nlohmann/json.hpp>
#include <optional>

#include "registration_sides.h"
#include "skintrack/core/error.h"
#include "skintrack/pipeline/annotations.h"
#include "skintrack/pipeline/baseline.h"
#include "skintrack/pipeline/change.h"
#include "skintrack/pipeline/lease_heartbeat.h"
#include "skintrack/pipeline/pipeline.h"
#include "skintrack/pipeline/registration_json.h"
#include "skintrack/pipeline/score.h"
#include "skintrack/pipeline/segmenter_choice.h"
#include "skintrack/scoring/json.h"
#include "skintrack/scoring/scores.h"
#include "skintrack/storage/store.h"

namespace skintrack::pipeline {

using detail::PrepareRegistration;
using detail::RegistrationOptionsOf;
using detail::RegistrationSides;
using nlohmann::json;
using storage::ResultKind;
using storage::ResultSource;

void PipelineOptions::Check() const {
  if (workers < 0 || workers > 64)
    throw Error(ErrorCode::kInvalidArgument, "workers must be 0..64");
  if (lease_ms < 1000) throw Error(ErrorCode::kInvalidArgument, "lease must be >= 1 s");
  if (registration_threads < 1 || registration_threads > 64) {
    throw Error(ErrorCode::kInvalidArgument, "registration threads must be 1..64");
  }
}

namespace {

// Quality gate: stored as a result either way; a capture that fails is kept and marked.
bool PassesQualityGate(storage::Store& store, const storage::Capture& capture, const cv::Mat& image,
                       const PipelineOptions& options, const json& inputs,
                       const std::string& actor) {
  const scoring::QualityReport quality = scoring::CheckQuality(image, options.quality);
  ResultRecord r;
  r.name = result::kQuality;
  r.algorithm = "quality-gate";
  r.value = quality.passed ? 1.0 : 0.0;
  r.payload = quality;
  r.inputs = inputs;
  Append(store, capture.id, r, actor);
  return quality.passed;
}

// Thrown by StoreMasks when a reviewed lesion mask (a clinician's, a consensus) landed while the
// capture was segmented without it: ProcessCapture processes the capture again, with the mask.
struct ReviewedMaskArrived {};

// A reviewed lesion mask stored after version `version_at_choice` and before the automated one
// just stored (`automated`), whose later version would otherwise put the person's mask out of
// force: appended again (same blob and source) as the latest version, and ReviewedMaskArrived
// thrown. Nothing when no version came in between (the usual case: no read).
void KeepReviewedMaskInForce(storage::Store& store, const storage::Capture& capture,
                             int version_at_choice, const storage::Result& automated,
                             const std::string& actor) {
  if (automated.version <= version_at_choice + 1) return;
  std::optional<storage::Result> arrived;
  for (const storage::Result& r :
       store.repository().ResultHistory(capture.id, ResultKind::kMask, result::kLesionMask)) {
    if (r.version > version_at_choice && r.version < automated.version && IsReviewedMask(r)) {
      arrived = r;
    }
  }
  if (!arrived) return;
  ResultRecord again;
  again.kind = ResultKind::kMask;
  again.name = result::kLesionMask;
  again.source = arrived->source;
  again.algorithm = arrived->algorithm;
  again.payload = json::parse(arrived->payload_json);
  again.inputs = json::parse(arrived->inputs_json);
  again.inputs["restored_result_id"] = arrived->id;
  again.inputs["after_result_id"] = automated.id;
  again.provenance = json::parse(arrived->provenance_json);
  again.blob = store.ReadBlob(arrived->blob_sha256);
  Append(store, capture.id, again, actor);
  throw ReviewedMaskArrived{};
}

// New automated masks are stored (a clinician's corrected mask stays in force, even one that
// arrives meanwhile: KeepReviewedMaskInForce). The masks' provenance and payload name the
// segmenter, its version and the model id.
void StoreMasks(storage::Store& store, const storage::Capture& capture,
                const scoring::Segmentation& seg, const CaptureSegmenter& segmenter,
                int lesion_version_at_choice, const json& inputs, const std::string& actor) {
  if (segmenter.clinician_mask) return;
  ResultRecord mask;
  mask.kind = ResultKind::kMask;
  mask.algorithm = "segment";
  mask.inputs = inputs;
  mask.provenance = segmenter.provenance;
  mask.provenance["segmenter"] = seg.segmenter;
  mask.provenance["lesion_found"] = seg.lesion_found;
  const json model_id = segmenter.provenance.value("model_id", json());
  mask.name = result::kLesionMask;
  mask.payload = {{"segmenter", seg.segmenter},
                  {"model_id", model_id},
                  {"contrast", seg.contrast},
                  {"threshold", seg.threshold}};
  mask.blob = EncodePng(seg.lesion_mask);
  const storage::Result lesion = Append(store, capture.id, mask, actor);
  mask.name = result::kSkinMask;
  mask.payload = {{"segmenter", seg.segmenter}, {"model_id", model_id}};
  mask.blob = EncodePng(seg.skin_mask);
  Append(store, capture.id, mask, actor);
  // After the skin mask, which no person's lesion mask replaces.
  KeepReviewedMaskInForce(store, capture, lesion_version_at_choice, lesion, actor);
}

// The registration of a capture that is not its site's baseline, found while its masks are
// stored on another thread (`masks_stored` waits for them); then the registration and the change
// against the baseline are stored, after the masks as before. Returns the masks in the baseline
// frame when the registration converged.
std::optional<MasksInBaselineFrame> RegisterAndCompare(
    storage::Store& store, const storage::Capture& capture, const scoring::Segmentation& seg,
    std::int64_t baseline_id, const RegistrationSides& sides, const PipelineOptions& options,
    const json& inputs, const std::string& actor, const std::function<void()>& masks_stored) {
  const detail::RegistrationBaseline& base = sides.baseline;
  registration::RegistrationOptions ro = RegistrationOptionsOf(options);
  ro.moving_mask = seg.skin_mask & ~seg.lesion_mask;
  BaselineRegistration stored;
  stored.baseline_capture_id = baseline_id;
  stored.result = registration::RegisterToBaseline(*base.prepared, *sides.capture, ro);
  masks_stored();
  ResultRecord reg;
  reg.kind = ResultKind::kRegistration;
  reg.name = result::kToBaseline;
  reg.algorithm = "register";
  reg.value = stored.result.quality;
  reg.payload = stored;
  reg.inputs = inputs;
  reg.inputs["baseline_capture_id"] = baseline_id;
  const storage::Result saved = Append(store, capture.id, reg, actor);
  if (!stored.result.converged) return std::nullopt;

  MasksInBaselineFrame warped = WarpToBaselineFrame(seg.lesion_mask, stored.result);
  const scoring::MaskChange change = ChangeInBaselineFrame(base.lesion, base.skin, warped);
  ResultRecord r;
  r.name = result::kChange;
  r.algorithm = "compare-masks";
  r.value = capture.condition == Condition::kVitiligo ? change.repigmentation.percent
                                                      : change.area_change_percent.value_or(0.0);
  r.payload = change;
  r.inputs = reg.inputs;
  r.inputs["registration_result_id"] = saved.id;
  Append(store, capture.id, r, actor);
  return warped;
}

// The capture is its site's baseline: identity registration; the series' captures registered
// to an earlier baseline (this one arrived late, or was chosen) are requeued, which is durable
// because the queue is in the database, and idempotent if this capture is processed again.
int StoreAsBaseline(storage::Store& store, const storage::Capture& capture, const json& inputs,
                    const std::string& actor) {
  BaselineRegistration stored;
  stored.baseline_capture_id = capture.id;
  stored.is_baseline = true;
  stored.result.converged = true;
  stored.result.stop_reason = "this capture is the baseline";
  ResultRecord reg;
  reg.kind = ResultKind::kRegistration;
  reg.name = result::kToBaseline;
  reg.algorithm = "identity";
  reg.value = 1.0;
  reg.payload = stored;
  reg.inputs = inputs;
  Append(store, capture.id, reg, actor);
  return RequeueSeriesForBaseline(store, capture, actor);
}

// The reviewed lesion mask in force on `capture_id` (a clinician's, a consensus), 0 when none.
std::int64_t ReviewedMaskId(storage::Store& store, std::int64_t capture_id) {
  const auto reviewed = LatestReviewedLesionMask(store, capture_id);
  return reviewed ? reviewed->id : 0;
}

// One pass of ProcessCapture.
int ProcessOnce(storage::Store& store, const storage::Capture& capture,
                const PipelineOptions& options, const std::string& actor, BaselineAsRead& as_read) {
  // 1. Decode the stored image; every result records what it was computed from.
  const cv::Mat image = DecodeStoredImage(store, capture);
  const json inputs = {{"capture_id", capture.id},
                       {"image_sha256", capture.blob.sha256},
                       {"pipeline", kPipelineVersion},
                       {"scoring", scoring::kScoringVersion}};
  // 2. Quality gate: a failing capture is kept and marked, not scored.
  if (!PassesQualityGate(store, capture, image, options, inputs, actor)) return 0;
  // The site's baseline (this capture's quality verdict is stored: it may be the one), read
  // once for the segmenter choice and the registration.
  const auto baseline_id =
      FindBaseline(store, capture.patient_id, capture.site, capture.condition, options.quality);
  // A follow-up's registration inputs that need no masks are prepared meanwhile.
  const bool follow_up = baseline_id && *baseline_id != capture.id;
  // Read before the segmenter choice reads it: a change after this read is caught afterwards.
  as_read = {true, baseline_id, follow_up ? ReviewedMaskId(store, *baseline_id) : 0};
  std::future<RegistrationSides> sides;
  if (follow_up) {
    sides = std::async(std::launch::async, PrepareRegistration, std::ref(store), *baseline_id,
                       std::cref(image), std::cref(options));
  }
  // 3. Segment skin and lesions (the segmenter choice: segmenter_choice.h). What follows from the
  // masks alone runs on another thread from here on, while the registration runs (issue 15): the
  // masks are encoded and stored (the store is thread-safe) and the photo is measured.
  // The lesion mask version read before the choice: a reviewed one stored after it must stay in
  // force over the automated masks stored below.
  const auto lesion_at_choice = LatestResult(store, capture.id, result::kLesionMask);
  const CaptureSegmenter segmenter = SegmenterFor(store, capture, options, baseline_id);
  // A consensus put in force by a change that stopped half-way gets its agreement figures.
  if (segmenter.clinician_mask) CompleteConsensusAgreement(store, capture, actor);
  const scoring::Segmentation seg = segmenter.segmenter->Segment(image);
  const ClinicianInput clinician = LatestClinicianInput(store, capture.id);
  std::future<scoring::Measurements> own_work = std::async(std::launch::async, [&] {
    StoreMasks(store, capture, seg, segmenter, lesion_at_choice ? lesion_at_choice->version : 0,
               inputs, actor);
    return MeasureCapture(capture, image, seg, clinician);
  });
  std::optional<scoring::Measurements> measurements;
  const auto masks_stored = [&] { measurements = own_work.get(); };
  // 4. Register to the site's baseline and measure the change against it.
  int requeued = 0;
  std::optional<MasksInBaselineFrame> warped;
  if (follow_up) {
    warped = RegisterAndCompare(store, capture, seg, *baseline_id, sides.get(), options, inputs,
                                actor, masks_stored);
  } else {
    masks_stored();
    if (baseline_id) requeued = StoreAsBaseline(store, capture, inputs, actor);
  }
  // 5. Measure and score (site area in the baseline frame), store.
  const ScoreShortcuts computed{clinician, *measurements, std::move(warped)};
  ScoreCapture(store, capture, image, seg, actor, inputs, segmenter.provenance, &computed);
  return requeued;
}

}  // namespace

int ProcessCapture(storage::Store& store, const storage::Capture& capture,
                   const PipelineOptions& options, const std::string& actor,
                   BaselineAsRead* as_read) {
  BaselineAsRead read;
  int requeued = 0;
  try {
    requeued = ProcessOnce(store, capture, options, actor, read);
  } catch (const ReviewedMaskArrived&) {
    // Processed again with the reviewed mask in force (no automated mask is stored then).
    requeued = ProcessOnce(store, capture, options, actor, read);
  }
  if (as_read) *as_read = read;
  return requeued;
}

int RequeueIfBaselineChanged(storage::Store& store, const storage::Capture& capture,
                             const PipelineOptions& options, const BaselineAsRead& as_read,
                             const std::string& actor) {
  if (!as_read.read) return 0;
  const auto baseline_id =
      FindBaseline(store, capture.patient_id, capture.site, capture.condition, options.quality);
  std::string reason;
  if (baseline_id != as_read.baseline_id) {
    reason = "its site's baseline changed while it was processed";
  } else if (baseline_id && *baseline_id != capture.id &&
             ReviewedMaskId(store, *baseline_id) != as_read.reviewed_mask_id) {
    reason = "the reviewed lesion mask of its site's baseline (capture " +
             std::to_string(*baseline_id) + ") changed while it was processed";
  }
  if (reason.empty()) return 0;
  return store.repository().RequeueProcessed({capture.id}, reason, actor);
}

void Rescore(storage::Store& store, const storage::Capture& capture, const PipelineOptions& options,
             const std::string& actor) {
  if (!LatestMask(store, capture.id, result::kLesionMask)) return;
  const cv::Mat image = DecodeStoredImage(store, capture);
  const CaptureSegmenter segmenter = SegmenterFor(store, capture, options);
  ScoreCapture(
      store, capture, image, segmenter.segmenter->Segment(image), actor,
      {{"capture_id", capture.id}, {"reason", "clinician input"}, {"pipeline", kPipelineVersion}},
      segmenter.provenance);
}

int OnCorrectedMask(storage::Store& store, const storage::Capture& capture,
                    const PipelineOptions& options, const std::string& actor) {
  Rescore(store, capture, options, actor);
  const auto baseline_id =
      FindBaseline(store, capture.patient_id, capture.site, capture.condition, options.quality);
  if (!baseline_id || *baseline_id != capture.id) return 0;
  return RequeueFollowUps(store, capture,
                          "the corrected lesion mask of the site's baseline (capture " +
                              std::to_string(capture.id) + ") changed",
                          actor);
}

int ApplyReviewedMask(storage::Store& store, const storage::Capture& capture,
                      const PipelineOptions& options, const std::string& actor,
                      const std::function<void()>& append) {
  storage::Repository& repo = store.repository();
  const std::string holder = store.EditWorkerId();
  // Not processed: queued or in processing, a worker will process it with the mask anyway.
  if (!repo.LeaseProcessed(capture.id, holder, options.lease_ms,
                           "a reviewed lesion mask by " + actor)) {
    append();
    return OnCorrectedMask(store, capture, options, actor);
  }
  int requeued = 0;
  try {
    const LeaseHeartbeat heartbeat(repo, capture.id, holder, options.lease_ms);
    append();
    requeued = OnCorrectedMask(store, capture, options, actor);
  } catch (const std::exception& e) {
    // What did land is finished by a worker. Should this fail too, the lease runs out instead.
    try {
      repo.ReleaseWork(capture.id, holder, std::string("reviewed mask interrupted: ") + e.what(),
                       0);
    } catch (const Error&) {
    }
    throw;
  }
  try {
    repo.CompleteWork(capture.id, holder);
  } catch (const Error& e) {
    // The heartbeat could not keep the lease: the worker that took it over finishes the capture.
    if (e.code() != ErrorCode::kConflict) throw;
  }
  return requeued;
}

}  // namespace skintrack::pipeline
