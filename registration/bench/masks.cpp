#include "masks.h"

#include <opencv2/imgproc.hpp>

#include "skintrack/core/error.h"
#include "skintrack/scoring/segmentation.h"

namespace skintrack::bench {
namespace {

cv::Mat SkinMinusLesion(const phantom::Visit& v) {
  cv::Mat m = v.skin_mask.clone();
  cv::Mat lesion = v.envelope_mask.empty() ? v.lesion_mask : (v.lesion_mask | v.envelope_mask);
  cv::Mat grown;
  cv::dilate(lesion, grown, cv::getStructuringElement(cv::MORPH_ELLIPSE, cv::Size(15, 15)));
  m.setTo(0, grown);
  return m;
}

// The region of interest the service pipeline passes: skin minus lesions, both from the
// classical segmenter of the capture's condition, nothing grown.
cv::Mat PipelineMask(const cv::Mat& bgr, Condition condition) {
  scoring::ClassicalSegmenterOptions so;
  so.condition = condition;
  const scoring::Segmentation seg = scoring::MakeClassicalSegmenter(so)->Segment(bgr);
  cv::Mat m = seg.skin_mask & ~seg.lesion_mask;
  // RegisterToBaseline rejects an (almost) empty region; the pipeline would fail the same way,
  // the bench falls back to the whole image and says so.
  if (cv::countNonZero(m) < 64) return cv::Mat();
  return m;
}

}  // namespace

MaskMode ParseMaskMode(const std::string& text) {
  if (text == "pipeline") return MaskMode::kPipeline;
  if (text == "truth") return MaskMode::kTruth;
  if (text == "none") return MaskMode::kNone;
  throw Error(ErrorCode::kInvalidArgument, "--masks must be pipeline, truth or none");
}

const char* MaskModeName(MaskMode mode) {
  switch (mode) {
    case MaskMode::kPipeline:
      return "skin-minus-lesion masks from the classical segmenter (as the pipeline)";
    case MaskMode::kTruth:
      return "skin-minus-lesion masks from the phantom truth";
    case MaskMode::kNone:
      break;
  }
  return "no masks";
}

cv::Mat MaskFor(MaskMode mode, const phantom::Visit& v, Condition condition) {
  switch (mode) {
    case MaskMode::kPipeline:
      return PipelineMask(v.image, condition);
    case MaskMode::kTruth:
      return SkinMinusLesion(v);
    case MaskMode::kNone:
      break;
  }
  return cv::Mat();
}

}  // namespace skintrack::bench
