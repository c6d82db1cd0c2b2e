// Majority vote and STAPLE consensus, checked against hand-computed figures and against an
// independent per-pixel STAPLE written here (the library groups pixels by vote pattern).
#include "skintrack/scoring/consensus.h"

#include <gtest/gtest.h>

#include <cmath>
#include <opencv2/imgproc.hpp>
#include <vector>

#include "skintrack/core/error.h"

namespace skintrack::scoring {
namespace {

cv::Mat Rect(cv::Size size, cv::Rect r) {
  cv::Mat m = cv::Mat::zeros(size, CV_8U);
  m(r).setTo(255);
  return m;
}

// `truth` with each pixel flipped independently: in-truth pixels kept with probability
// `sensitivity`, out-of-truth pixels left unmarked with probability `specificity`.
cv::Mat NoisyAnnotator(const cv::Mat& truth, double sensitivity, double specificity, cv::RNG& rng) {
  cv::Mat m = cv::Mat::zeros(truth.size(), CV_8U);
  for (int y = 0; y < truth.rows; ++y) {
    for (int x = 0; x < truth.cols; ++x) {
      const bool in = truth.at<uchar>(y, x) != 0;
      const double u = rng.uniform(0.0, 1.0);
      const bool marked = in ? u < sensitivity : u >= specificity;
      m.at<uchar>(y, x) = marked ? 255 : 0;
    }
  }
  return m;
}

// Warfield's EM, pixel by pixel, written without the library's pattern grouping.
std::vector<double> NaiveStapleTruth(const std::vector<cv::Mat>& masks, int iterations) {
  const size_t n = masks.size(), count = masks[0].total();
  double marked = 0;
  for (const cv::Mat& m : masks) marked += cv::countNonZero(m);
  const double f = marked / static_cast<double>(n * count);
  std::vector<double> p(n, 0.99), q(n, 0.99), w(count);
  auto e_step = [&] {
    for (size_t i = 0; i < count; ++i) {
      double a = f, b = 1 - f;
      for (size_t j = 0; j < n; ++j) {
        const bool d = masks[j].data[i] != 0;
        a *= d ? p[j] : 1 - p[j];
        b *= d ? 1 - q[j] : q[j];
      }
      w[i] = a / (a + b);
    }
  };
  for (int it = 0; it < iterations; ++it) {
    e_step();
    for (size_t j = 0; j < n; ++j) {
      double hit = 0, in = 0, rej = 0, out = 0;
      for (size_t i = 0; i < count; ++i) {
        const bool d = masks[j].data[i] != 0;
        in += w[i];
        out += 1 - w[i];
        if (d) hit += w[i];
        if (!d) rej += 1 - w[i];
      }
      p[j] = hit / in;
      q[j] = rej / out;
    }
  }
  e_step();
  return w;
}

TEST(ConsensusTest, DiceCountsOverlapAndTreatsTwoEmptyMasksAsAgreeing) {
  const cv::Size s(10, 10);
  const cv::Mat a = Rect(s, {0, 0, 4, 5});  // 20 pixels
  const cv::Mat b = Rect(s, {2, 0, 4, 5});  // 20 pixels, 10 shared
  EXPECT_DOUBLE_EQ(MaskDice(a, b), 0.5);
  EXPECT_DOUBLE_EQ(MaskDice(a, a), 1.0);
  EXPECT_DOUBLE_EQ(MaskDice(cv::Mat::zeros(s, CV_8U), cv::Mat::zeros(s, CV_8U)), 1.0);
  EXPECT_DOUBLE_EQ(MaskDice(a, cv::Mat::zeros(s, CV_8U)), 0.0);
}

TEST(ConsensusTest, MajorityKeepsPixelsMarkedByAtLeastHalf) {
  const cv::Size s(12, 1);
  const cv::Mat a = Rect(s, {0, 0, 6, 1}), b = Rect(s, {3, 0, 6, 1}), c = Rect(s, {5, 0, 7, 1});
  // Votes per column: 1 1 1 2 2 3 2 2 2 1 1 1; at least 2 of 3 = columns 3..8.
  EXPECT_EQ(cv::countNonZero(MajorityConsensus({a, b, c}) != Rect(s, {3, 0, 6, 1})), 0);
  // Of two annotators, half is one: the union.
  EXPECT_EQ(cv::countNonZero(MajorityConsensus({a, c}) != (a | c)), 0);
  // Any non-zero value is a mark.
  EXPECT_EQ(
      cv::countNonZero(MajorityConsensus({a / 255, b / 255, c / 255}) != Rect(s, {3, 0, 6, 1})), 0);
}

TEST(ConsensusTest, MajorityReportHasHandComputedAgreement) {
  const cv::Size s(12, 1);
  const cv::Mat a = Rect(s, {0, 0, 6, 1}), b = Rect(s, {3, 0, 6, 1}), c = Rect(s, {5, 0, 7, 1});
  const ConsensusReport r = BuildConsensus({a, b, c}, ConsensusMethod::kMajority);
  EXPECT_DOUBLE_EQ(r.consensus_fraction, 6.0 / 12.0);
  // Pairs: a-b share 3 (Dice 0.5), a-c share 1 (2/13), b-c share 4 (8/13).
  EXPECT_NEAR(r.pairwise_dice_mean, (0.5 + 2.0 / 13 + 8.0 / 13) / 3, 1e-12);
  ASSERT_EQ(r.per_annotator.size(), 3U);
  // a vs consensus (columns 3..8): shares 3..5 -> 2*3/12.
  EXPECT_NEAR(r.per_annotator[0].dice_vs_consensus, 0.5, 1e-12);
  // a vs the others' consensus (b | c = columns 3..11): shares 3, 2*3/(6+9).
  EXPECT_NEAR(r.per_annotator[0].dice_vs_others, 6.0 / 15, 1e-12);
  EXPECT_NEAR(r.per_annotator[0].sensitivity, 3.0 / 6, 1e-12);
  EXPECT_NEAR(r.per_annotator[0].specificity, 3.0 / 6, 1e-12);
  // b is exactly the consensus.
  EXPECT_DOUBLE_EQ(r.per_annotator[1].dice_vs_consensus, 1.0);
  EXPECT_DOUBLE_EQ(r.per_annotator[1].sensitivity, 1.0);
  EXPECT_DOUBLE_EQ(r.per_annotator[1].specificity, 1.0);
}

TEST(ConsensusTest, LeaveOneOutOfTwoAnnotatorsIsTheOtherMask) {
  const cv::Size s(10, 10);
  const cv::Mat a = Rect(s, {0, 0, 4, 5}), b = Rect(s, {2, 0, 4, 5});
  for (auto method : {ConsensusMethod::kMajority, ConsensusMethod::kStaple}) {
    const ConsensusReport r = BuildConsensus({a, b}, method);
    EXPECT_DOUBLE_EQ(r.per_annotator[0].dice_vs_others, 0.5);
    EXPECT_DOUBLE_EQ(r.per_annotator[1].dice_vs_others, 0.5);
    EXPECT_DOUBLE_EQ(r.pairwise_dice_mean, 0.5);
  }
}

TEST(ConsensusTest, StapleRecoversEachAnnotatorsRates) {
  cv::Mat truth = cv::Mat::zeros(240, 240, CV_8U);
  cv::circle(truth, {120, 120}, 70, 255, cv::FILLED);
  const std::vector<double> sens = {0.95, 0.90, 0.85, 0.60, 0.98};
  const std::vector<double> spec = {0.99, 0.97, 0.995, 0.90, 0.98};
  cv::RNG rng(7);
  std::vector<cv::Mat> masks;
  for (size_t j = 0; j < sens.size(); ++j)
    masks.push_back(NoisyAnnotator(truth, sens[j], spec[j], rng));
  const StapleEstimate e = Staple(masks);
  EXPECT_TRUE(e.converged);
  const double in = cv::countNonZero(truth), out = static_cast<double>(truth.total()) - in;
  for (size_t j = 0; j < masks.size(); ++j) {
    // The rates this annotator actually has against the truth it never saw.
    const double hits = cv::countNonZero(masks[j] & truth);
    const double rejections = out - cv::countNonZero(masks[j] & ~truth);
    EXPECT_NEAR(e.sensitivity[j], hits / in, 0.01) << "annotator " << j;
    EXPECT_NEAR(e.specificity[j], rejections / out, 0.01) << "annotator " << j;
  }
  // Weighting annotators by their reliability beats counting votes on this set.
  EXPECT_GT(MaskDice(e.mask, truth), 0.99);
  EXPECT_GT(MaskDice(e.mask, truth), MaskDice(MajorityConsensus(masks), truth));
}

TEST(ConsensusTest, StapleMatchesAPixelByPixelImplementation) {
  cv::RNG rng(3);
  cv::Mat truth = cv::Mat::zeros(40, 50, CV_8U);
  cv::ellipse(truth, {25, 20}, {15, 9}, 20, 0, 360, 255, cv::FILLED);
  std::vector<cv::Mat> masks = {NoisyAnnotator(truth, 0.9, 0.95, rng),
                                NoisyAnnotator(truth, 0.7, 0.99, rng),
                                NoisyAnnotator(truth, 0.95, 0.8, rng)};
  StapleOptions o;
  o.max_iterations = 25;
  o.tolerance = 1e-15;  // run all 25 iterations, as the naive version does
  const StapleEstimate e = Staple(masks, o);
  EXPECT_EQ(e.iterations, 25);
  const std::vector<double> w = NaiveStapleTruth(masks, 25);
  double worst = 0;
  for (size_t i = 0; i < w.size(); ++i) {
    worst = std::max(worst, std::abs(w[i] - e.truth_probability.at<float>(static_cast<int>(i))));
  }
  EXPECT_LT(worst, 1e-5);
}

TEST(ConsensusTest, IdenticalMasksAreTheirOwnConsensus) {
  const cv::Mat a = Rect({30, 20}, {5, 5, 10, 8});
  for (auto method : {ConsensusMethod::kMajority, ConsensusMethod::kStaple}) {
    const ConsensusReport r = BuildConsensus({a, a, a}, method);
    EXPECT_EQ(cv::countNonZero(r.mask != a), 0);
    for (const AnnotatorAgreement& x : r.per_annotator) {
      EXPECT_NEAR(x.sensitivity, 1.0, 1e-9);
      EXPECT_NEAR(x.specificity, 1.0, 1e-9);
      EXPECT_DOUBLE_EQ(x.dice_vs_others, 1.0);
    }
  }
}

TEST(ConsensusTest, RefusesMasksThatCannotBeCompared) {
  const cv::Mat a = Rect({10, 10}, {0, 0, 5, 5});
  EXPECT_THROW(BuildConsensus({a}, ConsensusMethod::kMajority), Error);
  EXPECT_THROW(BuildConsensus({a, Rect({11, 10}, {0, 0, 5, 5})}, ConsensusMethod::kStaple), Error);
  cv::Mat wide;
  a.convertTo(wide, CV_16U);
  EXPECT_THROW(MajorityConsensus({a, wide}), Error);
  EXPECT_THROW(Staple(std::vector<cv::Mat>(31, a)), Error);
  EXPECT_THROW(ParseConsensusMethod("vote"), Error);
  StapleOptions bad;
  bad.initial_sensitivity = 0.3;
  EXPECT_THROW(Staple({a, a}, bad), Error);
}

}  // namespace
}  // namespace skintrack::scoring
