#include "skintrack/scoring/segmentation.h"

#include <algorithm>
#include <cmath>
#include <filesystem>
#include <future>
#include <limits>
#include <opencv2/imgcodecs.hpp>
#include <opencv2/imgproc.hpp>
#include <vector>

#include "image_ops.h"
#include "psoriasis_edges.h"
#include "segmentation_internal.h"
#include "skintrack/core/colour.h"
#include "skintrack/core/error.h"

namespace skintrack::scoring {
namespace {

using detail::CheckImage;
using detail::Disk;
using detail::ExpandMask;
using detail::FillHoles;
using detail::Gather;
using detail::Longest;
using detail::MakeWorkLab;
using detail::Quantile;
using detail::RemoveSmall;
using detail::SkinAtWork;
using detail::WorkLab;

// Silvery scale: lighter than the normal skin and with at most this share of its chroma (white
// has almost no chroma whatever the skin tone). Same test as the measurement's (measure.cpp).
constexpr double kScaleDeltaL = 3.0;
// Tone gain of erythema (see measure.cpp): delta a* x clamp(kToneReferenceL / L*, 1, kMaxToneGain).
constexpr double kToneReferenceL = 60.0;
constexpr double kMaxToneGain = 2.0;
// Depigmented skin keeps at least this CIELAB chroma (see ScoreMap).
constexpr double kMinDepigmentedChroma = 5.0;
// Lesion border as a share of the lesion's contrast above normal skin (see FindSplit). A plaque's
// pink rim is part of the plaque; a vitiligo patch is cut half-way, where depigmentation is
// partial, so that a pigment island and its halo are split evenly.
constexpr double kPlaqueBorderLevel = 0.35;
constexpr double kPatchBorderLevel = 0.5;
constexpr double kCoreLevel = 0.8;
// A plaque's border is a step of redness of at least this share of the smallest accepted contrast
// (see psoriasis_edges.h).
constexpr double kMinBorderStepOfContrast = 0.5;
// Diffuse erythema is mild: a soft-bordered part whose mean redness above normal skin is below
// this multiple of the smallest accepted contrast (2.4 x 2.5 = 6 tone-adjusted a* units, within
// erythema grade 1 of measure.cpp) is not taken for a plaque. 2.8 (7 units) lost soft-rimmed
// real plaques (DermX facial-psoriasis21), 1.75 let phantom blotches through.
constexpr double kMildRednessOfMinContrast = 2.4;
constexpr double kLessRedShare = 0.4;
// Lighter than the skin's median by this much (L*) is not normal skin (see ScaleLike).
constexpr double kBrightDeltaL = 12.0;
// Smallest share of the skin left as normal-skin reference when lesions are set aside.
constexpr double kMinNormalShare = 0.05;
// Largest hole filled inside a plaque, share of the image area (see Clean).
constexpr double kMaxPlaqueHoleShare = 0.002;
// Standard-normal gap between the median and the 10th percentile of that part: about 0.9 (no
// lesion: quantiles 0.2 and 0.04 of normal skin) to 1.06 (lesions over 60 % of the skin).
constexpr double kLessRedSpreadGap = 1.0;
// Vitiligo passes (see Segment). A patch that covers the end of a limb is its own local
// reference at first: each pass sets the previous one's patches aside from the reference, which
// uncovers the patch's outer part one pass later.
constexpr int kVitiligoPasses = 3;
constexpr double kScaleChromaShare = 0.7;

struct LesionParams {
  Condition condition;
  double min_contrast;
  double min_area_pixels;
  int longest;
  bool fill_every_hole = false;  // psoriasis without the extensive-disease rules (1.1)
};

// Per-pixel lesion score (higher = more lesion-like) relative to the local normal-skin reference.
// Psoriasis: delta a* (redness). Vitiligo: delta L* - delta b* (lighter and less yellow: melanin
// raises b* and lowers L*, so its loss moves both).
cv::Mat ScoreMap(Condition condition, const WorkLab& w, const cv::Mat& normal,
                 const cv::Mat& skin) {
  auto ref = [&](const cv::Mat& ch) {
    std::vector<float> v = Gather(ch, normal);
    if (v.empty()) v = Gather(ch, skin);
    const double global = Quantile(v, 0.5);
    return detail::LocalReference(ch, normal, global, 1.0 / 6.0);
  };
  if (condition == Condition::kPsoriasis) return w.a - ref(w.a);
  const cv::Mat dl = w.l - ref(w.l);
  const cv::Mat db = w.b - ref(w.b);
  cv::Mat score = dl - db;
  // Loss of melanin always lightens: a pixel that is not lighter (lips, shadowed or inflamed skin
  // with less yellow) keeps only its lightness difference as its score.
  dl.copyTo(score, dl < 0);
  // ... and always takes yellow away, unless the blood shows through pink (depigmented dark
  // skin can keep the b* of the brown skin around it): a lighter pixel that is neither less
  // yellow nor pinker than the skin (light wood, a beige wall, skin in brighter light) gets no
  // credit for its lightness.
  const cv::Mat da = w.a - ref(w.a);
  const cv::Mat not_less_yellow = -db;
  not_less_yellow.copyTo(score, (db >= 0) & (dl >= 0) & (da <= 0));
  // Skin without melanin still shows the blood under it (pink, chroma of about 8 and more);
  // nearly neutral white is sclera, teeth, a highlight or a white background.
  cv::Mat chroma;
  cv::magnitude(w.a, w.b, chroma);
  score.setTo(0.0f, chroma < kMinDepigmentedChroma);
  return score;
}

// Whitish scale: clearly lighter than normal skin and nearly without chroma. Only kept where it
// touches red plaque (silvery scale on its own is not a plaque).
cv::Mat ScaleCandidates(const WorkLab& w, const cv::Mat& normal) {
  std::vector<float> lv = Gather(w.l, normal), av = Gather(w.a, normal), bv = Gather(w.b, normal);
  const double l_normal = Quantile(lv, 0.5);
  const double chroma_max = kScaleChromaShare * std::hypot(Quantile(av, 0.5), Quantile(bv, 0.5));
  cv::Mat out(w.l.size(), CV_8UC1);
  for (int y = 0; y < w.l.rows; ++y) {
    const float* l = w.l.ptr<float>(y);
    const float* a = w.a.ptr<float>(y);
    const float* b = w.b.ptr<float>(y);
    unsigned char* o = out.ptr<unsigned char>(y);
    for (int x = 0; x < w.l.cols; ++x) {
      o[x] = (l[x] > l_normal + kScaleDeltaL && std::hypot(a[x], b[x]) < chroma_max) ? 255 : 0;
    }
  }
  return out;
}

// The connected parts of `mask` that contain at least one pixel of `seeds`.
cv::Mat KeepSeeded(const cv::Mat& mask, const cv::Mat& seeds) {
  cv::Mat labels;
  const int n = cv::connectedComponents(mask, labels, 8, CV_32S);
  std::vector<unsigned char> keep(static_cast<size_t>(n), 0);
  for (int y = 0; y < labels.rows; ++y) {
    const int* l = labels.ptr<int>(y);
    const unsigned char* sd = seeds.ptr<unsigned char>(y);
    for (int x = 0; x < labels.cols; ++x) {
      if (l[x] > 0 && sd[x]) keep[static_cast<size_t>(l[x])] = 255;
    }
  }
  return detail::SelectLabels(labels, keep);
}

// Hysteresis: a region above the border level is a lesion only if it has a core that reaches
// kCoreLevel of the lesion contrast; texture and shading rarely do over a whole blob.
cv::Mat Clean(const cv::Mat& raw, const cv::Mat& skin, const cv::Mat& membership,
              const LesionParams& p) {
  cv::Mat m = raw & skin;
  cv::Mat core = (membership > (p.condition == Condition::kPsoriasis ? kCoreLevel : 0.0)) & skin;
  cv::morphologyEx(core, core, cv::MORPH_OPEN, Disk(1));
  m = KeepSeeded(m, core);
  // Opening removes thin bright structures (frame lines, creases, hair highlights) that are not
  // lesions whatever their colour.
  // A vitiligo patch mottled with islands of repigmentation is a lace of thin depigmented
  // channels, so it is opened less.
  const int open_radius = p.condition == Condition::kPsoriasis ? std::max(1, p.longest / 250) : 1;
  cv::morphologyEx(m, m, cv::MORPH_OPEN, Disk(open_radius));
  // A plaque is solid; a vitiligo patch keeps its islands of pigment (they are what the residual
  // depigmentation measures), so only psoriasis is closed and hole-filled.
  if (p.condition == Condition::kPsoriasis) {
    cv::morphologyEx(m, m, cv::MORPH_CLOSE, Disk(std::max(1, p.longest / 300)));
    // Holes up to a plaque's own size are scale or texture inside it; larger ones are islands
    // of normal skin within extensive plaques and stay out.
    m = p.fill_every_hole
            ? FillHoles(m) & skin
            : detail::FillSmallHoles(m, kMaxPlaqueHoleShare * static_cast<double>(m.total())) &
                  skin;
  }
  return RemoveSmall(m, p.min_area_pixels);
}

struct Split {
  bool found = false;
  double normal_mode = 0, lesion_mode = 0, contrast = 0, threshold = 0;
  double level = 0.5;  // threshold as a share of the contrast
};

// Decides whether a lesion population stands out of the normal skin: the normal mode and spread
// come from `normal`, the lesion mode from the pixels clearly above it.
Split FindSplit(const cv::Mat& score, const cv::Mat& normal, const cv::Mat& skin,
                const LesionParams& p, double normal_quantile, const cv::Mat& spread_from) {
  Split s;
  std::vector<float> nv = Gather(score, normal);
  if (nv.size() < 16) return s;
  // The spread is read on the lower side only: the upper side of "normal" may still hold lesion
  // pixels that the previous pass missed, and would inflate it.
  // normal_quantile is 0.10 (first pass: normal skin is the low tail even when lesions cover
  // most of the skin) or 0.5 (second pass, over normal skin only). The spread comes from the
  // quantile 0.15 above (first pass) or below (second pass): standard-normal gaps 0.61 and 0.52.
  s.normal_mode = Quantile(nv, normal_quantile);
  const bool first = normal_quantile < 0.4;
  const double q_other = Quantile(nv, first ? normal_quantile + 0.15 : normal_quantile - 0.15);
  const double z_gap = first ? 0.61 : 0.52;
  double sigma = std::abs(q_other - s.normal_mode) / z_gap;
  if (!spread_from.empty()) {
    // The less red part of the skin is normal skin however far the lesions extend (see
    // FirstReference): its lower half gives the texture's spread where the quantiles of the
    // whole skin would mix in lesion pixels.
    std::vector<float> rv = Gather(score, spread_from);
    if (rv.size() >= 16) sigma = (Quantile(rv, 0.5) - Quantile(rv, 0.1)) / kLessRedSpreadGap;
  }
  sigma = std::max(0.3, sigma);
  const double cut = s.normal_mode + std::max(4.0 * sigma, 0.6 * p.min_contrast);
  std::vector<float> lv = Gather(score, (score > cut) & skin);
  if (lv.size() < p.min_area_pixels / 2) return s;
  s.lesion_mode = Quantile(lv, 0.5);
  s.contrast = s.lesion_mode - s.normal_mode;
  // The border of a plaque is where the change first becomes clearly visible (clinicians include
  // its pink rim), not half-way to its core; never within 2.5 sigma of the skin's own texture.
  const double border =
      p.condition == Condition::kPsoriasis ? kPlaqueBorderLevel : kPatchBorderLevel;
  s.level = std::max(border, 2.5 * sigma / std::max(1e-6, s.contrast));
  s.threshold = s.normal_mode + s.level * s.contrast;
  s.found = s.contrast >= p.min_contrast;
  return s;
}

// Lesion membership 0..1: the score scaled so that the normal mode is 0 and the lesion mode 1,
// whitish scale next to red plaque counted as plaque (psoriasis), then smoothed over a few pixels
// so that a plaque mottled with scale, or a patch crossed by hair, reads as one region.
// It is thresholded at Split::level.
cv::Mat Membership(const cv::Mat& score, const Split& split, const cv::Mat& scale_candidates,
                   const cv::Mat& skin, const LesionParams& p) {
  cv::Mat f = (score - split.normal_mode) / std::max(1e-6, split.contrast);
  cv::min(f, 1.0, f);
  cv::max(f, 0.0, f);
  if (!scale_candidates.empty()) {
    cv::Mat red = score > split.threshold;
    cv::morphologyEx(red, red, cv::MORPH_OPEN, Disk(1));
    // Scale that touches red plaque is plaque, however far it reaches across it; whitish
    // patches without red (vitiligo-like, highlights) are not.
    cv::Mat touch;
    cv::dilate(red, touch, Disk(2));
    f.setTo(1.0f, KeepSeeded(scale_candidates & skin, touch));
  }
  const double sigma =
      p.condition == Condition::kPsoriasis ? std::max(1.0, p.longest / 250.0) : 0.8;
  cv::GaussianBlur(f, f, cv::Size(0, 0), sigma);
  return f;
}

// Skin that is surely not normal for the psoriasis reference: whitish scale, and anything much
// lighter than the skin's median (thick scale under a colour cast keeps some chroma and fails the
// whiteness test; a specular highlight is no reference either).
cv::Mat ScaleLike(const WorkLab& w, const cv::Mat& skin) {
  std::vector<float> lv = Gather(w.l, skin);
  if (lv.empty()) return cv::Mat::zeros(skin.size(), CV_8UC1);
  const double bright = Quantile(lv, 0.5) + kBrightDeltaL;
  return ScaleCandidates(w, skin) | ((w.l > bright) & skin);
}

// The skin that the first pass's local reference is estimated from. Psoriasis: the less red part
// of the skin (a* up to its kLessRedShare quantile), so that plaques covering most of the skin
// (extensive disease) or blotchy erythema do not pull the reference toward them; the lower tail
// is still normal skin whenever normal skin makes up more than that share. Vitiligo: all of it.
cv::Mat FirstReference(const WorkLab& w, const cv::Mat& skin, Condition condition) {
  if (condition != Condition::kPsoriasis) return skin;
  std::vector<float> av = Gather(w.a, skin);
  if (av.empty()) return skin;
  return skin & (w.a <= Quantile(av, kLessRedShare));
}

class ClassicalSegmenter : public Segmenter {
 public:
  explicit ClassicalSegmenter(const ClassicalSegmenterOptions& o) : options_(o) {
    options_.Check();
    if (options_.min_contrast == 0) {
      options_.min_contrast = options_.condition == Condition::kPsoriasis ? 2.5 : 7.0;
    }
  }

