#include "learned_forest.h"

#include <algorithm>
#include <cmath>
#include <cstddef>
#include <istream>
#include <opencv2/core.hpp>
#include <ostream>

#include "learned_io.h"
#include "skintrack/core/error.h"

namespace skintrack::scoring::learned {
namespace {

constexpr int kBins = 64;

// Bin edges of each feature: quantiles of (a strided subset of) its training values, so that
// every bin holds about the same number of samples.
std::vector<std::vector<float>> QuantileEdges(const SampleSet& s) {
  const size_t n = s.size();
  const size_t stride = std::max<size_t>(1, n / 20000);
  std::vector<std::vector<float>> edges(s.features);
  std::vector<float> v;
  for (int f = 0; f < s.features; ++f) {
    v.clear();
    for (size_t i = 0; i < n; i += stride) v.push_back(s.values[i * s.features + f]);
    std::sort(v.begin(), v.end());
    std::vector<float>& e = edges[f];
    for (int k = 1; k < kBins; ++k) {
      const float q = v[std::min(v.size() - 1, k * v.size() / kBins)];
      // An edge equal to the smallest value would leave bin 0 empty: skip it.
      if (q > v.front() && (e.empty() || q > e.back())) e.push_back(q);
    }
  }
  return edges;
}

}  // namespace

// Grows the trees of one forest from binned samples; one instance is shared by the threads,
// which only read it.
class ForestBuilder {
 public:
  ForestBuilder(const SampleSet& s, const ForestOptions& o)
      : s_(s), o_(o), n_(s.size()), edges_(QuantileEdges(s)), bins_(size_t(s.features) * n_) {
    for (int f = 0; f < s.features; ++f) {
      const std::vector<float>& e = edges_[f];
      for (size_t i = 0; i < n_; ++i) {
        const float x = s.values[i * s.features + f];
        bins_[size_t(f) * n_ + i] =
            static_cast<uint8_t>(std::upper_bound(e.begin(), e.end(), x) - e.begin());
      }
    }
    mtry_ = o.features_per_split > 0
                ? std::min(o.features_per_split, s.features)
                : std::max(1, static_cast<int>(std::lround(std::sqrt(double(s.features)))));
  }

  std::vector<Forest::Node> GrowTree(int tree) const {
    SplitMix rng(o_.seed * 0x9E3779B97F4A7C15ull + uint64_t(tree) + 1);
    std::vector<uint32_t> idx(n_);
    for (size_t i = 0; i < n_; ++i) idx[i] = static_cast<uint32_t>(i);
    const size_t m = std::max<size_t>(2, static_cast<size_t>(o_.bootstrap_share * n_));
    for (size_t i = 0; i < std::min(m, n_); ++i) std::swap(idx[i], idx[i + rng.Below(n_ - i)]);
    idx.resize(std::min(m, n_));

    std::vector<Forest::Node> nodes(1);
    struct Task {
      size_t begin, end;
      int depth;
      size_t node;
    };
    std::vector<Task> stack = {{0, idx.size(), 0, 0}};
    std::vector<int> order(s_.features);
    while (!stack.empty()) {
      const Task t = stack.back();
      stack.pop_back();
      size_t pos = 0;
      for (size_t i = t.begin; i < t.end; ++i) pos += s_.labels[idx[i]];
      const size_t count = t.end - t.begin;
      Forest::Node leaf{-1, 0.f, 0, static_cast<float>(double(pos) / double(count))};
      nodes[t.node] = leaf;
      if (t.depth >= o_.max_depth || count < 2 * size_t(o_.min_leaf) || pos == 0 || pos == count)
        continue;
      int best_f = -1, best_b = -1;
      double best_score = (double(pos) * pos + double(count - pos) * (count - pos)) / count;
      for (int f = 0; f < s_.features; ++f) order[f] = f;
      for (int k = 0; k < mtry_; ++k) {
        std::swap(order[k], order[k + rng.Below(s_.features - k)]);
        FindSplit(order[k], idx, t.begin, t.end, pos, best_score, best_f, best_b);
      }
      if (best_f < 0) continue;
      const uint8_t* col = &bins_[size_t(best_f) * n_];
      const auto mid = std::partition(idx.begin() + static_cast<std::ptrdiff_t>(t.begin),
                                      idx.begin() + static_cast<std::ptrdiff_t>(t.end),
                                      [&](uint32_t i) { return col[i] <= best_b; });
      const size_t split = static_cast<size_t>(mid - idx.begin());
      const size_t left = nodes.size();
      nodes.resize(left + 2);
      nodes[t.node] = {best_f, edges_[best_f][best_b], static_cast<int32_t>(left), 0.f};
      stack.push_back({t.begin, split, t.depth + 1, left});
      stack.push_back({split, t.end, t.depth + 1, left + 1});
    }
    return nodes;
  }

