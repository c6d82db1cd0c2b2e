#include "skintrack/pipeline/change.h"

#include "skintrack/pipeline/baseline.h"
#include "skintrack/pipeline/results.h"
#include "skintrack/storage/store.h"

namespace skintrack::pipeline {

MasksInBaselineFrame WarpToBaselineFrame(const cv::Mat& lesion,
                                         const registration::RegistrationResult& reg) {
  MasksInBaselineFrame out;
  out.lesion = registration::WarpMaskToBaseline(lesion, reg);
  out.seen = registration::WarpMaskToBaseline(cv::Mat(lesion.size(), CV_8U, cv::Scalar(255)), reg);
  return out;
}

scoring::MaskChange ChangeInBaselineFrame(const cv::Mat& baseline_lesion,
                                          const cv::Mat& baseline_skin,
                                          const MasksInBaselineFrame& warped) {
  return scoring::CompareMasks(baseline_lesion, warped.lesion, warped.seen & baseline_skin);
}

scoring::MaskChange ChangeInBaselineFrame(const cv::Mat& baseline_lesion,
                                          const cv::Mat& baseline_skin, const cv::Mat& lesion,
                                          const registration::RegistrationResult& reg) {
  return ChangeInBaselineFrame(baseline_lesion, baseline_skin, WarpToBaselineFrame(lesion, reg));
}

std::optional<StoredChangeResult> StoredChange(storage::Store& store,
                                               const storage::Capture& capture,
                                               std::string* why_not) {
  const auto fail = [&](const std::string& why) -> std::optional<StoredChangeResult> {
    if (why_not) *why_not = why;
    return std::nullopt;
  };
  const std::string id = std::to_string(capture.id);
  const auto reg = StoredRegistration(store, capture);
  if (!reg) return fail("capture " + id + " has no successful registration to its baseline");
  const auto lesion = LatestMask(store, capture.id, result::kLesionMask);
  const auto base_lesion = LatestMask(store, reg->baseline_capture_id, result::kLesionMask);
  const auto base_skin = LatestMask(store, reg->baseline_capture_id, result::kSkinMask);
  if (!lesion || !base_lesion || !base_skin) {
    return fail("capture " + id + " or its baseline has no lesion and skin masks yet");
  }
  return StoredChangeResult{ChangeInBaselineFrame(*base_lesion, *base_skin, *lesion, reg->result),
                            reg->baseline_capture_id};
}

}  // namespace skintrack::pipeline
