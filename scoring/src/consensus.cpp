#include "skintrack/scoring/consensus.h"

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <unordered_map>
#include <utility>

#include "skintrack/core/error.h"

namespace skintrack::scoring {
namespace {

constexpr int kMaxStapleMasks = 30;  // vote patterns are bits of a 32-bit code
constexpr double kTiny = 1e-12;      // keeps logarithms finite for rates of exactly 0 or 1

void CheckMasks(const std::vector<cv::Mat>& masks) {
  if (masks.empty()) throw Error(ErrorCode::kInvalidArgument, "consensus of no mask");
  for (size_t i = 0; i < masks.size(); ++i) {
    const cv::Mat& m = masks[i];
    if (m.empty() || m.type() != CV_8UC1) {
      throw Error(ErrorCode::kInvalidArgument,
                  "mask " + std::to_string(i + 1) + " is not a single-channel 8-bit image");
    }
    if (m.size() != masks[0].size()) {
      throw Error(ErrorCode::kInvalidArgument,
                  "mask " + std::to_string(i + 1) + " is " + std::to_string(m.cols) + "x" +
                      std::to_string(m.rows) + ", mask 1 is " + std::to_string(masks[0].cols) +
                      "x" + std::to_string(masks[0].rows));
    }
  }
}

double Clamp01(double v) { return std::clamp(v, kTiny, 1.0 - kTiny); }

// Each pixel's vote pattern: bit j is set when annotator j marked it.
cv::Mat VotePatterns(const std::vector<cv::Mat>& masks) {
  cv::Mat codes = cv::Mat::zeros(masks[0].size(), CV_32S);
  for (size_t j = 0; j < masks.size(); ++j) {
    const auto bit = static_cast<std::int32_t>(1u << j);
    for (int y = 0; y < codes.rows; ++y) {
      const uchar* m = masks[j].ptr<uchar>(y);
      auto* c = codes.ptr<std::int32_t>(y);
      for (int x = 0; x < codes.cols; ++x) {
        if (m[x] != 0) c[x] |= bit;
      }
    }
  }
  return codes;
}

struct Pattern {
  std::uint32_t code = 0;
  double count = 0;
  double truth = 0;  // posterior that pixels with this pattern are in the true mask
};

std::vector<Pattern> CountPatterns(const cv::Mat& codes) {
  std::unordered_map<std::uint32_t, double> counts;
  for (int y = 0; y < codes.rows; ++y) {
    const auto* c = codes.ptr<std::int32_t>(y);
    for (int x = 0; x < codes.cols; ++x) counts[static_cast<std::uint32_t>(c[x])] += 1;
  }
  std::vector<Pattern> out;
  out.reserve(counts.size());
  for (const auto& [code, count] : counts) out.push_back({code, count, 0});
  // Sorted, so that sums run in the same order on every machine.
  std::sort(out.begin(), out.end(),
            [](const Pattern& a, const Pattern& b) { return a.code < b.code; });
  return out;
}

bool Voted(std::uint32_t code, size_t j) { return (code >> j & 1u) != 0; }

// E step: the posterior of each pattern given the current rates.
void EstimateTruth(std::vector<Pattern>& patterns, double prior, const std::vector<double>& p,
                   const std::vector<double>& q) {
  const double log_in = std::log(Clamp01(prior)), log_out = std::log(Clamp01(1 - prior));
  for (Pattern& pat : patterns) {
    double a = log_in, b = log_out;
    for (size_t j = 0; j < p.size(); ++j) {
      const bool d = Voted(pat.code, j);
      a += std::log(Clamp01(d ? p[j] : 1 - p[j]));
      b += std::log(Clamp01(d ? 1 - q[j] : q[j]));
    }
    pat.truth = 1.0 / (1.0 + std::exp(b - a));
  }
}

// M step: each annotator's sensitivity and specificity given the posteriors; returns the largest
// change. A rate with no evidence (no pixel likely in, or out of, the truth) keeps its value.
double UpdateRates(const std::vector<Pattern>& patterns, std::vector<double>& p,
                   std::vector<double>& q) {
  double total_in = 0, total_out = 0;
  for (const Pattern& pat : patterns) {
    total_in += pat.count * pat.truth;
    total_out += pat.count * (1 - pat.truth);
  }
  double moved = 0;
  for (size_t j = 0; j < p.size(); ++j) {
    double hit = 0, rejection = 0;
    for (const Pattern& pat : patterns) {
      if (Voted(pat.code, j)) {
        hit += pat.count * pat.truth;
      } else {
        rejection += pat.count * (1 - pat.truth);
      }
    }
    const double new_p = total_in > 0 ? hit / total_in : p[j];
    const double new_q = total_out > 0 ? rejection / total_out : q[j];
    moved = std::max({moved, std::abs(new_p - p[j]), std::abs(new_q - q[j])});
    p[j] = new_p;
    q[j] = new_q;
  }
  return moved;
}

void FillProbability(const cv::Mat& codes, const std::vector<Pattern>& patterns,
                     StapleEstimate& out) {
  std::unordered_map<std::uint32_t, float> truth;
  for (const Pattern& pat : patterns) truth[pat.code] = static_cast<float>(pat.truth);
  out.truth_probability.create(codes.size(), CV_32F);
  for (int y = 0; y < codes.rows; ++y) {
    const auto* c = codes.ptr<std::int32_t>(y);
    auto* w = out.truth_probability.ptr<float>(y);
    for (int x = 0; x < codes.cols; ++x) w[x] = truth[static_cast<std::uint32_t>(c[x])];
  }
  out.mask = out.truth_probability >= 0.5F;
}

// Sensitivity and specificity of `mask` measured against `reference`.
std::pair<double, double> RatesAgainst(const cv::Mat& mask, const cv::Mat& reference) {
  const double total = static_cast<double>(mask.total());
  const double in = cv::countNonZero(reference);
  cv::Mat marked = mask != 0, both;
  cv::bitwise_and(marked, reference, both);
  const double hits = cv::countNonZero(both);
  const double false_marks = cv::countNonZero(marked) - hits;
  const double sensitivity = in > 0 ? hits / in : 1.0;
  const double specificity = total - in > 0 ? (total - in - false_marks) / (total - in) : 1.0;
  return {sensitivity, specificity};
}

cv::Mat ConsensusBy(const std::vector<cv::Mat>& masks, ConsensusMethod method,
                    const StapleOptions& options) {
  if (masks.size() == 1) return masks[0] != 0;
  return method == ConsensusMethod::kMajority ? MajorityConsensus(masks)
                                              : Staple(masks, options).mask;
}

}  // namespace

const char* ConsensusMethodName(ConsensusMethod method) {
  return method == ConsensusMethod::kMajority ? "majority" : "staple";
}

ConsensusMethod ParseConsensusMethod(const std::string& name) {
  if (name == "majority") return ConsensusMethod::kMajority;
  if (name == "staple") return ConsensusMethod::kStaple;
  throw Error(ErrorCode::kInvalidArgument,
              "consensus method must be majority or staple, got '" + name + "'");
}

void StapleOptions::Check() const {
  auto rate = [](double v, const char* name) {
    if (!(v > 0.5 && v < 1.0)) {
      throw Error(ErrorCode::kInvalidArgument, std::string(name) + " must lie in (0.5, 1)");
    }
  };
  rate(initial_sensitivity, "initial_sensitivity");
  rate(initial_specificity, "initial_specificity");
  if (max_iterations < 1 || max_iterations > 100000) {
    throw Error(ErrorCode::kInvalidArgument, "max_iterations must be 1..100000");
  }
  if (!(tolerance > 0 && tolerance < 0.1)) {
    throw Error(ErrorCode::kInvalidArgument, "tolerance must lie in (0, 0.1)");
  }
}

double MaskDice(const cv::Mat& a, const cv::Mat& b) {
  const double na = cv::countNonZero(a), nb = cv::countNonZero(b);
  if (na + nb == 0) return 1.0;
  cv::Mat both;
  cv::bitwise_and(a != 0, b != 0, both);
  return 2.0 * cv::countNonZero(both) / (na + nb);
}

cv::Mat MajorityConsensus(const std::vector<cv::Mat>& masks) {
  CheckMasks(masks);
  cv::Mat votes = cv::Mat::zeros(masks[0].size(), CV_16U);
  for (const cv::Mat& m : masks) cv::add(votes, (m != 0) / 255, votes, cv::noArray(), CV_16U);
  cv::Mat twice;
  votes.convertTo(twice, CV_16U, 2.0);
  return twice >= static_cast<double>(masks.size());
}

StapleEstimate Staple(const std::vector<cv::Mat>& masks, const StapleOptions& options) {
  CheckMasks(masks);
  options.Check();
  if (masks.size() > static_cast<size_t>(kMaxStapleMasks)) {
    throw Error(ErrorCode::kInvalidArgument,
                "STAPLE takes at most " + std::to_string(kMaxStapleMasks) + " masks");
  }
  const size_t n = masks.size();
  StapleEstimate out;
  double marked = 0;
  for (const cv::Mat& m : masks) marked += cv::countNonZero(m);
  out.prior = marked / (static_cast<double>(n) * static_cast<double>(masks[0].total()));
  if (n == 1) {
    out.mask = masks[0] != 0;
    out.mask.convertTo(out.truth_probability, CV_32F, 1.0 / 255);
    out.sensitivity = {1.0};
    out.specificity = {1.0};
    out.converged = true;
    return out;
  }
  const cv::Mat codes = VotePatterns(masks);
  std::vector<Pattern> patterns = CountPatterns(codes);
  out.sensitivity.assign(n, options.initial_sensitivity);
  out.specificity.assign(n, options.initial_specificity);
  while (out.iterations < options.max_iterations) {
    EstimateTruth(patterns, out.prior, out.sensitivity, out.specificity);
    const double moved = UpdateRates(patterns, out.sensitivity, out.specificity);
    ++out.iterations;
    if (moved < options.tolerance) {
      out.converged = true;
      break;
    }
  }
  // The posterior that goes with the final rates.
  EstimateTruth(patterns, out.prior, out.sensitivity, out.specificity);
  FillProbability(codes, patterns, out);
  return out;
}

ConsensusReport BuildConsensus(const std::vector<cv::Mat>& masks, ConsensusMethod method,
                               const StapleOptions& options) {
  CheckMasks(masks);
  if (masks.size() < 2) {
    throw Error(ErrorCode::kInvalidArgument, "a consensus needs at least 2 annotators' masks");
  }
  ConsensusReport report;
  report.method = method;
  StapleEstimate staple;
  if (method == ConsensusMethod::kStaple) {
    staple = Staple(masks, options);
    report.mask = staple.mask;
  } else {
    report.mask = MajorityConsensus(masks);
  }
  report.consensus_fraction =
      static_cast<double>(cv::countNonZero(report.mask)) / static_cast<double>(report.mask.total());
  double pair_sum = 0;
  int pairs = 0;
  for (size_t i = 0; i < masks.size(); ++i) {
    for (size_t j = i + 1; j < masks.size(); ++j, ++pairs) pair_sum += MaskDice(masks[i], masks[j]);
  }
  report.pairwise_dice_mean = pair_sum / pairs;
  for (size_t i = 0; i < masks.size(); ++i) {
    std::vector<cv::Mat> others;
    for (size_t j = 0; j < masks.size(); ++j) {
      if (j != i) others.push_back(masks[j]);
    }
    AnnotatorAgreement a;
    a.dice_vs_consensus = MaskDice(masks[i], report.mask);
    a.dice_vs_others = MaskDice(masks[i], ConsensusBy(others, method, options));
    if (method == ConsensusMethod::kStaple) {
      a.sensitivity = staple.sensitivity[i];
      a.specificity = staple.specificity[i];
    } else {
      std::tie(a.sensitivity, a.specificity) = RatesAgainst(masks[i], report.mask);
    }
    report.per_annotator.push_back(a);
  }
  return report;
}

}  // namespace skintrack::scoring
