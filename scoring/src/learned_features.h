// Per-pixel features of the learned segmenter, computed on a reduced working copy of the image.
// Private to scoring/. The list is versioned (kFeatureVersion): a model file records the version
// it was trained with and is refused by a build that computes other features.
#pragma once

#include <opencv2/core.hpp>

#include "skintrack/scoring/learned_segmenter.h"

namespace skintrack::scoring::learned {

// Bump whenever a feature is added, removed, reordered or computed differently, including when
// the classical segmenter whose masks are features changes its output (2: pinned to the 1.1
// psoriasis rules after 1.2 had changed the lesion feature under version 1).
constexpr uint32_t kFeatureVersion = 2;

// What the features of one image are computed from: the working copy and the classical
// segmenter's masks on it (cached during training, because they cost most of the time).
struct FeatureInputs {
  cv::Mat work_bgr;          // CV_8UC3, longest side <= work_max_side
  cv::Mat classical_skin;    // CV_8UC1 0/255, work size
  cv::Mat classical_lesion;  // CV_8UC1 0/255, work size; empty for the skin target
};

// The working copy (INTER_AREA; never enlarged) plus the classical masks for `target`.
FeatureInputs PrepareInputs(const cv::Mat& bgr, LearnedTarget target, int work_max_side);

// Base features, CV_32FC(n): colour at three scales, colour relative to the image's own skin
// (median and rank), local contrast, texture (local deviation, gradient, difference of
// Gaussians) and the classical masks. n = BaseFeatureCount(target).
cv::Mat BaseFeatures(const FeatureInputs& in, LearnedTarget target);
int BaseFeatureCount(LearnedTarget target);

// Auto-context: appends the first stage's probability map (CV_32FC1, work size) smoothed at three
// scales and its mean, so that the second stage sees each pixel's neighbourhood of decisions.
cv::Mat WithContext(const cv::Mat& base, const cv::Mat& stage1_probability);
constexpr int kContextFeatures = 4;

}  // namespace skintrack::scoring::learned
