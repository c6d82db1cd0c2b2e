#include "skintrack/scoring/learned_reference.h"

#include <cstdio>
#include <opencv2/imgproc.hpp>
#include <optional>

#include "learned_model_impl.h"
#include "skintrack/core/error.h"
#include "skintrack/scoring/consensus.h"

namespace skintrack::scoring {
namespace {

using learned::FeatureInputs;
using learned::Forest;

void CheckMask(const cv::Mat& mask, cv::Size size, const char* what) {
  if (mask.type() != CV_8UC1 || mask.size() != size) {
    throw Error(ErrorCode::kInvalidArgument, std::string("reference: the ") + what +
                                                 " mask must be CV_8UC1 of the image's size");
  }
}

class ReferenceSegmenter : public PatientSegmenter {
 public:
  ReferenceSegmenter(const PatientReference& ref, const ReferenceOptions& o,
                     std::shared_ptr<const LearnedModel> general,
                     std::shared_ptr<const LearnedModel> general_skin)
      : o_(o),
        target_(TargetOf(o.condition)),
        general_(std::move(general)),
        general_skin_(std::move(general_skin)) {
    o.Check();
    if (ref.bgr.empty() || ref.bgr.type() != CV_8UC3) {
      throw Error(ErrorCode::kInvalidArgument, "reference: expected a CV_8UC3 image");
    }
    CheckMask(ref.lesion_mask, ref.bgr.size(), "lesion");
    if (!ref.skin_mask.empty()) CheckMask(ref.skin_mask, ref.bgr.size(), "skin");
    if (general_ && general_->info().target != target_) {
      throw Error(ErrorCode::kInvalidArgument,
                  "reference: the general model is for another target");
    }
    fallback_ = general_ ? MakeLearnedSegmenter(general_, general_skin_) : MakeClassical();
    const cv::Mat features = LesionFeatures(ref.bgr).second;
    lesion_ = Fit(features, ref.lesion_mask, o.seed);
    tuned_ = lesion_ && o.TunesThreshold();
    if (tuned_) threshold_ = TunedThreshold(features, ref.lesion_mask);
    if (!ref.skin_mask.empty()) skin_ = Fit(SkinFeatures(ref.bgr), ref.skin_mask, o.seed + 1);
  }

  bool LearnedFromReference() const override { return lesion_.has_value(); }

  std::string Name() const override {
    if (!lesion_) return "reference-forest 1 (nothing to learn; " + fallback_->Name() + ")";
    // Version 2: the threshold tuned on the reference (psoriasis); 1: the fixed threshold.
    const std::string on =
        general_ ? "model " + general_->info().Id() : std::string("classical features");
    if (!tuned_) return "reference-forest 1 (patient forest on " + on + ")";
    char threshold[16];
    std::snprintf(threshold, sizeof threshold, "%.2f", threshold_);
    return "reference-forest 2 (patient forest on " + on + ", threshold " + threshold +
           " tuned on the reference)";
  }

  Segmentation Segment(const cv::Mat& bgr) const override {
    if (!lesion_) return fallback_->Segment(bgr);
    if (bgr.empty() || bgr.type() != CV_8UC3) {
      throw Error(ErrorCode::kInvalidArgument, "segment: expected a non-empty CV_8UC3 image");
    }
    const auto [in, features] = LesionFeatures(bgr);
    const cv::Mat clean = Clean(learned::PredictMap(*lesion_, features), threshold_);
    Segmentation seg;
    seg.lesion_mask = learned::ExpandDecision(clean, threshold_, bgr.size());
    if (skin_) {
      seg.skin_mask =
          learned::ExpandDecision(learned::PredictMap(*skin_, SkinFeatures(bgr)), 0.5, bgr.size());
    } else if (general_skin_) {
      seg.skin_mask = general_skin_->PredictMask(bgr);
    } else {
      seg.skin_mask = learned::ExpandDecision(in.classical_skin, 128, bgr.size());
    }
    learned::FinishSegmentation(clean, threshold_, in.classical_skin, target_, seg);
    seg.segmenter = Name();
    return seg;
  }

 private:
  std::unique_ptr<Segmenter> MakeClassical() const {
    ClassicalSegmenterOptions so;
    so.condition = o_.condition;
    return MakeClassicalSegmenter(so);
  }

  // Base features, plus the general model's probability at two scales when there is one.
  std::pair<FeatureInputs, cv::Mat> LesionFeatures(const cv::Mat& bgr) const {
    FeatureInputs in = learned::PrepareInputs(bgr, target_, o_.work_max_side);
    cv::Mat base = learned::BaseFeatures(in, target_);
    if (!general_) return {in, base};
    cv::Mat p = general_->info().options.work_max_side == o_.work_max_side
                    ? learned::StagedProbability(general_->impl(), in)
                    : general_->Probability(bgr);
    if (p.size() != base.size()) cv::resize(p, p, base.size(), 0, 0, cv::INTER_LINEAR);
    cv::Mat smooth;
    cv::GaussianBlur(p, smooth, cv::Size(), 4.0, 4.0, cv::BORDER_REFLECT);
    std::vector<cv::Mat> planes;
    cv::split(base, planes);
    planes.push_back(p);
    planes.push_back(smooth);
    cv::merge(planes, base);
    return {in, base};
  }