  std::string Name() const override {
    // Psoriasis 1.2: plaques told from diffuse erythema by their border, the first reference from
    // the less red skin without scale (extensive disease). Vitiligo masks are unchanged.
    if (options_.condition != Condition::kPsoriasis) {
      return std::string("classical-") + ConditionName(options_.condition) + "/1.1";
    }
    return options_.extensive_disease_rules ? "classical-psoriasis/1.2"
                                            : "classical-psoriasis/1.2-no-extensive-rules";
  }

  Segmentation Segment(const cv::Mat& bgr) const override {
    CheckImage(bgr);
    const double scale = detail::WorkScale(bgr.size(), options_.work_max_side);
    const cv::Mat work = detail::Reduce(bgr, scale);
    const WorkLab w = MakeWorkLab(work);
    const cv::Mat skin = SkinAtWork(w);
    double min_contrast = options_.min_contrast;
    if (options_.condition == Condition::kPsoriasis && cv::countNonZero(skin) > 0) {
      // Melanin hides redness: on skin darker than the reference the same plaque shows a smaller
      // delta a*, so the smallest accepted contrast shrinks by the same tone gain that erythema
      // grading uses (measure.cpp).
      std::vector<float> lv = Gather(w.l, skin);
      min_contrast /=
          std::clamp(kToneReferenceL / std::max(1.0, Quantile(lv, 0.5)), 1.0, kMaxToneGain);
    }
    LesionParams p{options_.condition, min_contrast,
                   std::max(4.0, options_.min_lesion_area * static_cast<double>(work.total())),
                   Longest(work), !options_.extensive_disease_rules};

    Segmentation out;
    out.segmenter = Name();
    const LesionState found = FindLesions(w, skin, p);
    const cv::Mat& lesion = found.lesion;
    const Split& split = found.split;
    out.lesion_found = split.found && cv::countNonZero(lesion) > 0;
    out.contrast = split.contrast;
    out.threshold = split.threshold;
    const double skin_work = cv::countNonZero(skin);
    out.fraction_low = 0.0;
    out.fraction_high = 0.0;
    // The sensitivity band (the lesions one step above and below the border level) does not
    // depend on the full-size masks: its two levels run on their own threads meanwhile (a third
    // of a 12 MP segmentation's time, issue 15).
    std::future<double> low, high;
    if (out.lesion_found && skin_work > 0) {
      const double step = options_.sensitivity_step;
      const auto share_at = [&](double level) {
        return cv::countNonZero(LesionAt(found, skin, p, level)) / skin_work;
      };
      low = std::async(std::launch::async, share_at, split.level + step);
      high = std::async(std::launch::async, share_at, std::max(0.05, split.level - step));
    }
    out.skin_mask = ExpandMask(skin, bgr.size());
    out.lesion_mask = ExpandMask(lesion, bgr.size()) & out.skin_mask;
    if (options_.condition == Condition::kVitiligo) {
      out.envelope_mask = ExpandMask(VitiligoEnvelope(lesion), bgr.size()) & out.skin_mask;
      out.envelope_mask |= out.lesion_mask;
    }
    if (low.valid()) {
      out.fraction_low = low.get();
      out.fraction_high = high.get();
    }
    return out;
  }

