// Patient-specific segmentation: a small forest fitted on a reference photo of the same patient
// and site (a baseline whose lesion mask a clinician has checked) segments the follow-up photos.
// It learns this patient's own skin and lesion colours and textures, which a general model can
// only approximate; the general model's probability (or, without one, the classical segmenter's
// masks, which are among the base features) is one of its features, so the two are combined.
#pragma once

#include <memory>
#include <opencv2/core.hpp>

#include "skintrack/scoring/learned_segmenter.h"

namespace skintrack::scoring {

struct PatientReference {
  cv::Mat bgr;          // CV_8UC3
  cv::Mat lesion_mask;  // CV_8UC1 0/255 of the image's size
  cv::Mat skin_mask;    // optional: CV_8UC1 0/255; when given, a patient skin forest is fitted too
};

struct ReferenceOptions {
  Condition condition = Condition::kPsoriasis;
  int work_max_side = 320;      // reduced copy, pixels (128..1024)
  int samples = 30000;          // reference pixels drawn for the patient forest
  double positive_share = 0.5;  // of them from the lesion mask
  int trees = 16;
  int max_depth = 12;
  int min_leaf = 8;
  double threshold = 0.5;        // on the smoothed patient probability
  double smoothing_sigma = 2.0;  // of the patient probability, work pixels
  // 1: the threshold is tuned on the reference itself (forests fitted on its top and bottom
  // halves score each other; 0.2..0.8, the best Dice of the cleaned map), `threshold` when a half
  // holds a single class; 0: `threshold`; -1: by condition, tuned for psoriasis only (measured:
  // docs/learned-segmentation.md, "Patient-specific adaptation").
  int tune_threshold = -1;
  uint64_t seed = 1;
  bool TunesThreshold() const {
    return tune_threshold < 0 ? condition == Condition::kPsoriasis : tune_threshold != 0;
  }
  // Throws Error(kInvalidArgument) naming the first bad field.
  void Check() const;
};

// A Segmenter fitted on a patient's reference photo.
class PatientSegmenter : public Segmenter {
 public:
  // False when the reference taught nothing (its mask had no lesion or no normal pixel at the
  // working size): the segmenter is then the general model or the classical one, and what
  // produced a mask is that model, not a patient model.
  virtual bool LearnedFromReference() const = 0;
};

// Fits the patient forest(s) on `reference` and returns a Segmenter for photos of the same site.
// `general` (optional) must be a model of the condition; `general_skin` (optional) a skin model,
// used for the skin when the reference has no skin mask. When the reference mask has no lesion
// pixel or no normal pixel there is nothing to learn about the difference, and the segmenter is
// the general model (or the classical one); Name() and LearnedFromReference() say so. Throws
// Error(kInvalidArgument) on an empty image, a mask of another size or type, or a model of
// another target.
std::unique_ptr<PatientSegmenter> MakeReferenceSegmenter(
    const PatientReference& reference, const ReferenceOptions& options,
    std::shared_ptr<const LearnedModel> general = {},
    std::shared_ptr<const LearnedModel> general_skin = {});

}  // namespace skintrack::scoring
