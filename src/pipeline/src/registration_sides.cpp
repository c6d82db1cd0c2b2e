#include "registration_sides.h"

#include <string>

#include "lru_cache.h"
#include "skintrack/core/error.h"
#include "skintrack/pipeline/results.h"
#include "skintrack/scoring/segmentation.h"

namespace skintrack::pipeline::detail {
namespace {

// Prepared baselines, kept by what they are made of (the hashes of the photo and of its two
// masks: a new mask version is a new entry). A site's follow-ups all register to one baseline,
// whose preparation costs about 0.1 s at 12 MP. 128 MB: about six 12 MP baselines.
LruByBytes<std::shared_ptr<const registration::PreparedBaseline>>& PreparedBaselines() {
  static LruByBytes<std::shared_ptr<const registration::PreparedBaseline>> cache(std::size_t{128} *
                                                                                 1024 * 1024);
  return cache;
}

// The baseline's stored masks (clinician-corrected ones included) when it has been processed;
// otherwise it is segmented here with the classical segmenter (and not kept prepared: its masks
// are not stored yet). `options`: the pipeline's registration options, the same for every call.
RegistrationBaseline BaselineForRegistration(storage::Store& store,
                                             const storage::Capture& baseline,
                                             const registration::RegistrationOptions& options) {
  const auto skin = LatestStoredMask(store, baseline.id, result::kSkinMask);
  const auto lesion = LatestStoredMask(store, baseline.id, result::kLesionMask);
  const std::string key =
      skin && lesion ? baseline.blob.sha256 + "/" + skin->sha256 + "/" + lesion->sha256 : "";
  if (!key.empty()) {
    if (auto prepared = PreparedBaselines().Get(key)) return {*prepared, skin->mask, lesion->mask};
  }
  const cv::Mat image = DecodeStoredImage(store, baseline);
  RegistrationBaseline out;
  const bool stored_masks =
      skin && lesion && skin->mask.size() == image.size() && lesion->mask.size() == image.size();
  if (stored_masks) {
    out.skin = skin->mask;
    out.lesion = lesion->mask;
  } else {
    scoring::ClassicalSegmenterOptions so;
    so.condition = baseline.condition;
    const scoring::Segmentation seg = scoring::MakeClassicalSegmenter(so)->Segment(image);
    out.skin = seg.skin_mask;
    out.lesion = seg.lesion_mask;
  }
  registration::RegistrationOptions ro = options;
  ro.fixed_mask = out.skin & ~out.lesion;
  out.prepared = registration::PrepareBaseline(image, ro);
  if (stored_masks) {
    PreparedBaselines().Put(key, out.prepared, registration::PreparedBytes(*out.prepared));
  }
  return out;
}

}  // namespace

registration::RegistrationOptions RegistrationOptionsOf(const PipelineOptions& options) {
  registration::RegistrationOptions ro;
  ro.threads = options.registration_threads;
  return ro;
}

RegistrationSides PrepareRegistration(storage::Store& store, std::int64_t baseline_id,
                                      const cv::Mat& image, const PipelineOptions& options) {
  const auto baseline = store.repository().FindCapture(baseline_id);
  if (!baseline) throw Error(ErrorCode::kNotFound, "baseline capture vanished");
  const registration::RegistrationOptions ro = RegistrationOptionsOf(options);
  return {BaselineForRegistration(store, *baseline, ro), registration::PrepareCapture(image, ro)};
}

}  // namespace skintrack::pipeline::detail
