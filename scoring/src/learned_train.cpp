// Training of a LearnedModel: sampling of pixels, the two auto-context stages on out-of-fold
// maps, and the decision threshold tuned on out-of-fold maps of the training photos themselves.
#include <algorithm>
#include <cmath>
#include <functional>
#include <numeric>
#include <opencv2/imgproc.hpp>

#include "learned_io.h"
#include "learned_model_impl.h"
#include "learned_phantoms.h"
#include "skintrack/core/error.h"
#include "skintrack/scoring/consensus.h"

namespace skintrack::scoring {
namespace learned {

std::vector<uint32_t> PickTrainingPixels(const cv::Mat& truth, int count, double positive_share,
                                         uint64_t seed) {
  std::vector<uint32_t> pos, neg;
  const uint8_t* t = truth.ptr<uint8_t>(0);
  for (uint32_t i = 0; i < truth.total(); ++i) (t[i] ? pos : neg).push_back(i);
  SplitMix rng(seed);
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

void AppendSamples(const cv::Mat& features, const cv::Mat& truth,
                   const std::vector<uint32_t>& picks, SampleSet& set) {
  const int n = features.channels();
  set.features = n;
  const float* f = features.ptr<float>(0);
  const uint8_t* t = truth.ptr<uint8_t>(0);
  for (uint32_t i : picks) {
    set.values.insert(set.values.end(), f + size_t(i) * n, f + size_t(i + 1) * n);
    set.labels.push_back(t[i] ? 1 : 0);
  }
}

}  // namespace learned

namespace {

using learned::FeatureInputs;
using learned::Forest;
using learned::SampleSet;

struct Prepared {
  FeatureInputs in;
  cv::Mat truth;                // work size, 0/255
  std::vector<uint32_t> picks;  // sampled pixel indices (row-major, work size)
  int fold = 0;
  bool copy = false;  // a tone-shifted copy: trained on, never scored for the decision
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
  // On the user's masks, before any phantom scene is added: those alone would always pass.
  bool any_marked = false, any_unmarked = false;
  for (const LabelledImage& im : images) {
    const size_t marked = static_cast<size_t>(cv::countNonZero(im.mask));
    any_marked = any_marked || marked > 0;
    any_unmarked = any_unmarked || marked < im.mask.total();
  }
  if (!any_marked || !any_unmarked) {
    throw Error(ErrorCode::kInvalidArgument, std::string("training set: the masks are ") +
                                                 (any_marked ? "all full" : "all empty"));
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

// The photo as the same skin with more (optical depth `depth` > 0) or less (< 0) melanin: linear
// RGB times exp(-depth * mu_c), mu of melanin relative to red 1 : 1.44 : 2.52 for red, green and
// blue (absorption ~ wavelength^-3.48 at 600, 540, 460 nm), weighted by `where` (0..1, the skin
// that carries melanin). Teaches the trees colours the few photos of each tone do not show.
cv::Mat ToneShifted(const cv::Mat& bgr, const cv::Mat& where, double depth) {
  static const double kMu[3] = {2.52, 1.44, 1.0};  // B, G, R
  cv::Mat lut_to_linear(1, 256, CV_32F);
  for (int v = 0; v < 256; ++v) {
    const double c = v / 255.0;
    lut_to_linear.at<float>(v) =
        static_cast<float>(c <= 0.04045 ? c / 12.92 : std::pow((c + 0.055) / 1.055, 2.4));
  }
  cv::Mat out(bgr.size(), CV_8UC3);
  for (int y = 0; y < bgr.rows; ++y) {
    const cv::Vec3b* in = bgr.ptr<cv::Vec3b>(y);
    const float* w = where.ptr<float>(y);
    cv::Vec3b* o = out.ptr<cv::Vec3b>(y);
    for (int x = 0; x < bgr.cols; ++x) {
      for (int c = 0; c < 3; ++c) {
        const double lin = lut_to_linear.at<float>(in[x][c]) * std::exp(-depth * kMu[c] * w[x]);
        const double l = std::min(1.0, lin);
        const double srgb = l <= 0.0031308 ? 12.92 * l : 1.055 * std::pow(l, 1 / 2.4) - 0.055;
        o[x][c] = cv::saturate_cast<uint8_t>(srgb * 255.0);
      }
    }
  }
  return out;
}

// Where melanin is added or removed: the classical skin mask, softened; for vitiligo without the
// patches, which have none.
cv::Mat MelaninWeight(const learned::FeatureInputs& in, const cv::Mat& truth,
                      LearnedTarget target) {
  cv::Mat skin;
  in.classical_skin.convertTo(skin, CV_32F, 1 / 255.0);
  if (target == LearnedTarget::kVitiligo) {
    cv::Mat lesion;
    truth.convertTo(lesion, CV_32F, 1 / 255.0);
    skin = skin.mul(1.0f - lesion);
  }
  cv::GaussianBlur(skin, skin, cv::Size(), 2.0);
  return skin;
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
    for (int k = 0; k < learned::kThresholdCandidates; ++k) {
      const double t = learned::ThresholdCandidate(k);
      std::vector<double> dice(oof.size());
      cv::parallel_for_(cv::Range(0, static_cast<int>(oof.size())), [&](const cv::Range& r) {
        for (int i = r.start; i < r.end; ++i) {
          if (prep[i].copy) continue;
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

LearnedModel LearnedModel::Train(const std::vector<LabelledImage>& photos,
                                 const LearnedTrainOptions& options) {
  options.Check();
  LearnedTrainOptions o = options;
  if (o.tone_copies < 0) o.tone_copies = DefaultToneCopies(o.target);
  if (o.phantom_scenes < 0) o.phantom_scenes = DefaultPhantomScenes(o.target);
  CheckImages(photos);
  auto impl = std::make_shared<Impl>();
  LearnedModelInfo& info = impl->info;
  info.format_version = learned::kFormatVersion;
  info.feature_version = learned::kFeatureVersion;
  info.target = o.target;
  // The hash and the count name the user's photos; the phantoms follow from the options.
  info.training_set_hash = HashSet(photos);
  info.training_images = static_cast<uint32_t>(photos.size());
  info.options = o;
  // Phantom scenes are trained on like the photos (and take part in the decision's tuning).
  std::vector<LabelledImage> images = photos;
  for (LabelledImage& scene : learned::TrainingPhantoms(o.target, o.phantom_scenes))
    images.push_back(std::move(scene));

  const int per_image =
      std::max(50, std::min(o.samples_per_image,
                            o.max_total_samples /
                                static_cast<int>(images.size() * (1 + size_t(o.tone_copies)))));
  const int folds = std::min<int>(o.context_folds, static_cast<int>(images.size()));
  std::vector<size_t> order(images.size());
  std::iota(order.begin(), order.end(), 0);
  learned::SplitMix rng(o.seed ^ 0xF01D5EEDull);
  for (size_t i = order.size(); i > 1; --i) std::swap(order[i - 1], order[rng.Below(i)]);

  // Entries [0, n) are the photos; each then has o.tone_copies tone-shifted copies at
  // n * (1 + c) + i, in its photo's fold (a copy's out-of-fold map must not come from a forest
  // that saw its photo).
  const size_t n = images.size();
  const size_t copies = static_cast<size_t>(o.tone_copies);
  std::vector<Prepared> prep(n * (1 + copies));
  std::vector<SampleSet> rows1(prep.size());
  size_t positives = 0;
  cv::parallel_for_(cv::Range(0, static_cast<int>(n)), [&](const cv::Range& r) {
    for (int i = r.start; i < r.end; ++i) {
      Prepared& p = prep[i];
      p.in = learned::PrepareInputs(images[i].bgr, o.target, o.work_max_side);
      p.truth = learned::MaskAtWorkSize(images[i].mask, p.in.work_bgr.size());
      p.picks = learned::PickTrainingPixels(p.truth, per_image, o.positive_share,
                                            o.seed * 1000003ull + i);
      learned::AppendSamples(learned::BaseFeatures(p.in, o.target), p.truth, p.picks, rows1[i]);
      if (copies == 0) continue;
      const cv::Mat weight = MelaninWeight(p.in, p.truth, o.target);
      for (size_t c = 1; c <= copies; ++c) {
        // Alternately darker and lighter, further out with each pair (1, 1, 2, 2).
        const size_t pair = (c + 1) / 2;
        const double depth = (c % 2 == 1 ? 0.45 : -0.3) * static_cast<double>(pair);
        Prepared& q = prep[n * c + i];
        q.copy = true;
        q.in = learned::PrepareInputs(ToneShifted(p.in.work_bgr, weight, depth), o.target,
                                      o.work_max_side);
        q.truth = p.truth;
        q.picks = learned::PickTrainingPixels(q.truth, per_image, o.positive_share,
                                              o.seed * 1000003ull + n * c + i);
        learned::AppendSamples(learned::BaseFeatures(q.in, o.target), q.truth, q.picks,
                               rows1[n * c + i]);
      }
    }
  });
  for (size_t i = 0; i < n; ++i) {
    for (size_t c = 0; c <= copies; ++c) prep[n * c + order[i]].fold = static_cast<int>(i % folds);
  }
  for (const auto& r : rows1) {
    for (uint8_t l : r.labels) positives += l;
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
  std::vector<cv::Mat> p1(prep.size()), oof(prep.size());
  std::vector<SampleSet> rows2(prep.size());
  for (int k = 0; k < folds; ++k) {
    const Forest f = TrainOn(rows1, prep, k, fo);
    ForEachInFold(prep, k, [&](size_t i) {
      const cv::Mat base = learned::BaseFeatures(prep[i].in, o.target);
      p1[i] = o.auto_context ? learned::PredictMapStrided(f, base) : learned::PredictMap(f, base);
      if (o.auto_context)
        learned::AppendSamples(learned::WithContext(base, p1[i]), prep[i].truth, prep[i].picks,
                               rows2[i]);
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
  info.content_hash = learned::ModelFileChecksum(learned::ModelFileBody(*impl));
  return LearnedModel(std::move(impl));
}

}  // namespace skintrack::scoring