 private:
  // Best Gini split of feature `f` over idx[begin, end): maximises sum over both children of
  // (positives^2 + negatives^2) / size, which is minimising the weighted Gini impurity.
  void FindSplit(int f, const std::vector<uint32_t>& idx, size_t begin, size_t end, size_t pos,
                 double& best_score, int& best_f, int& best_b) const {
    const int edges = static_cast<int>(edges_[f].size());
    if (edges == 0) return;
    size_t cnt[kBins] = {}, pcnt[kBins] = {};
    const uint8_t* col = &bins_[size_t(f) * n_];
    for (size_t i = begin; i < end; ++i) {
      const uint32_t j = idx[i];
      ++cnt[col[j]];
      pcnt[col[j]] += s_.labels[j];
    }
    const size_t count = end - begin;
    size_t nl = 0, pl = 0;
    for (int b = 0; b < edges; ++b) {
      nl += cnt[b];
      pl += pcnt[b];
      const size_t nr = count - nl, pr = pos - pl;
      if (nl < size_t(o_.min_leaf)) continue;
      if (nr < size_t(o_.min_leaf)) break;
      const double score = (double(pl) * pl + double(nl - pl) * (nl - pl)) / nl +
                           (double(pr) * pr + double(nr - pr) * (nr - pr)) / nr;
      if (score > best_score + 1e-9) {
        best_score = score;
        best_f = f;
        best_b = b;
      }
    }
  }

  const SampleSet& s_;
  const ForestOptions& o_;
  size_t n_;
  std::vector<std::vector<float>> edges_;
  std::vector<uint8_t> bins_;  // feature-major
  int mtry_ = 1;
};

Forest Forest::Train(const SampleSet& samples, const ForestOptions& options) {
  if (samples.features <= 0 || samples.size() == 0 ||
      samples.values.size() != samples.size() * size_t(samples.features)) {
    throw Error(ErrorCode::kInvalidArgument, "forest: empty or inconsistent training samples");
  }
  size_t pos = 0;
  for (uint8_t l : samples.labels) pos += l != 0;
  if (pos == 0 || pos == samples.size()) {
    throw Error(ErrorCode::kInvalidArgument,
                "forest: the training pixels hold only one class (" +
                    std::string(pos == 0 ? "no positive" : "no negative") + " pixel)");
  }
  if (options.trees < 1 || options.max_depth < 1 || options.min_leaf < 1) {
    throw Error(ErrorCode::kInvalidArgument, "forest: trees, max_depth and min_leaf must be >= 1");
  }
  const ForestBuilder builder(samples, options);
  std::vector<std::vector<Node>> trees(options.trees);
  cv::parallel_for_(cv::Range(0, options.trees), [&](const cv::Range& r) {
    for (int t = r.start; t < r.end; ++t) trees[t] = builder.GrowTree(t);
  });
  Forest forest;
  forest.features_ = samples.features;
  for (const auto& tree : trees) {
    const auto offset = static_cast<int32_t>(forest.nodes_.size());
    forest.roots_.push_back(static_cast<uint32_t>(offset));
    for (Node n : tree) {
      if (n.feature >= 0) n.left += offset;
      forest.nodes_.push_back(n);
    }
  }
  return forest;
}

float Forest::Predict(const float* sample) const {
  float sum = 0;
  for (uint32_t root : roots_) {
    const Node* n = &nodes_[root];
    while (n->feature >= 0) {
      n = &nodes_[n->left + (sample[n->feature] < n->threshold ? 0 : 1)];
    }
    sum += n->probability;
  }
  return roots_.empty() ? 0.f : sum / static_cast<float>(roots_.size());
}

void Forest::Write(std::ostream& out) const {
  WritePod(out, static_cast<uint32_t>(features_));
  WritePod(out, static_cast<uint32_t>(roots_.size()));
  WritePod(out, static_cast<uint32_t>(nodes_.size()));
  for (uint32_t r : roots_) WritePod(out, r);
  for (const Node& n : nodes_) {
    WritePod(out, n.feature);
    WritePod(out, n.threshold);
    WritePod(out, n.left);
    WritePod(out, n.probability);
  }
}

Forest Forest::Read(std::istream& in, const std::string& what) {
  Forest f;
  const auto features = ReadPod<uint32_t>(in, what);
  const auto trees = ReadPod<uint32_t>(in, what);
  const auto nodes = ReadPod<uint32_t>(in, what);
  if (features == 0 || features > 4096 || trees == 0 || trees > 4096 || nodes > (1u << 26)) {
    throw Error(ErrorCode::kInvalidArgument, what + ": implausible forest dimensions");
  }
  f.features_ = static_cast<int>(features);
  f.roots_.resize(trees);
  for (uint32_t& r : f.roots_) r = ReadPod<uint32_t>(in, what);
  f.nodes_.resize(nodes);
  for (uint32_t i = 0; i < nodes; ++i) {
    Node& n = f.nodes_[i];
    n.feature = ReadPod<int32_t>(in, what);
    n.threshold = ReadPod<float>(in, what);
    n.left = ReadPod<int32_t>(in, what);
    n.probability = ReadPod<float>(in, what);
    // Children always follow their parent, so a valid forest has no cycles.
    const bool bad_split = n.feature >= 0 && (n.feature >= f.features_ || n.left <= int32_t(i) ||
                                              uint32_t(n.left) + 1 >= nodes);
    if (bad_split || !std::isfinite(n.threshold) || !std::isfinite(n.probability)) {
      throw Error(ErrorCode::kInvalidArgument, what + ": corrupt forest node");
    }
  }
  for (uint32_t r : f.roots_) {
    if (r >= nodes) throw Error(ErrorCode::kInvalidArgument, what + ": corrupt forest root");
  }
  return f;
}

}  // namespace skintrack::scoring::learned
