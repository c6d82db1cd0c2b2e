// A segmenter trained from annotated photos: per-pixel random forests on colour, texture and
// context features (docs/learned-segmentation.md explains the choice and the measured figures).
//
// Two stages (auto-context, Tu & Bai 2010): the first forest sees colour relative to the image's
// own skin, texture at several scales and the classical segmenter's masks; the second also sees
// the first one's probabilities smoothed over growing neighbourhoods. Both run on a reduced copy
// of the image (longest side LearnedTrainOptions::work_max_side); the probability map is
// smoothed, cleaned (small components removed, small holes filled) and interpolated back to the
// full size, so borders are exact to about one reduced pixel.
//
// A model file is self-describing: magic, format version, feature version, target, a hash of the
// training set, the training parameters, the decision threshold and a checksum. It refuses to load
// with a clear error naming the file when any of these does not fit.
#pragma once

#include <cstdint>
#include <memory>
#include <opencv2/core.hpp>
#include <string>
#include <string_view>
#include <vector>

#include "skintrack/scoring/segmentation.h"

namespace skintrack::scoring {

// What a model predicts: psoriasis lesions (plaque incl. scale), vitiligo depigmentation, or skin.
enum class LearnedTarget { kPsoriasis, kVitiligo, kSkin };
const char* LearnedTargetName(LearnedTarget t) noexcept;  // "psoriasis" | "vitiligo" | "skin"
// Throws Error(kInvalidArgument) on any other text.
LearnedTarget ParseLearnedTarget(std::string_view text);
LearnedTarget TargetOf(Condition c) noexcept;

// One training photo: CV_8UC3 image and a CV_8UC1 0/255 mask of the same size.
struct LabelledImage {
  std::string name;  // used in messages and reports
  cv::Mat bgr;
  cv::Mat mask;
};

struct LearnedTrainOptions {
  LearnedTarget target = LearnedTarget::kPsoriasis;
  int work_max_side = 320;         // reduced copy, pixels (128..1024)
  int samples_per_image = 4000;    // training pixels drawn from each photo
  int max_total_samples = 600000;  // cap over the whole set (fewer per photo when many photos)
  double positive_share = 0.3;     // share of a photo's samples from its mask; 0 = uniform
  int trees = 24;                  // per stage
  int max_depth = 14;
  int min_leaf = 12;
  bool auto_context = true;           // second stage fed with the first one's probabilities
  int context_folds = 3;              // out-of-fold maps for the second stage and the threshold
  double min_component_share = 5e-4;  // components smaller than this share of the image dropped
  double max_hole_share = 2e-3;       // holes smaller than this share of the image filled
  // Tone-shifted copies of each training photo (more, then less melanin on its skin), 0..4;
  // -1: DefaultToneCopies(target). The model file records the number used.
  int tone_copies = -1;
  // Synthetic scenes from the project's phantom generator added to the training photos, 0..24:
  // skin of Fitzpatrick types 1-6 in turn with mild blotchy redness and plaques (or patches),
  // their truth masks exact. They teach what real annotation sets rarely show: that
  // redness without a plaque is normal skin. -1: DefaultPhantomScenes(target). Recorded.
  int phantom_scenes = -1;
  uint64_t seed = 1;
  // Throws Error(kInvalidArgument) naming the first bad field.
  void Check() const;
};

// 1 for psoriasis (measured to help: docs/learned-segmentation.md, "Tone copies"), 0 otherwise.
int DefaultToneCopies(LearnedTarget target);
// 6 for psoriasis (measured: docs/learned-segmentation.md, "Phantom scenes"), 0 otherwise.
int DefaultPhantomScenes(LearnedTarget target);

struct LearnedModelInfo {
  uint32_t format_version = 0;
  uint32_t feature_version = 0;
  LearnedTarget target = LearnedTarget::kPsoriasis;
  uint64_t training_set_hash = 0;  // FNV-1a over the names, pixels and masks of the training set
  uint32_t training_images = 0;
  LearnedTrainOptions options;
  double threshold = 0.5;        // on the smoothed probability, tuned on out-of-fold maps
  double smoothing_sigma = 1.0;  // of the probability map, work pixels; tuned with the threshold
  // FNV-1a of the model file's bytes before its checksum (the checksum itself): what tells two
  // models of one training set and seed apart when the build's recipe differs.
  uint64_t content_hash = 0;
  // "<target>-<16 hex digits of the training-set hash>-s<seed>-m<8 hex digits of content_hash>";
  // files of format 4 and older keep the id they were registered under, without "-m...".
  std::string Id() const;
};

class LearnedModel {
 public:
  // Trains on `images` (at least 2; masks 0/255 of each image's size; each mask class present
  // somewhere in the set). Deterministic for a seed, whatever the thread count. Throws
  // Error(kInvalidArgument) naming the offending image.
  static LearnedModel Train(const std::vector<LabelledImage>& images,
                            const LearnedTrainOptions& options);

  // Reads a model file. Throws Error(kIo) when it cannot be read and Error(kInvalidArgument),
  // naming `path`, when it is not a model, is truncated or corrupt, is of another format or
  // feature version, or predicts another target than `expected`.
  static LearnedModel Load(const std::string& path, LearnedTarget expected);
  // Writes to a temporary file beside `path` and renames it, so a failure leaves nothing behind.
  // Throws Error(kIo).
  void Save(const std::string& path) const;
  std::string Serialise() const;
  static LearnedModel Deserialise(const std::string& bytes, const std::string& what,
                                  LearnedTarget expected);

  // Probability map of the target (CV_32FC1 in [0, 1]) at the working size of `bgr`, before the
  // threshold and the clean-up. Thread-safe.
  cv::Mat Probability(const cv::Mat& bgr) const;
  // Full-size mask, CV_8UC1 0/255. Thread-safe.
  cv::Mat PredictMask(const cv::Mat& bgr) const;

  const LearnedModelInfo& info() const;

  // The forests and their parameters (private header learned_model_impl.h).
  struct Impl;
  explicit LearnedModel(std::shared_ptr<const Impl> impl);
  const Impl& impl() const { return *impl_; }

 private:
  std::shared_ptr<const Impl> impl_;
};

// A Segmenter on a lesion model (psoriasis or vitiligo target) and optionally a skin model; without
// one the skin is the classical skin mask. The lesion mask is kept inside the skin (the skin is
// widened by the lesions, as for supplied masks); vitiligo gets the classical envelope of its
// lesion mask. fraction_low / fraction_high are the lesion shares of the skin with the threshold
// moved by 0.1 either way. Throws Error(kInvalidArgument) when a model's target does not fit.
std::unique_ptr<Segmenter> MakeLearnedSegmenter(std::shared_ptr<const LearnedModel> lesion,
                                                std::shared_ptr<const LearnedModel> skin = {});

}  // namespace skintrack::scoring
