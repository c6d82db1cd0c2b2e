// Prediction with a LearnedModel and the Segmenter built on it.
#include "skintrack/scoring/learned_segmenter.h"

#include <cmath>
#include <cstdio>
#include <cstring>
#include <opencv2/imgproc.hpp>

#include "learned_model_impl.h"
#include "skintrack/core/error.h"

namespace skintrack::scoring {

const char* LearnedTargetName(LearnedTarget t) noexcept {
  switch (t) {
    case LearnedTarget::kPsoriasis:
      return "psoriasis";
    case LearnedTarget::kVitiligo:
      return "vitiligo";
    case LearnedTarget::kSkin:
      return "skin";
  }
  return "unknown";
}

LearnedTarget ParseLearnedTarget(std::string_view text) {
  for (LearnedTarget t :
       {LearnedTarget::kPsoriasis, LearnedTarget::kVitiligo, LearnedTarget::kSkin})
    if (text == LearnedTargetName(t)) return t;
  throw Error(ErrorCode::kInvalidArgument,
              "unknown condition '" + std::string(text) + "' (psoriasis, vitiligo or skin)");
}

LearnedTarget TargetOf(Condition c) noexcept {
  return c == Condition::kPsoriasis ? LearnedTarget::kPsoriasis : LearnedTarget::kVitiligo;
}

int DefaultToneCopies(LearnedTarget target) { return target == LearnedTarget::kPsoriasis ? 1 : 0; }

int DefaultPhantomScenes(LearnedTarget target) {
  return target == LearnedTarget::kPsoriasis ? 6 : 0;
}

void LearnedTrainOptions::Check() const {
  auto bad = [](const char* what) { throw Error(ErrorCode::kInvalidArgument, what); };
  if (work_max_side < 128 || work_max_side > 1024) bad("work_max_side must be within 128..1024");
  if (samples_per_image < 100 || samples_per_image > 1000000)
    bad("samples_per_image must be within 100..1000000");
  if (max_total_samples < 1000 || max_total_samples > 20000000)
    bad("max_total_samples must be within 1000..20000000");
  if (!(positive_share >= 0 && positive_share <= 1)) bad("positive_share must be within 0..1");
  if (trees < 1 || trees > 512) bad("trees must be within 1..512");
  if (max_depth < 1 || max_depth > 30) bad("max_depth must be within 1..30");
  if (min_leaf < 1 || min_leaf > 100000) bad("min_leaf must be within 1..100000");
  if (context_folds < 2 || context_folds > 20) bad("context_folds must be within 2..20");
  if (tone_copies < -1 || tone_copies > 4) bad("tone_copies must be within -1..4");
  if (phantom_scenes < -1 || phantom_scenes > 24) bad("phantom_scenes must be within -1..24");
  if (!(min_component_share >= 0 && min_component_share < 0.1))
    bad("min_component_share must be within 0..0.1");
  if (!(max_hole_share >= 0 && max_hole_share < 0.5)) bad("max_hole_share must be within 0..0.5");
}

std::string LearnedModelInfo::Id() const {
  char hash[17];
  std::snprintf(hash, sizeof hash, "%016llx", static_cast<unsigned long long>(training_set_hash));
  std::string id =
      std::string(LearnedTargetName(target)) + "-" + hash + "-s" + std::to_string(options.seed);
  if (format_version < learned::kFirstFormatWithContentInId) return id;
  char content[9];
  std::snprintf(content, sizeof content, "%08llx",
                static_cast<unsigned long long>(content_hash >> 32));
  return id + "-m" + content;
}

namespace learned {

cv::Mat PredictMap(const Forest& forest, const cv::Mat& features) {
  if (features.depth() != CV_32F || features.channels() != forest.feature_count()) {
    throw Error(ErrorCode::kInternal, "learned model: feature image does not fit the forest");
  }
  cv::Mat out(features.size(), CV_32F);
  const int n = features.channels();
  cv::parallel_for_(cv::Range(0, features.rows), [&](const cv::Range& r) {
    for (int y = r.start; y < r.end; ++y) {
      const float* f = features.ptr<float>(y);
      float* o = out.ptr<float>(y);
      for (int x = 0; x < features.cols; ++x) o[x] = forest.Predict(f + size_t(x) * n);
    }
  });
  return out;
}

cv::Mat PredictMapStrided(const Forest& forest, const cv::Mat& features) {
  if (features.rows < 8 || features.cols < 8) return PredictMap(forest, features);
  const cv::Size half((features.cols + 1) / 2, (features.rows + 1) / 2);
  cv::Mat sub(half, features.type());
  const size_t bytes = features.elemSize();
  for (int y = 0; y < half.height; ++y) {
    const uint8_t* src = features.ptr<uint8_t>(2 * y);
    uint8_t* dst = sub.ptr<uint8_t>(y);
    for (int x = 0; x < half.width; ++x)
      std::memcpy(dst + size_t(x) * bytes, src + 2 * size_t(x) * bytes, bytes);
  }
  cv::Mat p, out;
  // Sample (x, y) of `sub` sits at pixel (2x, 2y): map the grid back exactly.
  const cv::Mat to_full = (cv::Mat_<double>(2, 3) << 2, 0, 0, 0, 2, 0);
  cv::warpAffine(PredictMap(forest, sub), out, to_full, features.size(), cv::INTER_LINEAR,
                 cv::BORDER_REPLICATE);
  return out;
}

cv::Mat StagedProbability(const LearnedModel::Impl& model, const FeatureInputs& in) {
  const cv::Mat base = BaseFeatures(in, model.info.target);
  if (!model.stage2) return PredictMap(model.stage1, base);
  const cv::Mat p1 = PredictMapStrided(model.stage1, base);
  return PredictMap(*model.stage2, WithContext(base, p1));
}

cv::Mat CleanProbability(const cv::Mat& probability, double threshold, double sigma,
                         double min_component_share, double max_hole_share) {
  cv::Mat p;
  cv::GaussianBlur(probability, p, cv::Size(), sigma, sigma, cv::BORDER_REFLECT);
  const double area = double(p.total());
  cv::Mat mask = p >= threshold;
  cv::Mat labels, stats, centroids;
  const int n = cv::connectedComponentsWithStats(mask, labels, stats, centroids, 8, CV_32S);
  std::vector<uint8_t> drop(n, 0);
  for (int i = 1; i < n; ++i)
    drop[i] = stats.at<int>(i, cv::CC_STAT_AREA) < min_component_share * area;
  // Holes: background components that do not touch the border.
  cv::Mat hole_labels, hole_stats;
  const int h =
      cv::connectedComponentsWithStats(~mask, hole_labels, hole_stats, centroids, 4, CV_32S);
  std::vector<uint8_t> fill(h, 0);
  for (int i = 1; i < h; ++i) {
    const int* s = hole_stats.ptr<int>(i);
    const bool inner = s[cv::CC_STAT_LEFT] > 0 && s[cv::CC_STAT_TOP] > 0 &&
                       s[cv::CC_STAT_LEFT] + s[cv::CC_STAT_WIDTH] < p.cols &&
                       s[cv::CC_STAT_TOP] + s[cv::CC_STAT_HEIGHT] < p.rows;
    fill[i] = inner && s[cv::CC_STAT_AREA] < max_hole_share * area;
  }
  for (int y = 0; y < p.rows; ++y) {
    float* pp = p.ptr<float>(y);
    const int* l = labels.ptr<int>(y);
    const int* hl = hole_labels.ptr<int>(y);
    for (int x = 0; x < p.cols; ++x) {
      if (drop[l[x]]) pp[x] = 0.f;
      if (fill[hl[x]]) pp[x] = 1.f;
    }
  }
  return p;
}

cv::Mat ExpandDecision(const cv::Mat& clean, double threshold, cv::Size size) {
  cv::Mat full = clean;
  if (clean.size() != size) cv::resize(clean, full, size, 0, 0, cv::INTER_LINEAR);
  return full >= threshold;
}

cv::Mat MaskAtWorkSize(const cv::Mat& mask, cv::Size size) {
  cv::Mat reduced;
  cv::resize(mask, reduced, size, 0, 0, cv::INTER_AREA);
  return reduced >= 128;
}

void FinishSegmentation(const cv::Mat& clean, double threshold, const cv::Mat& work_skin_mask,
                        LearnedTarget target, Segmentation& seg) {
  cv::bitwise_or(seg.skin_mask, seg.lesion_mask, seg.skin_mask);
  const cv::Mat work_skin = work_skin_mask | (clean >= threshold);
  const double skin_px = std::max(1, cv::countNonZero(work_skin));
  seg.fraction_low = cv::countNonZero((clean >= threshold + 0.1) & work_skin) / skin_px;
  seg.fraction_high = cv::countNonZero((clean >= threshold - 0.1) & work_skin) / skin_px;
  seg.threshold = threshold;
  seg.lesion_found = cv::countNonZero(seg.lesion_mask) > 0;
  if (target == LearnedTarget::kVitiligo) seg.envelope_mask = VitiligoEnvelope(seg.lesion_mask);
}

}  // namespace learned

LearnedModel::LearnedModel(std::shared_ptr<const Impl> impl) : impl_(std::move(impl)) {}

const LearnedModelInfo& LearnedModel::info() const { return impl_->info; }

cv::Mat LearnedModel::Probability(const cv::Mat& bgr) const {
  const auto in =
      learned::PrepareInputs(bgr, impl_->info.target, impl_->info.options.work_max_side);
  return learned::StagedProbability(*impl_, in);
}

cv::Mat LearnedModel::PredictMask(const cv::Mat& bgr) const {
  const LearnedModelInfo& i = impl_->info;
  const cv::Mat clean =
      learned::CleanProbability(Probability(bgr), i.threshold, i.smoothing_sigma,
                                i.options.min_component_share, i.options.max_hole_share);
  return learned::ExpandDecision(clean, i.threshold, bgr.size());
}

namespace {

class LearnedSegmenter : public Segmenter {
 public:
  LearnedSegmenter(std::shared_ptr<const LearnedModel> lesion,
                   std::shared_ptr<const LearnedModel> skin)
      : lesion_(std::move(lesion)), skin_(std::move(skin)) {
    if (!lesion_ || lesion_->info().target == LearnedTarget::kSkin) {
      throw Error(ErrorCode::kInvalidArgument,
                  "the lesion model must be a psoriasis or vitiligo one");
    }
    if (skin_ && skin_->info().target != LearnedTarget::kSkin) {
      throw Error(ErrorCode::kInvalidArgument,
                  "the skin model is a " + std::string(LearnedTargetName(skin_->info().target)) +
                      " model, not a skin model");
    }
  }