 private:
  struct LesionState {
    Split split;
    cv::Mat score, membership, lesion;
    cv::Mat scale;  // whitish scale (psoriasis)
  };

  // The lesions at the split's border level `level` (share of the contrast): membership above it,
  // cleaned; for psoriasis only the parts with a plaque's step border (not diffuse erythema).
  cv::Mat LesionAt(const LesionState& s, const cv::Mat& skin, const LesionParams& p,
                   double level) const {
    cv::Mat m = Clean(s.membership > level, skin, s.membership, p);
    if (options_.condition != Condition::kPsoriasis || !options_.extensive_disease_rules) return m;
    const detail::EdgeSplit edge{s.split.normal_mode, s.split.contrast, level,
                                 kMinBorderStepOfContrast * p.min_contrast,
                                 kMildRednessOfMinContrast * p.min_contrast};
    return detail::KeepSharpBordered(m, s.score, skin, s.scale, edge, p.min_area_pixels);
  }

  // Passes: the first against the whole skin, each later one against the skin outside the
  // previous pass's lesions, so that large lesions do not pull the normal reference toward
  // them. Vitiligo takes one more (kVitiligoPasses).
  LesionState FindLesions(const WorkLab& w, const cv::Mat& skin, const LesionParams& p) const {
    LesionState s;
    s.lesion = cv::Mat::zeros(skin.size(), CV_8UC1);
    const bool psoriasis = options_.condition == Condition::kPsoriasis;
    const bool extensive_rules = psoriasis && options_.extensive_disease_rules;
    const int passes = psoriasis ? 2 : kVitiligoPasses;
    for (int pass = 0; pass < passes && cv::countNonZero(skin) > 0; ++pass) {
      // Whitish scale is not normal skin, however much of the skin it covers (thick scale on
      // extensive plaques): with its low a* it would be taken as the normal mode.
      cv::Mat normal = extensive_rules ? skin & ~ScaleLike(w, skin) : skin.clone();
      if (cv::countNonZero(normal) < kMinNormalShare * cv::countNonZero(skin)) normal = skin;
      if (pass > 0) {
        cv::Mat grown;
        cv::dilate(s.lesion, grown, Disk(std::max(2, p.longest / 100)));
        cv::Mat rest = skin & ~grown;
        if (cv::countNonZero(rest) > kMinNormalShare * cv::countNonZero(skin)) normal = rest;
      }
      const cv::Mat reference =
          pass == 0 && extensive_rules ? FirstReference(w, normal, options_.condition) : normal;
      cv::Mat score = ScoreMap(options_.condition, w, reference, skin);
      cv::Mat scale_candidates;
      if (psoriasis) scale_candidates = ScaleCandidates(w, pass == 0 ? skin : normal);
      // First pass: the normal mode is the 10th percentile of the whole skin, so that lesions
      // covering up to nine tenths of it do not become "normal"; the second pass uses the
      // median of the skin outside the first pass's lesions.
      const Split found = FindSplit(score, normal, skin, p, pass == 0 ? 0.10 : 0.5,
                                    pass == 0 && extensive_rules ? reference : cv::Mat());
      // A second pass that loses a lesion population the first one found keeps the first's.
      if (pass > 0 && s.split.found && !found.found) break;
      LesionState next;
      next.split = found;
      next.score = score;
      next.scale = scale_candidates;
      next.lesion = cv::Mat::zeros(skin.size(), CV_8UC1);
      if (found.found) {
        next.membership = Membership(score, found, scale_candidates, skin, p);
        next.lesion = LesionAt(next, skin, p, found.level);
      }
      // ... and so does one whose lesions all fail the plaque test (psoriasis): with the first
      // pass's plaques set aside, the rest of the skin may split into blotches only.
      const bool lost =
          pass > 0 && cv::countNonZero(s.lesion) > 0 && cv::countNonZero(next.lesion) == 0;
      if (lost) break;
      s = std::move(next);
    }
    return s;
  }

