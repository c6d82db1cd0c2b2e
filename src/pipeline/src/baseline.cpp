#include "skintrack/pipeline/baseline.h"

#include <nlohmann/json.hpp>
#include <utility>
#include <vector>

#include "skintrack/pipeline/results.h"
#include "skintrack/storage/store.h"

namespace skintrack::pipeline {

using nlohmann::json;

namespace {

// The series with the latest result `kind`/`name` of each capture as its points' `score`: one
// query for the whole series, whatever its length (a capture's processing reads the series
// several times; one lookup per capture made capture 1000 of a site cost more than capture 10).
storage::SeriesQuery SeriesOf(const std::string& patient_id, const std::string& site,
                              Condition condition,
                              storage::ResultKind kind = storage::ResultKind::kScore,
                              const std::string& name = "") {
  storage::SeriesQuery q;
  q.patient_id = patient_id;
  q.site = site;
  q.condition = condition;
  q.score_kind = kind;
  q.score_name = name;
  return q;
}

// The processed follow-ups whose automated lesion mask was not segmented with the reviewed lesion
// mask the baseline has now (the patient reference): left so by a process that died between a
// correction and its requeue (ApplyReviewedMask).
std::vector<std::int64_t> SegmentedWithAnOlderReference(storage::Store& store,
                                                        const storage::Capture& baseline) {
  std::vector<std::int64_t> out;
  const auto reviewed = LatestReviewedLesionMask(store, baseline.id);
  if (!reviewed) return out;
  for (const storage::SeriesPoint& p : store.repository().TimeSeries(
           SeriesOf(baseline.patient_id, baseline.site, baseline.condition,
                    storage::ResultKind::kMask, result::kLesionMask))) {
    if (p.capture.id == baseline.id || p.capture.status != storage::CaptureStatus::kProcessed ||
        !p.score || p.score->source != storage::ResultSource::kAutomated) {
      continue;
    }
    const json reference = json::parse(p.score->provenance_json).value("reference", json::object());
    if (reference.value("mask_result_id", std::int64_t{0}) != reviewed->id) {
      out.push_back(p.capture.id);
    }
  }
  return out;
}

}  // namespace

std::optional<std::int64_t> FindBaseline(storage::Store& store, const std::string& patient_id,
                                         const std::string& site, Condition condition,
                                         const scoring::QualityOptions& quality) {
  using storage::ResultKind;
  // A clinician's choice wins: the capture whose latest choice was set most recently.
  std::optional<std::pair<storage::TimeMs, std::int64_t>> chosen;
  for (const storage::SeriesPoint& p : store.repository().TimeSeries(SeriesOf(
           patient_id, site, condition, ResultKind::kMeasurement, result::kBaselineChoice))) {
    if (!p.score || p.score->value.value_or(0.0) != 1.0) continue;
    if (!chosen || p.score->created_at > chosen->first) {
      chosen = std::make_pair(p.score->created_at, p.capture.id);
    }
  }
  if (chosen) return chosen->second;
  // Else the oldest capture that passed the quality gate (value 1), checked now when a capture
  // has no stored verdict yet.
  for (const storage::SeriesPoint& p : store.repository().TimeSeries(
           SeriesOf(patient_id, site, condition, ResultKind::kMeasurement, result::kQuality))) {
    const bool passed =
        p.score ? p.score->value.value_or(0.0) == 1.0
                : scoring::CheckQuality(DecodeStoredImage(store, p.capture), quality).passed;
    if (passed) return p.capture.id;
  }
  return std::nullopt;
}

int RequeueSeriesForBaseline(storage::Store& store, const storage::Capture& baseline,
                             const std::string& actor) {
  std::vector<std::int64_t> stale;
  for (const storage::SeriesPoint& p : store.repository().TimeSeries(
           SeriesOf(baseline.patient_id, baseline.site, baseline.condition,
                    storage::ResultKind::kRegistration, result::kToBaseline))) {
    if (p.capture.id == baseline.id || p.capture.status != storage::CaptureStatus::kProcessed) {
      continue;
    }
    if (p.score &&
        json::parse(p.score->payload_json).value("baseline_capture_id", std::int64_t{0}) !=
            baseline.id) {
      stale.push_back(p.capture.id);
    }
  }
  int requeued = 0;
  if (!stale.empty()) {
    requeued = store.repository().RequeueProcessed(
        stale, "the site's baseline is now capture " + std::to_string(baseline.id), actor);
  }
  // Those requeued above are no longer processed and are left alone here.
  const std::vector<std::int64_t> unreferenced = SegmentedWithAnOlderReference(store, baseline);
  if (!unreferenced.empty()) {
    requeued += store.repository().RequeueProcessed(
        unreferenced,
        "not segmented with the reviewed lesion mask of the site's baseline (capture " +
            std::to_string(baseline.id) + ")",
        actor);
  }
  return requeued;
}

int RequeueFollowUps(storage::Store& store, const storage::Capture& baseline,
                     const std::string& reason, const std::string& actor) {
  std::vector<std::int64_t> follow_ups;
  for (const storage::SeriesPoint& p : store.repository().TimeSeries(
           SeriesOf(baseline.patient_id, baseline.site, baseline.condition))) {
    if (p.capture.id != baseline.id && p.capture.status == storage::CaptureStatus::kProcessed) {
      follow_ups.push_back(p.capture.id);
    }
  }
  if (follow_ups.empty()) return 0;
  return store.repository().RequeueProcessed(follow_ups, reason, actor);
}

std::optional<BaselineRegistration> StoredRegistration(storage::Store& store,
                                                       const storage::Capture& capture) {
  const auto latest = LatestResult(store, capture.id, result::kToBaseline);
  if (!latest) return std::nullopt;
  BaselineRegistration stored = json::parse(latest->payload_json).get<BaselineRegistration>();
  if (!stored.result.converged) return std::nullopt;
  const auto base = store.repository().FindCapture(stored.baseline_capture_id);
  if (!base) return std::nullopt;
  // The sizes of the captures as stored (a baseline's identity payload has none).
  stored.result.fixed_size = cv::Size(base->width, base->height);
  stored.result.moving_size = cv::Size(capture.width, capture.height);
  return stored;
}

}  // namespace skintrack::pipeline
