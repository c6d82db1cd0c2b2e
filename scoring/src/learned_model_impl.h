// Internals of LearnedModel shared by its training, its file format and its prediction.
// Private to scoring/.
#pragma once

#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "learned_features.h"
#include "learned_forest.h"
#include "skintrack/scoring/learned_segmenter.h"

namespace skintrack::scoring {

struct LearnedModel::Impl {
  LearnedModelInfo info;
  learned::Forest stage1;
  std::optional<learned::Forest> stage2;  // present when info.options.auto_context
};

namespace learned {

// Layout of the model file (learned_model_io.cpp). 2: the tuned smoothing after the threshold.
// 3: the training's tone copies after the seed. 4: its phantom scenes after them. 5: the layout
// of 4; the model's id names the file's contents (LearnedModelInfo::Id), which a file of 4 or
// older keeps out of its id so that registered models keep theirs. Files of
// kOldestFormatVersion and later are read (the fields they lack as 0).
constexpr uint32_t kFormatVersion = 5;
constexpr uint32_t kFirstFormatWithContentInId = 5;
constexpr uint32_t kOldestFormatVersion = 2;

// The model file without its trailing checksum, and that checksum (FNV-1a of the body): the
// model's content_hash.
std::string ModelFileBody(const LearnedModel::Impl& model);
uint64_t ModelFileChecksum(std::string_view body);

// The thresholds tried wherever one is tuned on out-of-fold maps (the general model's decision,
// the patient forest's): 0.2, 0.25, ..., 0.8.
constexpr int kThresholdCandidates = 13;
constexpr double ThresholdCandidate(int i) { return 0.2 + 0.05 * i; }

// The forest's probability for every pixel of a CV_32FC(n) feature image; CV_32FC1.
cv::Mat PredictMap(const Forest& forest, const cv::Mat& features);

// The same on every second row and column, interpolated back to the full size: four times
// cheaper, for the first stage, whose map the second stage only sees smoothed.
cv::Mat PredictMapStrided(const Forest& forest, const cv::Mat& features);

// Both stages on prepared inputs; CV_32FC1 at the working size.
cv::Mat StagedProbability(const LearnedModel::Impl& model, const FeatureInputs& in);

// Probability smoothed by a Gaussian of `sigma` work pixels, with components below
// `min_component_share` of the image set to 0 and holes below `max_hole_share` set to 1;
// thresholding it at `threshold` gives the final mask.
cv::Mat CleanProbability(const cv::Mat& probability, double threshold, double sigma,
                         double min_component_share, double max_hole_share);

// `clean` (any depth, work size) interpolated to `size` and thresholded: smooth full-size borders.
cv::Mat ExpandDecision(const cv::Mat& clean, double threshold, cv::Size size);

// A 0/255 mask at the work size `size`: set where at least half of its area was set.
cv::Mat MaskAtWorkSize(const cv::Mat& mask, cv::Size size);

// `count` training pixels of a photo (row-major indices at the work size): `positive_share` of
// them from its 0/255 mask `truth` (all of it when smaller), the rest from outside, so that small
// lesions are not drowned by the background; `positive_share` 0 draws uniformly. Seeded.
std::vector<uint32_t> PickTrainingPixels(const cv::Mat& truth, int count, double positive_share,
                                         uint64_t seed);

// The feature rows of `picks` (CV_32FC(n) `features`) and their labels from `truth`, appended.
void AppendSamples(const cv::Mat& features, const cv::Mat& truth,
                   const std::vector<uint32_t>& picks, SampleSet& set);

// Completes `seg` whose lesion and skin masks are set: the skin widened by the lesions, the
// lesion share of the skin with the threshold moved by 0.1 either way (on the work-size `clean`
// map and skin), the flags and, for vitiligo, the envelope.
void FinishSegmentation(const cv::Mat& clean, double threshold, const cv::Mat& work_skin_mask,
                        LearnedTarget target, Segmentation& seg);

}  // namespace learned
}  // namespace skintrack::scoring
