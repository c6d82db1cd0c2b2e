// Training of a LearnedModel: sampling of pixels, the two auto-context stages on out-of-fold
// maps, and the decision threshold tuned on out-of-fold maps of the training photos themselves.
#include <algorithm>
#include <cmath>
#include <functional>
#include <numeric>
#include <opencv2/imgproc.hpp>

#include "learned_io.h"
#include "learned_model_impl.h"
#include "skintrack/core/error.h"
#include "skintrack/scoring/consensus.h"

namespace skintrack::scoring {
namespace {

using learned::FeatureInputs;
using learned::Forest;
using learned::SampleSet;

struct Prepared {
  FeatureInputs in;
  cv::Mat truth;                // work size, 0/255
  std::vector<uint32_t> picks;  // sampled pixel indices (row-major, work size)
  int fold = 0;
};

void CheckImages(const std::vector<LabelledImage>& images) {
  if (images.size() < 2) {
    throw Error(
        ErrorCode::kInvalidArgument,
        "training set: needs at least 2 annotated images, got " + std::to_string(images.size()));
  }
  for (const LabelledImage& im : images) {
    if (im.bgr.empty() || im.bgr.type() != CV_8UC3) {
      throw Error(ErrorCode::kInvalidArgument, im.name + ": not a colour (CV_8UC3) image");
    }
    if (im.mask.type() != CV_8UC1 || im.mask.size() != im.bgr.size()) {
      throw Error(ErrorCode::kInvalidArgument,
                  im.name + ": the mask is not a single-channel mask of the image's size");
    }
    if (cv::countNonZero((im.mask != 0) & (im.mask != 255)) > 0) {
      throw Error(ErrorCode::kInvalidArgument, im.name + ": the mask is not binary (0/255)");
    }
  }
}

uint64_t HashSet(const std::vector<LabelledImage>& images) {
  learned::Fnv1a h;
  for (const LabelledImage& im : images) {
    h.Add(im.name);
    for (const cv::Mat* m : {&im.bgr, &im.mask}) {
      const int dims[2] = {m->rows, m->cols};
      h.Add(dims, sizeof dims);
      for (int y = 0; y < m->rows; ++y) h.Add(m->ptr(y), m->cols * m->elemSize());
    }
  }
  return h.value();
}

// A photo's training pixels: `positive_share` of them from its mask (all of it when smaller),
// the rest from outside, so that small lesions are not drowned by the background; 0 = uniform.
std::vector<uint32_t> PickPixels(const cv::Mat& truth, int count, double positive_share,
                                 uint64_t seed) {
  std::vector<uint32_t> pos, neg;
  const uint8_t* t = truth.ptr<uint8_t>(0);
  for (uint32_t i = 0; i < truth.total(); ++i) (t[i] ? pos : neg).push_back(i);
  learned::SplitMix rng(seed);
  auto take = [&rng](std::vector<uint32_t>& v, size_t k) {
    k = std::min(k, v.size());
    for (size_t i = 0; i < k; ++i) std::swap(v[i], v[i + rng.Below(v.size() - i)]);
    v.resize(k);
  };
  if (positive_share <= 0) {  // uniform: the photo's own lesion share
    pos.insert(pos.end(), neg.begin(), neg.end());
    take(pos, count);
    return pos;
  }
  const size_t want_pos = static_cast<size_t>(std::lround(count * positive_share));
  take(pos, want_pos);
  take(neg, count - pos.size());
  pos.insert(pos.end(), neg.begin(), neg.end());
  return pos;
}

void AppendRows(const cv::Mat& features, const Prepared& p, SampleSet& set) {
  const int n = features.channels();
  set.features = n;
  const float* f = features.ptr<float>(0);
  const uint8_t* t = p.truth.ptr<uint8_t>(0);
  for (uint32_t i : p.picks) {
    set.values.insert(set.values.end(), f + size_t(i) * n, f + size_t(i + 1) * n);
    set.labels.push_back(t[i] ? 1 : 0);
  }
}

// Forest on the rows of every photo not in `held_out` fold (-1: all photos).
Forest TrainOn(const std::vector<SampleSet>& rows, const std::vector<Prepared>& prep, int held_out,
               const learned::ForestOptions& fo) {
  SampleSet all;
  for (size_t i = 0; i < rows.size(); ++i) {
    if (prep[i].fold == held_out) continue;
    all.features = rows[i].features;
    all.values.insert(all.values.end(), rows[i].values.begin(), rows[i].values.end());
    all.labels.insert(all.labels.end(), rows[i].labels.begin(), rows[i].labels.end());
  }
  return Forest::Train(all, fo);
}

// Runs `fn(i)` for the photos of fold `k`, in parallel; each call writes only its photo's slots.
void ForEachInFold(const std::vector<Prepared>& prep, int k,
                   const std::function<void(size_t)>& fn) {
  std::vector<size_t> members;
  for (size_t i = 0; i < prep.size(); ++i)
    if (prep[i].fold == k) members.push_back(i);
  cv::parallel_for_(cv::Range(0, static_cast<int>(members.size())), [&](const cv::Range& r) {
    for (int j = r.start; j < r.end; ++j) fn(members[j]);
  });
}

// The threshold and smoothing with the best mean Dice of the cleaned out-of-fold maps: how far
// to smooth is a property of the annotations (tight pixel masks or broad clinical outlines).
void TuneDecision(const std::vector<cv::Mat>& oof, const std::vector<Prepared>& prep,
                  const LearnedTrainOptions& o, LearnedModelInfo& info) {
  double best = -1;
  for (double sigma : {1.0, 2.5, 5.0}) {
    for (int k = 0; k <= 12; ++k) {
      const double t = 0.2 + 0.05 * k;
      std::vector<double> dice(oof.size());
      cv::parallel_for_(cv::Range(0, static_cast<int>(oof.size())), [&](const cv::Range& r) {
        for (int i = r.start; i < r.end; ++i) {
          const cv::Mat c =
              learned::CleanProbability(oof[i], t, sigma, o.min_component_share, o.max_hole_share);
          dice[i] = MaskDice(c >= t, prep[i].truth);
        }
      });
      double sum = 0;
      for (double d : dice) sum += d;  // in photo order: the same sum for any thread count
      if (sum > best + 1e-9) {
        best = sum;
        info.threshold = t;
        info.smoothing_sigma = sigma;
      }
    }
  }
}

}  // namespace

LearnedModel LearnedModel::Train(const std::vector<LabelledImage>& images,
                                 const LearnedTrainOptions& o) {
  o.Check();
  CheckImages(images);
  auto impl = std::make_shared<Impl>();
  LearnedModelInfo& info = impl->info;
  info.format_version = learned::kFormatVersion;
  info.feature_version = learned::kFeatureVersion;
  info.target = o.target;
  info.training_set_hash = HashSet(images);
  info.training_images = static_cast<uint32_t>(images.size());
  info.options = o;

  const int per_image = std::max(
      50, std::min(o.samples_per_image, o.max_total_samples / static_cast<int>(images.size())));
  const int folds = std::min<int>(o.context_folds, static_cast<int>(images.size()));
  std::vector<size_t> order(images.size());
  std::iota(order.begin(), order.end(), 0);
  learned::SplitMix rng(o.seed ^ 0xF01D5EEDull);
  for (size_t i = order.size(); i > 1; --i) std::swap(order[i - 1], order[rng.Below(i)]);

  std::vector<Prepared> prep(images.size());
  std::vector<SampleSet> rows1(images.size());
  size_t positives = 0;
  cv::parallel_for_(cv::Range(0, static_cast<int>(images.size())), [&](const cv::Range& r) {
    for (int i = r.start; i < r.end; ++i) {
      Prepared& p = prep[i];
      p.in = learned::PrepareInputs(images[i].bgr, o.target, o.work_max_side);
      cv::resize(images[i].mask, p.truth, p.in.work_bgr.size(), 0, 0, cv::INTER_AREA);
      p.truth = p.truth >= 128;
      p.picks = PickPixels(p.truth, per_image, o.positive_share, o.seed * 1000003ull + i);
      AppendRows(learned::BaseFeatures(p.in, o.target), p, rows1[i]);
    }
  });
  for (size_t i = 0; i < images.size(); ++i) {
    prep[order[i]].fold = static_cast<int>(i % folds);
    for (uint8_t l : rows1[i].labels) positives += l;
  }
  size_t total = 0;
  for (const auto& r : rows1) total += r.size();
  if (positives == 0 || positives == total) {
    throw Error(ErrorCode::kInvalidArgument, std::string("training set: the masks are ") +
                                                 (positives ? "all full" : "all empty"));
  }

  learned::ForestOptions fo;
  fo.trees = o.trees;
  fo.max_depth = o.max_depth;
  fo.min_leaf = o.min_leaf;
  fo.seed = o.seed;
  // Out-of-fold first-stage maps: what the second stage will see on photos it has not seen.
  std::vector<cv::Mat> p1(images.size()), oof(images.size());
  std::vector<SampleSet> rows2(images.size());
  for (int k = 0; k < folds; ++k) {
    const Forest f = TrainOn(rows1, prep, k, fo);
    ForEachInFold(prep, k, [&](size_t i) {
      const cv::Mat base = learned::BaseFeatures(prep[i].in, o.target);
      p1[i] = o.auto_context ? learned::PredictMapStrided(f, base) : learned::PredictMap(f, base);
      if (o.auto_context) AppendRows(learned::WithContext(base, p1[i]), prep[i], rows2[i]);
    });
  }
  impl->stage1 = TrainOn(rows1, prep, -1, fo);
  if (o.auto_context) {
    learned::ForestOptions fo2 = fo;
    fo2.seed = o.seed + 7919;
    for (int k = 0; k < folds; ++k) {
      const Forest g = TrainOn(rows2, prep, k, fo2);
      ForEachInFold(prep, k, [&](size_t i) {
        const cv::Mat base = learned::BaseFeatures(prep[i].in, o.target);
        // Strided too: the threshold needs the map's level, not its finest detail.
        oof[i] = learned::PredictMapStrided(g, learned::WithContext(base, p1[i]));
      });
    }
    impl->stage2 = TrainOn(rows2, prep, -1, fo2);
  } else {
    oof = p1;
  }
  TuneDecision(oof, prep, o, info);
  return LearnedModel(std::move(impl));
}

}  // namespace skintrack::scoring
