#include "skintrack/scoring/measure.h"

#include <algorithm>
#include <cmath>
#include <opencv2/imgproc.hpp>

#include "image_ops.h"
#include "skintrack/core/colour.h"
#include "skintrack/core/error.h"
#include "skintrack/scoring/induration.h"
#include "skintrack/scoring/vasi_envelope.h"

namespace skintrack::scoring {
namespace {

using detail::Disk;
using detail::Gather;
using detail::Quantile;

// Scale on a plaque: this much lighter than the surrounding skin and at most this share of its
// chroma (silvery white has almost no chroma whatever the skin tone).
constexpr double kScaleDeltaL = 3.0;
constexpr double kScaleChromaShare = 0.7;
// Melanin absorbs the light that would show the blood's redness, so the same inflammation gives
// a smaller delta a* on darker skin. Erythema is graded on delta a* scaled by kToneReferenceL /
// L*(normal skin), capped at kMaxToneGain, for skin darker than the reference (an intermediate
// tone); lighter skin is graded on delta a* as measured.
constexpr double kToneReferenceL = 60.0;
constexpr double kMaxToneGain = 2.0;
constexpr int kMinRingPixels = 30;

void CheckMask(const cv::Mat& m, cv::Size size, const char* what, bool required) {
  if (m.empty()) {
    if (required) {
      throw Error(ErrorCode::kInvalidArgument, std::string("the ") + what + " mask is missing");
    }
    return;
  }
  if (m.type() != CV_8UC1) {
    throw Error(ErrorCode::kInvalidArgument, std::string("the ") + what + " mask must be CV_8UC1");
  }
  if (m.size() != size) {
    throw Error(ErrorCode::kInvalidArgument,
                std::string("the ") + what + " mask is " + std::to_string(m.cols) + "x" +
                    std::to_string(m.rows) + " but the image is " + std::to_string(size.width) +
                    "x" + std::to_string(size.height));
  }
}

Lab MedianLab(const cv::Mat& l, const cv::Mat& a, const cv::Mat& b, const cv::Mat& mask) {
  std::vector<float> vl = Gather(l, mask), va = Gather(a, mask), vb = Gather(b, mask);
  if (vl.empty()) return {};
  return {Quantile(vl, 0.5), Quantile(va, 0.5), Quantile(vb, 0.5)};
}

cv::Mat ScaleMask(const cv::Mat& l, const cv::Mat& a, const cv::Mat& b, const Lab& surround) {
  const double chroma_max = kScaleChromaShare * std::hypot(surround.a, surround.b);
  cv::Mat chroma;
  cv::magnitude(a, b, chroma);
  return (l > surround.l + kScaleDeltaL) & (chroma < chroma_max);
}

}  // namespace

void MeasureOptions::Check() const {
  if (!std::isfinite(pixels_per_mm) || pixels_per_mm < 0) {
    throw Error(ErrorCode::kInvalidArgument, "pixels_per_mm must be >= 0 (0 = unknown)");
  }
  if (work_max_side < 128 || work_max_side > 4096) {
    throw Error(ErrorCode::kInvalidArgument, "work_max_side must be within 128..4096");
  }
  if (max_lesions < 0) throw Error(ErrorCode::kInvalidArgument, "max_lesions must be >= 0");
  if (clinician_induration && (*clinician_induration < 0 || *clinician_induration > 4)) {
    throw Error(ErrorCode::kInvalidArgument, "an induration grade must be 0-4");
  }
}

int ErythemaGradeFromDeltaA(double d) noexcept {
  if (d < 2.5) return 0;
  if (d < 7.0) return 1;
  if (d < 12.0) return 2;
  if (d < 17.0) return 3;
  return 4;
}

int ScalingGradeFromFraction(double f) noexcept {
  if (f < 0.03) return 0;
  if (f < 0.15) return 1;
  if (f < 0.30) return 2;
  if (f < 0.50) return 3;
  return 4;
}

namespace {

// The reduced copy the colour statistics are taken on, in CIELAB, with its normal skin.
struct WorkImage {
  double scale = 1;  // work pixels per full-size pixel
  cv::Mat lesion, normal;
  std::vector<cv::Mat> lab;  // L*, a*, b*
  int ring = 2;              // width of the ring of normal skin around a lesion, work pixels
  double tone_gain = 1;
};

// One lesion against the ring of normal skin around it, and its pixel counts on the work copy.
struct LesionOnWork {
  LesionMeasurement row;
  double pixels = 0, scale_pixels = 0;
};

LesionOnWork MeasureLesion(const WorkImage& w, const cv::Mat& labels, const cv::Mat& stats, int i,
                           const Lab& normal_skin) {
  const cv::Mat &l_star = w.lab[0], &a_star = w.lab[1], &b_star = w.lab[2];
  const cv::Rect box(stats.at<int>(i, cv::CC_STAT_LEFT), stats.at<int>(i, cv::CC_STAT_TOP),
                     stats.at<int>(i, cv::CC_STAT_WIDTH), stats.at<int>(i, cv::CC_STAT_HEIGHT));
  const cv::Rect roi = (box + cv::Size(2 * w.ring, 2 * w.ring) - cv::Point(w.ring, w.ring)) &
                       cv::Rect(0, 0, labels.cols, labels.rows);
  cv::Mat comp = labels(roi) == i;
  cv::Mat around;
  cv::dilate(comp, around, Disk(w.ring));
  cv::Mat ring_mask = around & w.normal(roi);
  LesionOnWork out;
  LesionMeasurement& lm = out.row;
  lm.lesion = MedianLab(l_star(roi), a_star(roi), b_star(roi), comp);
  lm.surround = cv::countNonZero(ring_mask) >= kMinRingPixels
                    ? MedianLab(l_star(roi), a_star(roi), b_star(roi), ring_mask)
                    : normal_skin;
  const cv::Mat scale_px = ScaleMask(l_star(roi), a_star(roi), b_star(roi), lm.surround) & comp;
  out.pixels = cv::countNonZero(comp);
  out.scale_pixels = cv::countNonZero(scale_px);
  lm.scale_fraction = out.pixels > 0 ? out.scale_pixels / out.pixels : 0.0;
  // Redness is read on the plaque without its scale: scale hides the erythema under it.
  const cv::Mat red_part = comp & ~scale_px;
  // The upper quartile of a*: a plaque mottled with scale and hair has few pixels at its full
  // redness, and the median of a mixed border would understate it.
  double plaque_a = lm.lesion.a;
  if (cv::countNonZero(red_part) >= 4) {
    std::vector<float> av = Gather(a_star(roi), red_part);
    plaque_a = Quantile(av, 0.75);
  }
  lm.delta_l = lm.lesion.l - lm.surround.l;
  lm.delta_a = plaque_a - lm.surround.a;
  lm.delta_b = lm.lesion.b - lm.surround.b;
  lm.erythema_grade = ErythemaGradeFromDeltaA(lm.delta_a * w.tone_gain);
  lm.scaling_grade = ScalingGradeFromFraction(lm.scale_fraction);
  const double scale = w.scale;
  lm.area_pixels = out.pixels / (scale * scale);
  lm.bbox = cv::Rect(cv::Point(static_cast<int>(box.x / scale), static_cast<int>(box.y / scale)),
                     cv::Size(static_cast<int>(std::ceil(box.width / scale)),
                              static_cast<int>(std::ceil(box.height / scale))));
  return out;
}

// Per lesion, and the area-weighted deltas over all of them. Returns (plaque pixels, scale
// pixels) on the work copy.
std::pair<double, double> MeasureLesions(const WorkImage& w, const MeasureOptions& options,
                                         Measurements& m) {
  cv::Mat labels, stats, centroids;
  const int n = cv::connectedComponentsWithStats(w.lesion, labels, stats, centroids, 8, CV_32S);
  double weight_sum = 0, dl = 0, da = 0, db = 0, scale_pixels = 0;
  std::vector<LesionMeasurement> lesions;
  for (int i = 1; i < n; ++i) {
    const LesionOnWork one = MeasureLesion(w, labels, stats, i, m.normal_skin);
    weight_sum += one.pixels;
    dl += one.pixels * one.row.delta_l;
    da += one.pixels * one.row.delta_a;
    db += one.pixels * one.row.delta_b;
    scale_pixels += one.scale_pixels;
    lesions.push_back(one.row);
  }
  m.lesion_count = n - 1;
  std::sort(lesions.begin(), lesions.end(),
            [](const LesionMeasurement& x, const LesionMeasurement& y) {
              return x.area_pixels > y.area_pixels;
            });
  if (static_cast<int>(lesions.size()) > options.max_lesions) {
    lesions.resize(static_cast<size_t>(options.max_lesions));
  }
  m.lesions = std::move(lesions);
  if (weight_sum > 0) {
    m.delta_l = dl / weight_sum;
    m.delta_a = da / weight_sum;
    m.delta_b = db / weight_sum;
  }
  return {weight_sum, scale_pixels};
}

// Erythema and desquamation graded from the lesions; induration the clinician's or imputed.
void GradePsoriasis(const MeasureOptions& options, double tone_gain, double plaque_pixels,
                    double scale_pixels, Measurements& m) {
  m.scale_fraction = plaque_pixels > 0 ? scale_pixels / plaque_pixels : 0.0;
  const bool any = plaque_pixels > 0;
  m.erythema_tone_gain = tone_gain;
  m.erythema.grade = any ? ErythemaGradeFromDeltaA(m.delta_a * tone_gain) : 0;
  m.erythema.provenance = Provenance::kMeasured;
  m.erythema.continuous = m.delta_a * tone_gain;
  m.erythema.method =
      "area-weighted upper-quartile delta a* of plaques (scale excluded) vs the ring of normal "
      "skin around each, x clamp(60 / L* of normal skin, 1, 2) for skin tone";
  m.desquamation.grade = any ? ScalingGradeFromFraction(m.scale_fraction) : 0;
  m.desquamation.provenance = Provenance::kMeasured;
  m.desquamation.continuous = m.scale_fraction;
  m.desquamation.method =
      "share of plaque pixels with L* > surround + 3 and chroma < 0.7 x "
      "surround chroma";
  if (options.clinician_induration) {
    m.induration.grade = *options.clinician_induration;
    m.induration.provenance = Provenance::kClinician;
    m.induration.method = "entered by a clinician";
  } else {
    m.induration = ImputeInduration(m.erythema, m.desquamation);
  }
}

// Areas and fractions at full size (with the threshold sensitivity and mm² when known).
void MeasureAreas(const Segmentation& seg, const cv::Mat& skin_full, const cv::Mat& lesion_full,
                  const MeasureOptions& options, Measurements& m) {
  m.skin_pixels = cv::countNonZero(skin_full);
  m.lesion_pixels = cv::countNonZero(lesion_full);
  m.lesion_fraction =
      m.skin_pixels > 0 ? static_cast<double>(m.lesion_pixels) / m.skin_pixels : 0.0;
  if (seg.fraction_low && seg.fraction_high) {
    m.fraction_low = std::min(*seg.fraction_low, m.lesion_fraction);
    m.fraction_high = std::max(*seg.fraction_high, m.lesion_fraction);
    m.fraction_uncertainty = 0.5 * (*m.fraction_high - *m.fraction_low);
  }
  if (options.pixels_per_mm > 0) {
    const double mm2 = 1.0 / (options.pixels_per_mm * options.pixels_per_mm);
    m.skin_area_mm2 = m.skin_pixels * mm2;
    m.lesion_area_mm2 = m.lesion_pixels * mm2;
  }
}

}  // namespace

Measurements Measure(const cv::Mat& bgr, const Segmentation& seg, const MeasureOptions& options) {
  options.Check();
  if (bgr.empty() || bgr.type() != CV_8UC3) {
    throw Error(ErrorCode::kInvalidArgument, "Measure needs a non-empty CV_8UC3 image");
  }
  CheckMask(seg.skin_mask, bgr.size(), "skin", true);
  CheckMask(seg.lesion_mask, bgr.size(), "lesion", true);
  CheckMask(seg.envelope_mask, bgr.size(), "envelope", false);

  Measurements m;
  m.condition = options.condition;
  m.segmenter = seg.segmenter;
  const cv::Mat skin_full = seg.skin_mask != 0;
  const cv::Mat lesion_full = (seg.lesion_mask != 0) & skin_full;
  m.image_pixels = static_cast<long long>(bgr.total());
  MeasureAreas(seg, skin_full, lesion_full, options, m);

  // Colour statistics on a reduced copy: medians of thousands of pixels do not need millions.
  WorkImage w;
  w.scale = detail::WorkScale(bgr.size(), options.work_max_side);
  const cv::Mat work = detail::Reduce(bgr, w.scale);
  const cv::Mat skin = detail::ReduceMask(skin_full, w.scale);
  w.lesion = detail::ReduceMask(lesion_full, w.scale) & skin;
  const int longest = std::max(work.cols, work.rows);
  cv::split(BgrToLab(work), w.lab);
  cv::Mat grown;
  cv::dilate(w.lesion, grown, Disk(std::max(1, longest / 150)));
  w.normal = skin & ~grown;
  if (cv::countNonZero(w.normal) < kMinRingPixels) w.normal = skin & ~w.lesion;
  m.normal_skin = MedianLab(w.lab[0], w.lab[1], w.lab[2], w.normal);
  m.lesion = MedianLab(w.lab[0], w.lab[1], w.lab[2], w.lesion);
  m.ita_degrees = ItaDegrees(m.normal_skin.l, m.normal_skin.b);
  m.ita_group = SkinToneGroup(m.normal_skin.l, m.normal_skin.b);
  w.tone_gain = std::clamp(kToneReferenceL / std::max(1.0, m.normal_skin.l), 1.0, kMaxToneGain);
  w.ring = std::max(2, longest * 3 / 100);
  const auto [plaque_pixels, scale_pixels] = MeasureLesions(w, options, m);

  if (options.condition == Condition::kPsoriasis) {
    GradePsoriasis(options, w.tone_gain, plaque_pixels, scale_pixels, m);
  } else {
    const cv::Mat envelope = VasiEnvelope(lesion_full, skin_full, seg.envelope_mask);
    m.envelope_pixels = cv::countNonZero(envelope);
    m.envelope_fraction =
        m.skin_pixels > 0 ? static_cast<double>(m.envelope_pixels) / m.skin_pixels : 0.0;
    m.depigmentation_percent =
        m.envelope_pixels > 0 ? 100.0 * m.lesion_pixels / static_cast<double>(m.envelope_pixels)
                              : 0.0;
    m.depigmentation_level = NearestVasiLevel(std::clamp(m.depigmentation_percent, 0.0, 100.0));
  }
  return m;
}

}  // namespace skintrack::scoring
