// Measurements of one capture from its image and masks: areas and fractions (with their threshold
// sensitivity), the ITA of the normal skin, colour deltas of lesions against nearby normal skin,
// and the severity grades that feed PASI / VASI, each with the continuous value beside the grade.
//
// Colour: CIELAB (D65, L* 0..100). "Nearby normal skin" of a lesion is the ring of skin around it
// (outside every lesion) of width about 3 % of the image's longest side; when that ring is too
// small the image's whole normal skin is used instead.
#pragma once

#include <opencv2/core.hpp>
#include <optional>
#include <string>
#include <vector>

#include "skintrack/core/body_sites.h"
#include "skintrack/scoring/scores.h"
#include "skintrack/scoring/segmentation.h"

namespace skintrack::scoring {

struct MeasureOptions {
  Condition condition = Condition::kPsoriasis;
  double pixels_per_mm = 0;  // image scale when known (e.g. from a ruler); 0 = unknown
  int work_max_side = 768;   // colour statistics are taken on a reduced copy (128..4096)
  int max_lesions = 50;      // per-lesion rows kept, largest first
  // A clinician's induration grade; without one, induration is imputed (see Measurements).
  std::optional<int> clinician_induration;
  void Check() const;  // throws Error(kInvalidArgument)
};

struct Lab {
  double l = 0, a = 0, b = 0;
};

// One connected lesion region.
struct LesionMeasurement {
  double area_pixels = 0;  // full-size pixels
  cv::Rect bbox;           // full-size pixel coordinates
  Lab lesion, surround;    // medians of the lesion and of its nearby normal skin
  double delta_l = 0, delta_a = 0, delta_b = 0;
  double scale_fraction = 0;  // psoriasis: whitish pixels / lesion pixels
  int erythema_grade = 0;
  int scaling_grade = 0;
};

struct Measurements {
  Condition condition = Condition::kPsoriasis;
  long long image_pixels = 0, skin_pixels = 0, lesion_pixels = 0;
  double lesion_fraction = 0;  // lesion / skin, 0..1 (0 when there is no skin)
  // Threshold sensitivity (see Segmentation); `fraction_uncertainty` is half the spread, in the
  // same units as lesion_fraction; absent for supplied masks.
  std::optional<double> fraction_low, fraction_high, fraction_uncertainty;
  std::optional<double> skin_area_mm2, lesion_area_mm2;  // when pixels_per_mm is known
  Lab normal_skin;                                       // median of skin outside (dilated) lesions
  Lab lesion;                                            // median of lesion pixels
  double delta_l = 0, delta_a = 0, delta_b = 0;  // lesion minus nearby normal, area-weighted
  double ita_degrees = 0;                        // ITA of the normal skin
  std::string ita_group;  // SkinToneGroup: ItaGroup(ita_degrees), "uncertain" under a colour cast
  int lesion_count = 0;
  std::vector<LesionMeasurement> lesions;  // largest first, at most max_lesions

  // Psoriasis. Erythema: area-weighted delta a* of plaques vs nearby normal skin, tone-adjusted
  // (see erythema_tone_gain). Desquamation:
  // share of plaque pixels that are whitish (high L*, low chroma). Induration: the clinician's
  // grade, or imputed as round((E + D) / 2) (the two visible signs track plaque thickness).
  SeverityGrade erythema, desquamation, induration;
  // Skin-tone gain applied to delta a* before grading erythema (1 for intermediate and lighter
  // skin, up to 2 for very dark skin, where melanin hides redness); erythema.continuous is
  // delta_a x this gain.
  double erythema_tone_gain = 1.0;
  double scale_fraction = 0;

  // Vitiligo: patch envelope, residual depigmentation inside it (continuous and ladder level).
  long long envelope_pixels = 0;
  double envelope_fraction = 0;  // envelope / skin
  double depigmentation_percent = 0;
  int depigmentation_level = 0;  // NearestVasiLevel

  std::string segmenter;
  std::string algorithm_version = kScoringVersion;
};

// Erythema grade 0-4 from delta a* (lesion minus nearby normal skin). Bounds [2.5, 7, 12, 17):
// below 2.5 a plaque is not redder than skin noise; 17 and more is "very marked" (beefy red).
int ErythemaGradeFromDeltaA(double delta_a) noexcept;
// Scaling grade 0-4 from the whitish share of plaque pixels. Bounds [0.03, 0.15, 0.30, 0.50):
// a few flecks (slight), up to a third of the plaque (moderate), up to half (marked), half or
// more covered by silvery scale (very marked).
int ScalingGradeFromFraction(double scale_fraction) noexcept;

// Measures `bgr` (CV_8UC3) with masks from a Segmenter. Throws Error(kInvalidArgument) when the
// masks' sizes differ from the image's, a mask is not CV_8UC1, or the options are bad. Thread-safe.
Measurements Measure(const cv::Mat& bgr, const Segmentation& segmentation,
                     const MeasureOptions& options);

}  // namespace skintrack::scoring
