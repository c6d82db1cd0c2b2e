#include "skintrack/scoring/learned_eval.h"

#include <algorithm>
#include <chrono>
#include <numeric>

#include "learned_io.h"
#include "learned_model_impl.h"
#include "skintrack/core/colour.h"
#include "skintrack/core/error.h"
#include "skintrack/scoring/consensus.h"
#include "skintrack/scoring/learned_dataset.h"

namespace skintrack::scoring {
namespace {

double SecondsSince(std::chrono::steady_clock::time_point t0) {
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
}

}  // namespace

CrossValidation CrossValidate(const std::vector<LabelledImage>& photos,
                              const LearnedTrainOptions& options, int folds,
                              const std::vector<std::string>& groups,
                              const std::vector<LabelledImage>& extra) {
  if (!groups.empty() && groups.size() != photos.size()) {
    throw Error(ErrorCode::kInvalidArgument, "cross-validation: one group key per photo");
  }
  std::vector<std::string> keys;  // distinct groups in first-seen order
  std::vector<size_t> group_of(photos.size());
  for (size_t i = 0; i < photos.size(); ++i) {
    const std::string key = groups.empty() ? std::to_string(i) : groups[i];
    const auto it = std::find(keys.begin(), keys.end(), key);
    group_of[i] = static_cast<size_t>(it - keys.begin());
    if (it == keys.end()) keys.push_back(key);
  }
  if (folds < 2 || folds > static_cast<int>(keys.size())) {
    throw Error(ErrorCode::kInvalidArgument, "cross-validation: folds must be within 2.." +
                                                 std::to_string(keys.size()) +
                                                 " (the number of distinct photos)");
  }
  std::vector<size_t> order(keys.size());
  std::iota(order.begin(), order.end(), 0);
  learned::SplitMix rng(options.seed ^ 0xC5055EEDull);
  for (size_t i = order.size(); i > 1; --i) std::swap(order[i - 1], order[rng.Below(i)]);
  std::vector<int> fold_of_group(keys.size());
  for (size_t i = 0; i < order.size(); ++i) fold_of_group[order[i]] = static_cast<int>(i % folds);
  CrossValidation cv;
  cv.masks.resize(photos.size());
  cv.fold.resize(photos.size());
  for (size_t i = 0; i < photos.size(); ++i) cv.fold[i] = fold_of_group[group_of[i]];
  for (int k = 0; k < folds; ++k) {
    std::vector<LabelledImage> train = extra;  // cv::Mat copies share the pixels
    for (size_t i = 0; i < photos.size(); ++i)
      if (cv.fold[i] != k) train.push_back(photos[i]);
    const auto t0 = std::chrono::steady_clock::now();
    const auto model = std::make_shared<const LearnedModel>(LearnedModel::Train(train, options));
    cv.train_seconds += SecondsSince(t0);
    cv.thresholds.push_back(model->info().threshold);
    cv.models.push_back(model);
    const auto t1 = std::chrono::steady_clock::now();
    for (size_t i = 0; i < photos.size(); ++i)
      if (cv.fold[i] == k) cv.masks[i] = model->PredictMask(photos[i].bgr);
    cv.predict_seconds += SecondsSince(t1);
  }
  return cv;
}

HalvesOutcome SegmentRightHalf(const LabelledImage& photo, const ReferenceOptions& options,
                               std::shared_ptr<const LearnedModel> general) {
  const int half = photo.bgr.cols / 2;
  if (half < 16) throw Error(ErrorCode::kInvalidArgument, photo.name + ": too narrow for halves");
  const cv::Rect left(0, 0, half, photo.bgr.rows);
  const cv::Rect right(half, 0, photo.bgr.cols - half, photo.bgr.rows);
  PatientReference ref;
  ref.bgr = photo.bgr(left).clone();
  ref.lesion_mask = photo.mask(left).clone();
  const auto segmenter = MakeReferenceSegmenter(ref, options, std::move(general));
  HalvesOutcome out;
  out.right = photo.bgr(right).clone();
  out.truth = photo.mask(right).clone();
  out.predicted = segmenter->Segment(out.right).lesion_mask;
  out.learned = segmenter->LearnedFromReference();
  return out;
}

PhotoScore ScorePhoto(const std::string& name, const cv::Mat& bgr, const cv::Mat& predicted,
                      const cv::Mat& truth, LearnedTarget target) {
  if (predicted.size() != bgr.size() || truth.size() != bgr.size()) {
    throw Error(ErrorCode::kInvalidArgument,
                name + ": prediction, reference and image sizes differ");
  }
  PhotoScore s;
  s.name = name;
  s.dice = MaskDice(predicted, truth);
  const double area = static_cast<double>(bgr.total());
  s.predicted_fraction = cv::countNonZero(predicted) / area;
  s.truth_fraction = cv::countNonZero(truth) / area;
  const SkinTone tone = target == LearnedTarget::kSkin
                            ? NormalSkinTone(bgr, truth, cv::Mat())
                            : NormalSkinTone(bgr, SegmentSkin(bgr, 384), truth);
  s.ita = tone.ita_degrees;
  s.ita_group = tone.group;
  return s;
}

std::vector<GroupSummary> Summarise(const std::vector<PhotoScore>& scores) {
  auto summarise = [](const std::string& group, const std::vector<const PhotoScore*>& rows) {
    GroupSummary g;
    g.group = group;
    g.photos = static_cast<int>(rows.size());
    std::vector<double> dice;
    double err = 0, human = 0;
    int humans = 0;
    for (const PhotoScore* r : rows) {
      dice.push_back(r->dice);
      err += std::abs(r->predicted_fraction - r->truth_fraction) * 100.0;
      if (r->human) {
        human += *r->human;
        ++humans;
      }
    }
    std::sort(dice.begin(), dice.end());
    const size_t n = dice.size();
    g.dice_mean = std::accumulate(dice.begin(), dice.end(), 0.0) / n;
    g.dice_median = n % 2 ? dice[n / 2] : 0.5 * (dice[n / 2 - 1] + dice[n / 2]);
    g.abs_share_error_points = err / n;
    if (humans) g.human_mean = human / humans;
    return g;
  };
  std::vector<GroupSummary> out;
  if (scores.empty()) return out;
  std::vector<const PhotoScore*> all;
  all.reserve(scores.size());
  for (const PhotoScore& s : scores) all.push_back(&s);
  out.push_back(summarise("all", all));
  for (const char* group : kToneGroups) {
    std::vector<const PhotoScore*> rows;
    for (const PhotoScore& s : scores)
      if (s.ita_group == group) rows.push_back(&s);
    if (!rows.empty()) out.push_back(summarise(group, rows));
  }
  return out;
}

std::optional<double> GroupGap(const std::vector<GroupSummary>& summary, int min_photos) {
  double best = -1, worst = 2;
  int groups = 0;
  for (const GroupSummary& g : summary) {
    if (g.group == "all" || g.group == kToneUncertain || g.photos < min_photos) continue;
    best = std::max(best, g.dice_mean);
    worst = std::min(worst, g.dice_mean);
    ++groups;
  }
  if (groups < 2) return std::nullopt;
  return best - worst;
}

}  // namespace skintrack::scoring