  cv::Mat SkinFeatures(const cv::Mat& bgr) const {
    return learned::BaseFeatures(
        learned::PrepareInputs(bgr, LearnedTarget::kSkin, o_.work_max_side), LearnedTarget::kSkin);
  }

  // The patient probability smoothed and cleaned as a general model's, with the default
  // component and hole shares of LearnedTrainOptions.
  cv::Mat Clean(const cv::Mat& probability, double threshold) const {
    const LearnedTrainOptions defaults;
    return learned::CleanProbability(probability, threshold, o_.smoothing_sigma,
                                     defaults.min_component_share, defaults.max_hole_share);
  }

  // The threshold with the best Dice on the reference's own out-of-fold map: forests fitted on
  // its top and bottom halves score each other. How far a patient's probability must rise to be
  // a lesion depends on how broadly this reference was outlined and on how alike its lesions and
  // skin look, which a fixed 0.5 ignores. `threshold` when a half holds a single class.
  double TunedThreshold(const cv::Mat& features, const cv::Mat& full_mask) const {
    const cv::Mat mask = learned::MaskAtWorkSize(full_mask, features.size());
    const int mid = features.rows / 2;
    const cv::Range halves[2] = {cv::Range(0, mid), cv::Range(mid, features.rows)};
    cv::Mat oof(features.size(), CV_32F);
    for (int k = 0; k < 2; ++k) {
      const auto forest = Fit(features.rowRange(halves[k]).clone(),
                              mask.rowRange(halves[k]).clone(), o_.seed + 11 + k);
      if (!forest) return o_.threshold;
      learned::PredictMap(*forest, features.rowRange(halves[1 - k]).clone())
          .copyTo(oof.rowRange(halves[1 - k]));
    }
    double best_dice = -1, best = o_.threshold;
    for (int i = 0; i < learned::kThresholdCandidates; ++i) {
      const double t = learned::ThresholdCandidate(i);
      const double dice = MaskDice(Clean(oof, t) >= t, mask);
      if (dice > best_dice + 1e-9) {
        best_dice = dice;
        best = t;
      }
    }
    return best;
  }

  // A forest on the reference's pixels, or nothing when the mask holds a single class.
  std::optional<Forest> Fit(const cv::Mat& features, const cv::Mat& full_mask,
                            uint64_t seed) const {
    const cv::Mat mask = learned::MaskAtWorkSize(full_mask, features.size());
    const int lesion_pixels = cv::countNonZero(mask);
    if (lesion_pixels == 0 || lesion_pixels == static_cast<int>(mask.total())) return std::nullopt;
    learned::SampleSet s;
    learned::AppendSamples(
        features, mask, learned::PickTrainingPixels(mask, o_.samples, o_.positive_share, seed), s);
    learned::ForestOptions fo;
    fo.trees = o_.trees;
    fo.max_depth = o_.max_depth;
    fo.min_leaf = o_.min_leaf;
    fo.seed = seed;
    return Forest::Train(s, fo);
  }

  ReferenceOptions o_;
  LearnedTarget target_;
  std::shared_ptr<const LearnedModel> general_, general_skin_;
  std::unique_ptr<Segmenter> fallback_;
  std::optional<Forest> lesion_, skin_;
  bool tuned_ = false;               // o_.TunesThreshold() and there was a lesion to learn
  double threshold_ = o_.threshold;  // tuned on the reference when tuned_
};

}  // namespace

void ReferenceOptions::Check() const {
  auto bad = [](const char* what) { throw Error(ErrorCode::kInvalidArgument, what); };
  if (work_max_side < 128 || work_max_side > 1024) bad("work_max_side must be within 128..1024");
  if (samples < 100 || samples > 1000000) bad("samples must be within 100..1000000");
  if (!(positive_share > 0 && positive_share < 1)) bad("positive_share must be within (0, 1)");
  if (trees < 1 || trees > 256) bad("trees must be within 1..256");
  if (max_depth < 1 || max_depth > 30) bad("max_depth must be within 1..30");
  if (min_leaf < 1 || min_leaf > 10000) bad("min_leaf must be within 1..10000");
  if (!(threshold > 0 && threshold < 1)) bad("threshold must be within (0, 1)");
  if (!(smoothing_sigma >= 0.5 && smoothing_sigma <= 16))
    bad("smoothing_sigma must be within 0.5..16");
  if (tune_threshold < -1 || tune_threshold > 1) bad("tune_threshold must be -1, 0 or 1");
}

std::unique_ptr<PatientSegmenter> MakeReferenceSegmenter(
    const PatientReference& reference, const ReferenceOptions& options,
    std::shared_ptr<const LearnedModel> general, std::shared_ptr<const LearnedModel> general_skin) {
  return std::make_unique<ReferenceSegmenter>(reference, options, std::move(general),
                                              std::move(general_skin));
}

}  // namespace skintrack::scoring
