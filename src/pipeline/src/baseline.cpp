#include "skintrack/pipeline/baseline.h"

#include <nlohmann/json.hpp>
#include <utility>
#include <vector>

#include "skintrack/pipeline/results.h"
#include "skintrack/storage/store.h"

namespace skintrack::pipeline {

using nlohmann::json;

namespace {

std::optional<bool> StoredQuality(storage::Store& store, std::int64_t capture_id) {
  const auto r = LatestResult(store, capture_id, result::kQuality);
  if (!r || r->kind != storage::ResultKind::kMeasurement) return std::nullopt;
  return json::parse(r->payload_json).value("passed", false);
}

storage::SeriesQuery SeriesOf(const std::string& patient_id, const std::string& site,
                              Condition condition) {
  storage::SeriesQuery q;
  q.patient_id = patient_id;
  q.site = site;
  q.condition = condition;
  return q;
}

}  // namespace

std::optional<std::int64_t> FindBaseline(storage::Store& store, const std::string& patient_id,
                                         const std::string& site, Condition condition,
                                         const scoring::QualityOptions& quality) {
  const auto series = store.repository().TimeSeries(SeriesOf(patient_id, site, condition));
  // A clinician's choice wins: the capture whose latest choice was set most recently.
  std::optional<std::pair<storage::TimeMs, std::int64_t>> chosen;
  for (const storage::SeriesPoint& p : series) {
    const auto r = LatestResult(store, p.capture.id, result::kBaselineChoice);
    if (!r || r->value.value_or(0.0) != 1.0) continue;
    if (!chosen || r->created_at > chosen->first)
      chosen = std::make_pair(r->created_at, p.capture.id);
  }
  if (chosen) return chosen->second;
  for (const storage::SeriesPoint& p : series) {
    std::optional<bool> passed = StoredQuality(store, p.capture.id);
    if (!passed)
      passed = scoring::CheckQuality(DecodeStoredImage(store, p.capture), quality).passed;
    if (*passed) return p.capture.id;
  }
  return std::nullopt;
}

int RequeueSeriesForBaseline(storage::Store& store, const storage::Capture& baseline,
                             const std::string& actor) {
  std::vector<std::int64_t> stale;
  for (const storage::SeriesPoint& p : store.repository().TimeSeries(
           SeriesOf(baseline.patient_id, baseline.site, baseline.condition))) {
    if (p.capture.id == baseline.id || p.capture.status != storage::CaptureStatus::kProcessed) {
      continue;
    }
    const auto reg = LatestResult(store, p.capture.id, result::kToBaseline);
    if (reg && json::parse(reg->payload_json).value("baseline_capture_id", std::int64_t{0}) !=
                   baseline.id) {
      stale.push_back(p.capture.id);
    }
  }
  if (stale.empty()) return 0;
  return store.repository().RequeueProcessed(
      stale, "the site's baseline is now capture " + std::to_string(baseline.id), actor);
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
