// Segmentation of one capture into skin, lesion and (vitiligo) patch-envelope masks.
//
// `Segmenter` is the interface: the built-in classical segmenters work in CIELAB relative to the
// patient's own surrounding normal skin; an annotator's masks (SuppliedMaskSegmenter) or, later, a
// trained model stand in behind the same interface.
//
// Masks are CV_8UC1, 0 or 255, of the input image's size; pixel (x, y) of a mask is pixel (x, y)
// of the image. The classical segmenters work on a reduced copy (longest side
// ClassicalSegmenterOptions::work_max_side) and return full-size masks whose borders are
// interpolated from it, so the borders are exact to about one reduced pixel.
#pragma once

#include <memory>
#include <opencv2/core.hpp>
#include <optional>
#include <string>

#include "skintrack/core/body_sites.h"

namespace skintrack::scoring {

struct Segmentation {
  cv::Mat skin_mask;      // skin (lesions included) vs background, clothes, hair
  cv::Mat lesion_mask;    // psoriasis plaques, or depigmented pixels for vitiligo; inside skin
  cv::Mat envelope_mask;  // vitiligo patch envelope (lesion + islands of pigment); empty otherwise
  // Threshold sensitivity of the lesion fraction of skin: the fraction with the decision threshold
  // moved toward normal skin (high) and toward the lesion (low) by
  // ClassicalSegmenterOptions::sensitivity_step of the lesion contrast. Absent for supplied masks.
  std::optional<double> fraction_low, fraction_high;
  // Diagnostics of the automatic decision, in the segmenter's score units (psoriasis: delta a*;
  // vitiligo: delta L* - delta b*): lesion mode minus normal mode, and the threshold used.
  double contrast = 0;
  double threshold = 0;
  bool lesion_found = false;  // false when no lesion population stood out of the normal skin
  std::string segmenter;      // name and version of what produced the masks
};

class Segmenter {
 public:
  virtual ~Segmenter() = default;
  // Name and version, stored with the result.
  virtual std::string Name() const = 0;
  // `bgr` is CV_8UC3 as OpenCV decodes it. Throws Error(kInvalidArgument) for an empty image or
  // another type. Implementations are const and may be called from several threads at once.
  virtual Segmentation Segment(const cv::Mat& bgr) const = 0;
};

struct ClassicalSegmenterOptions {
  Condition condition = Condition::kPsoriasis;
  int work_max_side = 768;  // longest side of the reduced copy, pixels (128..4096)
  // Smallest lesion contrast accepted as a lesion population (score units, see Segmentation). Below
  // it the image is reported lesion-free instead of splitting normal skin texture in two.
  double min_contrast = 0;         // 0 = the condition's default (psoriasis 5, vitiligo 7)
  double sensitivity_step = 0.15;  // threshold shift for the uncertainty, share of the contrast
  double min_lesion_area = 2e-4;   // smallest lesion kept, share of the image area
  // Psoriasis 1.2's rules for extensive disease and diffuse erythema: the first reference from the
  // less red skin without scale, plaques kept only with a step border, large holes (islands of
  // normal skin) left open. Off: the 1.1 rules (reference from the whole skin, every candidate
  // kept, every hole filled), which mark only the clearly red cores; the learned segmenter's
  // features use them (docs/learned-segmentation.md, "Feature version 2").
  bool extensive_disease_rules = true;
  // Throws Error(kInvalidArgument) naming the first bad field.
  void Check() const;
};

// The built-in classical segmenter for one condition. Throws Error(kInvalidArgument) for bad
// options.
std::unique_ptr<Segmenter> MakeClassicalSegmenter(const ClassicalSegmenterOptions& options);

// An annotator's (or another tool's) masks standing in for the automatic segmentation. Masks are
// CV_8UC1 (any non-zero = set) of the image's size. Without a skin mask the classical skin mask is
// used, united with the lesion mask; the envelope (vitiligo) is derived from the lesion mask as in
// the classical segmenter. Segment() throws Error(kInvalidArgument) when a mask's size differs
// from the image's.
class SuppliedMaskSegmenter : public Segmenter {
 public:
  SuppliedMaskSegmenter(Condition condition, cv::Mat lesion_mask, cv::Mat skin_mask = {});
  std::string Name() const override;
  Segmentation Segment(const cv::Mat& bgr) const override;

 private:
  Condition condition_;
  cv::Mat lesion_mask_;
  cv::Mat skin_mask_;
};

// Skin vs background at full size (works from very light to very dark skin: a hue window in
// CIELAB plus hole filling, so pale lesions inside the skin count as skin). Throws
// Error(kInvalidArgument) for an empty or non-CV_8UC3 image.
cv::Mat SegmentSkin(const cv::Mat& bgr, int work_max_side = 768);

// Patch envelope of a depigmented mask: closes gaps of up to about `gap_fraction` of the mask's
// longest side (islands of perifollicular pigment) and fills holes. CV_8UC1 0/255 in, same out.
cv::Mat VitiligoEnvelope(const cv::Mat& lesion_mask, double gap_fraction = 0.012);

// Reads a mask PNG (single channel or colour; non-zero = set, returned as 0/255) and checks its
// size against `expected` (cv::Size() = any size). Throws Error(kIo) when the file is missing,
// Error(kImageDecode) when it does not decode, Error(kInvalidArgument) when the size differs.
cv::Mat ReadMask(const std::string& path, cv::Size expected);

// Reads a colour image (CV_8UC3). Throws Error(kIo) when missing, Error(kImageDecode) when the
// bytes do not decode.
cv::Mat ReadImage(const std::string& path);

}  // namespace skintrack::scoring
