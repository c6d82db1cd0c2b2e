// A binary random forest for per-pixel classification, written for speed of prediction on the
// CPU: flat node arrays (one cache line holds several nodes), float thresholds, and training on
// features quantised to at most 64 bins per feature (histogram splits, as in LightGBM or
// ilastik's forests), so that a tree over 500 k samples trains in a fraction of a second.
//
// Determinism: tree t draws its bootstrap and its candidate features from a generator seeded with
// (seed, t) only, and trees are written into fixed slots, so the forest is the same for a seed
// whatever the number of threads.
#pragma once

#include <cstdint>
#include <iosfwd>
#include <string>
#include <vector>

namespace skintrack::scoring::learned {

struct ForestOptions {
  int trees = 24;
  int max_depth = 14;
  int min_leaf = 12;              // fewest samples in a leaf
  int features_per_split = 0;     // 0 = about sqrt(feature count)
  double bootstrap_share = 0.63;  // samples drawn (without replacement) for each tree
  uint64_t seed = 1;
};

// Row-major samples: sample i has `features` floats at values[i * features].
struct SampleSet {
  int features = 0;
  std::vector<float> values;
  std::vector<uint8_t> labels;  // 0 or 1
  size_t size() const { return labels.size(); }
};

class Forest {
 public:
  // Trains on `samples` (at least one sample of each class). Throws Error(kInvalidArgument) on
  // an empty set, a feature count mismatch or a single class.
  static Forest Train(const SampleSet& samples, const ForestOptions& options);

  // Probability of class 1 for one sample of feature_count() floats. Thread-safe.
  float Predict(const float* sample) const;
  int feature_count() const { return features_; }
  size_t node_count() const { return nodes_.size(); }

  // Binary serialisation (little-endian, as written on the platforms this project targets).
  // Read throws Error(kInvalidArgument) with `what` in the message when the bytes are malformed.
  void Write(std::ostream& out) const;
  static Forest Read(std::istream& in, const std::string& what);

 private:
  struct Node {
    int32_t feature;  // < 0: leaf
    float threshold;  // go left when value < threshold
    int32_t left;     // child indices (absolute), or unused for a leaf
    float probability;
  };
  int features_ = 0;
  std::vector<uint32_t> roots_;
  std::vector<Node> nodes_;
  friend class ForestBuilder;
};

}  // namespace skintrack::scoring::learned
