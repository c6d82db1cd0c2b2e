// Held-out evaluation protocols of the learned segmenter, shared by `skintrack eval` and the
// model card of a data directory: k-fold cross-validation over photos (every photo is predicted
// by a model that did not see it) and the same-patient protocol (fit on the left half of a photo
// with its mask, predict the right half).
#pragma once

#include <optional>
#include <string>
#include <vector>

#include "skintrack/scoring/learned_reference.h"
#include "skintrack/scoring/learned_segmenter.h"

namespace skintrack::scoring {

struct CrossValidation {
  std::vector<cv::Mat> masks;                               // per photo, CV_8UC1 0/255 of its size
  std::vector<int> fold;                                    // per photo
  std::vector<double> thresholds;                           // per fold, as tuned by its training
  std::vector<std::shared_ptr<const LearnedModel>> models;  // per fold (fold k did not train it)
  double train_seconds = 0;                                 // all folds, wall time
  double predict_seconds = 0;                               // all photos, wall time
};

// k-fold over `photos`: the distinct `groups` keys (one per photo; empty = every photo its own
// group) are assigned to folds by a shuffle seeded with options.seed, so augmented copies of one
// source photo never sit on both sides of a split. `extra` photos are added to every fold's
// training set and never scored. Throws Error(kInvalidArgument) unless 2 <= folds <= groups, or
// as LearnedModel::Train.
CrossValidation CrossValidate(const std::vector<LabelledImage>& photos,
                              const LearnedTrainOptions& options, int folds,
                              const std::vector<std::string>& groups = {},
                              const std::vector<LabelledImage>& extra = {});

struct HalvesOutcome {
  cv::Mat predicted;     // right half, CV_8UC1 0/255
  cv::Mat truth;         // right half of the photo's mask
  cv::Mat right;         // right half of the photo
  bool learned = false;  // false when the left half's mask held one class (fallback segmenter)
};

// The same-patient protocol on one photo: a reference segmenter fitted on the left half
// (columns [0, cols/2)) with its mask segments the right half.
HalvesOutcome SegmentRightHalf(const LabelledImage& photo, const ReferenceOptions& options,
                               std::shared_ptr<const LearnedModel> general = {});

// Agreement of one prediction with its reference. Fractions are of the whole image.
struct PhotoScore {
  std::string name;
  double dice = 0;
  double predicted_fraction = 0, truth_fraction = 0;
  double ita = 0;         // of the normal skin (the reference mask's complement within the skin)
  std::string ita_group;  // skintrack::SkinToneGroup: an ITA group or "uncertain"
  std::optional<double> human;  // the photo's human bar (multi-annotator sets)
};

// Scores `predicted` against `truth` of `bgr`. For the skin target the skin is the reference
// itself; otherwise the classical skin mask. Throws Error(kInvalidArgument) on a size mismatch.
PhotoScore ScorePhoto(const std::string& name, const cv::Mat& bgr, const cv::Mat& predicted,
                      const cv::Mat& truth, LearnedTarget target);

struct GroupSummary {
  std::string group;  // "all" or an ITA group
  int photos = 0;
  double dice_mean = 0, dice_median = 0;
  double abs_share_error_points = 0;  // mean |predicted - truth| share of the image, points
  std::optional<double> human_mean;
};

// "all" first, then the ITA groups present, lightest first.
std::vector<GroupSummary> Summarise(const std::vector<PhotoScore>& scores);
// Best minus worst group mean Dice over the ITA groups with at least `min_photos` photos
// (nullopt when fewer than two such groups).
std::optional<double> GroupGap(const std::vector<GroupSummary>& summary, int min_photos = 2);

}  // namespace skintrack::scoring
