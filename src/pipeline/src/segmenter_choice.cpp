#include "skintrack/pipeline/segmenter_choice.h"

#include <deque>
#include <future>
#include <map>
#include <mutex>
#include <optional>
#include <tuple>

#include "skintrack/pipeline/baseline.h"
#include "skintrack/pipeline/models.h"
#include "skintrack/pipeline/results.h"
#include "skintrack/scoring/learned_reference.h"
#include "skintrack/scoring/learned_segmenter.h"

namespace skintrack::pipeline {

using nlohmann::json;

namespace {

using Shared = std::shared_ptr<const scoring::PatientSegmenter>;

// (baseline image sha, lesion mask sha, skin mask sha, general model id, condition)
using ReferenceKey = std::tuple<std::string, std::string, std::string, std::string, int>;

// Fitted reference segmenters, thread-safe. A key being fitted by one worker is waited for by the
// others (shared_future) instead of being fitted twice; a failed fit is not kept.
class ReferenceCache {
 public:
  template <typename Fit>
  Shared Get(const ReferenceKey& key, Fit fit) {
    std::optional<std::promise<Shared>> mine;  // set when this call fits the key
    std::shared_future<Shared> future;
    {
      const std::lock_guard<std::mutex> lock(mutex_);
      const auto it = entries_.find(key);
      if (it != entries_.end()) {
        future = it->second;
      } else {
        mine.emplace();
        future = mine->get_future().share();
        entries_.emplace(key, future);
        order_.push_back(key);
        if (order_.size() > kCapacity) {  // oldest first: a site's follow-ups come in bursts
          entries_.erase(order_.front());
          order_.pop_front();
        }
      }
    }
    if (mine) {
      try {
        mine->set_value(fit());
      } catch (...) {
        mine->set_exception(std::current_exception());
        const std::lock_guard<std::mutex> lock(mutex_);
        entries_.erase(key);
      }
    }
    return future.get();
  }

  std::size_t size() {
    const std::lock_guard<std::mutex> lock(mutex_);
    return entries_.size();
  }

 private:
  static constexpr std::size_t kCapacity = 32;
  std::mutex mutex_;
  std::map<ReferenceKey, std::shared_future<Shared>> entries_;
  std::deque<ReferenceKey> order_;
};

ReferenceCache& Cache() {
  static ReferenceCache cache;  // process-wide: keys are contents, valid across stores
  return cache;
}

// The capture's own reviewed lesion mask (a clinician's correction or a consensus), as a
// segmenter.
std::optional<CaptureSegmenter> ClinicianMask(storage::Store& store, const storage::Capture& c) {
  const auto latest = LatestReviewedLesionMask(store, c.id);
  if (!latest) return std::nullopt;
  const auto lesion = LatestMask(store, c.id, result::kLesionMask);
  if (!lesion) return std::nullopt;
  CaptureSegmenter out;
  out.segmenter = std::make_shared<scoring::SuppliedMaskSegmenter>(
      c.condition, *lesion, LatestMask(store, c.id, result::kSkinMask).value_or(cv::Mat()));
  out.clinician_mask = true;
  out.provenance = {{"segmenter", out.segmenter->Name()},
                    {"model_id", nullptr},
                    {"clinician_mask_result_id", latest->id},
                    {"mask_source", storage::ResultSourceName(latest->source)}};
  return out;
}

// The reference segmenter of a follow-up whose site baseline has a reviewed lesion mask.
std::optional<CaptureSegmenter> PatientReference(
    storage::Store& store, const storage::Capture& capture,
    const std::optional<std::int64_t>& baseline_id,
    const std::shared_ptr<const scoring::LearnedModel>& general) {
  if (!baseline_id || *baseline_id == capture.id) return std::nullopt;
  const auto mask = LatestReviewedLesionMask(store, *baseline_id);
  if (!mask) return std::nullopt;
  const auto baseline = store.repository().FindCapture(*baseline_id);
  if (!baseline) return std::nullopt;
  const auto skin = LatestResult(store, *baseline_id, result::kSkinMask);
  const std::string general_id = general ? general->info().Id() : "";
  const ReferenceKey key{baseline->blob.sha256, mask->blob_sha256,
                         skin ? skin->blob_sha256 : std::string(), general_id,
                         static_cast<int>(capture.condition)};
  CaptureSegmenter out;
  const Shared fitted = Cache().Get(key, [&]() -> Shared {
    scoring::PatientReference ref;
    ref.bgr = DecodeStoredImage(store, *baseline);
    ref.lesion_mask = *LatestMask(store, *baseline_id, result::kLesionMask);
    const auto skin_mask = LatestMask(store, *baseline_id, result::kSkinMask);
    // The stored skin mask is the baseline's automated one: it teaches this patient's skin
    // against this background; a mask of another size (never expected) is left out.
    if (skin_mask && skin_mask->size() == ref.bgr.size()) ref.skin_mask = *skin_mask;
    scoring::ReferenceOptions ro;
    ro.condition = capture.condition;
    return scoring::MakeReferenceSegmenter(ref, ro, general);
  });
  out.segmenter = fitted;
  // A reference that taught nothing (a reviewed mask with no lesion) leaves the general model or
  // the classical segmenter at work: the model id names what produced the mask.
  json model_id = nullptr;  // the classical segmenter's
  if (fitted->LearnedFromReference()) {
    model_id = PatientModelId(*baseline_id, mask->version, general_id);
  } else if (general) {
    model_id = general_id;
  }
  out.provenance = {{"segmenter", out.segmenter->Name()},
                    {"model_id", model_id},
                    {"general_model_id", general ? json(general_id) : json(nullptr)},
                    {"reference",
                     {{"capture_id", *baseline_id},
                      {"mask_result_id", mask->id},
                      {"mask_version", mask->version}}}};
  return out;
}

}  // namespace

std::string PatientModelId(std::int64_t baseline_capture_id, int mask_version,
                           const std::string& general_model_id) {
  std::string id =
      "patient-c" + std::to_string(baseline_capture_id) + "-m" + std::to_string(mask_version);
  if (!general_model_id.empty()) id += "+" + general_model_id;
  return id;
}

std::size_t CachedReferenceSegmenters() { return Cache().size(); }

CaptureSegmenter SegmenterFor(storage::Store& store, const storage::Capture& capture,
                              const PipelineOptions& options) {
  return SegmenterFor(
      store, capture, options,
      FindBaseline(store, capture.patient_id, capture.site, capture.condition, options.quality));
}

CaptureSegmenter SegmenterFor(storage::Store& store, const storage::Capture& capture,
                              const PipelineOptions& options,
                              const std::optional<std::int64_t>& site_baseline) {
  if (auto own = ClinicianMask(store, capture)) return std::move(*own);
  const auto general = options.models ? options.models->For(capture.condition) : nullptr;
  if (auto reference = PatientReference(store, capture, site_baseline, general)) {
    return std::move(*reference);
  }
  CaptureSegmenter out;
  if (general) {
    out.segmenter = scoring::MakeLearnedSegmenter(general);
    out.provenance = {{"segmenter", out.segmenter->Name()}, {"model_id", general->info().Id()}};
    return out;
  }
  scoring::ClassicalSegmenterOptions so;
  so.condition = capture.condition;
  out.segmenter = scoring::MakeClassicalSegmenter(so);
  out.provenance = {{"segmenter", out.segmenter->Name()}, {"model_id", nullptr}};
  return out;
}

}  // namespace skintrack::pipeline