  std::string Name() const override {
    std::string name = "learned-forest 1 (model " + lesion_->info().Id();
    if (skin_) name += ", skin model " + skin_->info().Id();
    return name + ")";
  }

  Segmentation Segment(const cv::Mat& bgr) const override {
    if (bgr.empty() || bgr.type() != CV_8UC3) {
      throw Error(ErrorCode::kInvalidArgument, "segment: expected a non-empty CV_8UC3 image");
    }
    const LearnedModelInfo& info = lesion_->info();
    const auto in = learned::PrepareInputs(bgr, info.target, info.options.work_max_side);
    const cv::Mat p = learned::StagedProbability(lesion_->impl(), in);
    const auto& o = info.options;
    const cv::Mat clean = learned::CleanProbability(p, info.threshold, info.smoothing_sigma,
                                                    o.min_component_share, o.max_hole_share);
    Segmentation seg;
    seg.lesion_mask = learned::ExpandDecision(clean, info.threshold, bgr.size());
    seg.skin_mask = skin_ ? skin_->PredictMask(bgr)
                          : learned::ExpandDecision(in.classical_skin, 128, bgr.size());
    learned::FinishSegmentation(clean, info.threshold, in.classical_skin, info.target, seg);
    seg.segmenter = Name();
    return seg;
  }

 private:
  std::shared_ptr<const LearnedModel> lesion_, skin_;
};

}  // namespace

std::unique_ptr<Segmenter> MakeLearnedSegmenter(std::shared_ptr<const LearnedModel> lesion,
                                                std::shared_ptr<const LearnedModel> skin) {
  return std::make_unique<LearnedSegmenter>(std::move(lesion), std::move(skin));
}

}  // namespace skintrack::scoring