  ClassicalSegmenterOptions options_;
};

}  // namespace

void ClassicalSegmenterOptions::Check() const {
  if (work_max_side < 128 || work_max_side > 4096) {
    throw Error(ErrorCode::kInvalidArgument, "work_max_side must be within 128..4096");
  }
  if (!std::isfinite(min_contrast) || min_contrast < 0 || min_contrast > 100) {
    throw Error(ErrorCode::kInvalidArgument, "min_contrast must be within 0..100");
  }
  if (!std::isfinite(sensitivity_step) || sensitivity_step <= 0 || sensitivity_step >= 0.5) {
    throw Error(ErrorCode::kInvalidArgument, "sensitivity_step must be within (0, 0.5)");
  }
  if (!std::isfinite(min_lesion_area) || min_lesion_area < 0 || min_lesion_area > 0.1) {
    throw Error(ErrorCode::kInvalidArgument, "min_lesion_area must be within 0..0.1");
  }
}

std::unique_ptr<Segmenter> MakeClassicalSegmenter(const ClassicalSegmenterOptions& options) {
  return std::make_unique<ClassicalSegmenter>(options);
}

cv::Mat VitiligoEnvelope(const cv::Mat& lesion_mask, double gap_fraction) {
  if (lesion_mask.empty() || lesion_mask.type() != CV_8UC1) {
    throw Error(ErrorCode::kInvalidArgument, "VitiligoEnvelope needs a CV_8UC1 mask");
  }
  if (!std::isfinite(gap_fraction) || gap_fraction < 0 || gap_fraction > 0.2) {
    throw Error(ErrorCode::kInvalidArgument, "gap_fraction must be within 0..0.2");
  }
  const cv::Mat full = lesion_mask != 0;
  // Closing with a disk of tens of pixels is costly at full size and the envelope's border needs
  // no more precision than the gaps it bridges: work on a copy of at most 1024 pixels.
  const double scale = detail::WorkScale(full.size(), 1024);
  const cv::Mat m = detail::ReduceMask(full, scale);
  const int radius = std::max(1, static_cast<int>(std::lround(gap_fraction * Longest(m))));
  // Pad so that closing does not glue patches to the image frame.
  cv::Mat padded;
  cv::copyMakeBorder(m, padded, radius, radius, radius, radius, cv::BORDER_CONSTANT, 0);
  cv::morphologyEx(padded, padded, cv::MORPH_CLOSE, Disk(radius));
  cv::Mat closed = padded(cv::Rect(radius, radius, m.cols, m.rows)).clone();
  return ExpandMask(FillHoles(closed) | m, full.size()) | full;
}

SuppliedMaskSegmenter::SuppliedMaskSegmenter(Condition condition, cv::Mat lesion_mask,
                                             cv::Mat skin_mask)
    : condition_(condition),
      lesion_mask_(std::move(lesion_mask)),
      skin_mask_(std::move(skin_mask)) {
  if (lesion_mask_.empty() || lesion_mask_.type() != CV_8UC1) {
    throw Error(ErrorCode::kInvalidArgument, "a supplied lesion mask must be non-empty CV_8UC1");
  }
  if (!skin_mask_.empty() && skin_mask_.type() != CV_8UC1) {
    throw Error(ErrorCode::kInvalidArgument, "a supplied skin mask must be CV_8UC1");
  }
  lesion_mask_ = lesion_mask_ != 0;
  if (!skin_mask_.empty()) skin_mask_ = skin_mask_ != 0;
}

std::string SuppliedMaskSegmenter::Name() const { return "supplied-mask/1.0"; }

Segmentation SuppliedMaskSegmenter::Segment(const cv::Mat& bgr) const {
  CheckImage(bgr);
  if (lesion_mask_.size() != bgr.size()) {
    throw Error(ErrorCode::kInvalidArgument, "lesion mask is " + std::to_string(lesion_mask_.cols) +
                                                 "x" + std::to_string(lesion_mask_.rows) +
                                                 " but the image is " + std::to_string(bgr.cols) +
                                                 "x" + std::to_string(bgr.rows));
  }
  if (!skin_mask_.empty() && skin_mask_.size() != bgr.size()) {
    throw Error(ErrorCode::kInvalidArgument, "skin mask size differs from the image's");
  }
  Segmentation out;
  out.segmenter = Name();
  out.skin_mask = skin_mask_.empty() ? SegmentSkin(bgr) : skin_mask_.clone();
  out.skin_mask |= lesion_mask_;
  out.lesion_mask = lesion_mask_.clone();
  out.lesion_found = cv::countNonZero(lesion_mask_) > 0;
  if (condition_ == Condition::kVitiligo) out.envelope_mask = VitiligoEnvelope(lesion_mask_);
  return out;
}

cv::Mat ReadMask(const std::string& path, cv::Size expected) {
  if (!std::filesystem::is_regular_file(path)) {
    throw Error(ErrorCode::kIo, "cannot read mask " + path + ": no such file");
  }
  cv::Mat m;
  try {
    m = cv::imread(path, cv::IMREAD_GRAYSCALE);
  } catch (const cv::Exception& e) {
    throw Error(ErrorCode::kImageDecode, "cannot decode mask " + path + ": " + e.what());
  }
  if (m.empty()) throw Error(ErrorCode::kImageDecode, "cannot decode mask " + path);
  if (expected != cv::Size() && m.size() != expected) {
    throw Error(ErrorCode::kInvalidArgument,
                "mask " + path + " is " + std::to_string(m.cols) + "x" + std::to_string(m.rows) +
                    " but the image is " + std::to_string(expected.width) + "x" +
                    std::to_string(expected.height));
  }
  return m != 0;
}

cv::Mat ReadImage(const std::string& path) {
  if (!std::filesystem::is_regular_file(path)) {
    throw Error(ErrorCode::kIo, "cannot read image " + path + ": no such file");
  }
  cv::Mat img;
  try {
    img = cv::imread(path, cv::IMREAD_COLOR);
  } catch (const cv::Exception& e) {
    throw Error(ErrorCode::kImageDecode, "cannot decode image " + path + ": " + e.what());
  }
  if (img.empty()) throw Error(ErrorCode::kImageDecode, "cannot decode image " + path);
  return img;
}

}  // namespace skintrack::scoring
