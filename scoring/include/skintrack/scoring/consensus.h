// Consensus of several annotators' masks of one image, and how well each annotator agrees with it.
// Two methods: majority vote (a pixel is in the consensus when at least half of the annotators
// marked it) and STAPLE (Warfield, Zou and Wells, IEEE TMI 2004: expectation-maximisation of each
// annotator's sensitivity and specificity and of the hidden true mask). Both are the one home of
// these rules: the learned segmenter's reference masks, `skintrack consensus` and the annotation
// store use them.
#pragma once

#include <opencv2/core.hpp>
#include <string>
#include <vector>

namespace skintrack::scoring {

enum class ConsensusMethod { kMajority, kStaple };

// "majority" / "staple"; the parser throws Error(kInvalidArgument) naming the accepted values.
const char* ConsensusMethodName(ConsensusMethod method);
ConsensusMethod ParseConsensusMethod(const std::string& name);

struct StapleOptions {
  double initial_sensitivity = 0.99;  // every annotator's, before the first iteration
  double initial_specificity = 0.99;
  int max_iterations = 200;
  double tolerance = 1e-9;  // stop when no sensitivity / specificity moves more than this
  // Throws Error(kInvalidArgument) naming the first bad field.
  void Check() const;
};

// The STAPLE estimate. `prior` is the fraction of pixels the annotators marked on average
// (Warfield's global prior, held fixed); `truth_probability` is the posterior that each pixel is
// in the true mask (CV_32F) and `mask` is where it is at least 0.5.
struct StapleEstimate {
  cv::Mat mask;                     // CV_8UC1 0/255
  cv::Mat truth_probability;        // CV_32FC1 in [0, 1]
  std::vector<double> sensitivity;  // per annotator, in input order
  std::vector<double> specificity;
  double prior = 0;
  int iterations = 0;
  bool converged = false;
};

struct AnnotatorAgreement {
  double dice_vs_consensus = 0;  // with the consensus of all annotators, this one included
  double dice_vs_others = 0;     // with the consensus of the others (leave-one-out)
  // STAPLE: the method's own estimates. Majority vote: measured against the consensus mask.
  double sensitivity = 0;
  double specificity = 0;
};

struct ConsensusReport {
  ConsensusMethod method = ConsensusMethod::kMajority;
  cv::Mat mask;                                   // CV_8UC1 0/255, the consensus of all annotators
  double consensus_fraction = 0;                  // of the image's pixels in `mask`
  double pairwise_dice_mean = 0;                  // mean Dice over every pair of annotators
  std::vector<AnnotatorAgreement> per_annotator;  // in input order
};

// Dice of two masks (non-zero = marked): 2|A and B| / (|A| + |B|); 1 when both are empty.
double MaskDice(const cv::Mat& a, const cv::Mat& b);

// Pixels marked (non-zero) in at least half of `masks` (2 * votes >= count). Throws
// Error(kInvalidArgument) for no mask, or masks that are not CV_8UC1 of one size.
cv::Mat MajorityConsensus(const std::vector<cv::Mat>& masks);

// STAPLE over `masks` (non-zero = marked; up to 30 annotators). Pixels are grouped by the pattern
// of votes they received, so each iteration costs one pass over the patterns, not the pixels.
// One mask is its own consensus (sensitivity and specificity 1). Throws as MajorityConsensus,
// and for more than 30 masks.
StapleEstimate Staple(const std::vector<cv::Mat>& masks, const StapleOptions& options = {});

// The consensus by `method` and every annotator's agreement with it (needs at least 2 masks;
// leave-one-out consensus of a single remaining mask is that mask). Throws as above and
// Error(kInvalidArgument) for fewer than 2 masks.
ConsensusReport BuildConsensus(const std::vector<cv::Mat>& masks, ConsensusMethod method,
                               const StapleOptions& options = {});

}  // namespace skintrack::scoring
