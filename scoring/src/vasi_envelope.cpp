#include "skintrack/scoring/vasi_envelope.h"

#include "skintrack/scoring/segmentation.h"

namespace skintrack::scoring {

cv::Mat VasiEnvelope(const cv::Mat& lesion, const cv::Mat& skin,
                     const cv::Mat& segmenter_envelope) {
  const cv::Mat depigmented = lesion != 0;
  cv::Mat envelope =
      segmenter_envelope.empty() ? VitiligoEnvelope(depigmented) : cv::Mat(segmenter_envelope != 0);
  if (!skin.empty()) envelope &= skin != 0;
  return envelope | depigmented;
}

}  // namespace skintrack::scoring
