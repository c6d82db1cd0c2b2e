#include "skintrack/phantom/phantom.h"

#include <algorithm>
#include <array>
#include <cmath>
#include <opencv2/imgcodecs.hpp>
#include <opencv2/imgproc.hpp>

#include "rng.h"
#include "scene.h"
#include "skintrack/core/colour.h"
#include "skintrack/core/error.h"

namespace skintrack::phantom {

using detail::Fbm;
using detail::SmoothStep;
using detail::ThresholdForFraction;

namespace {

constexpr double kPi = 3.14159265358979323846;

// Random-number streams of one seed (see Rng): fixed ids so that each use is independent.
enum Stream : std::uint64_t {
  kStreamShape = 1,
  kStreamSkin = 2,
  kStreamTexture = 3,
  kStreamLesions = 4,
  kStreamTrajectory = 5,
  kStreamBackground = 6,
  kStreamErythema = 7,
  kStreamPose = 100,         // + visit index
  kStreamPhotometric = 200,  // + visit index
  kStreamNoise = 300,        // + visit index
};

// Typical normal-skin colour per Fitzpatrick type, chosen in the middle of the ITA groups of
// SCORES.md (I very light ... VI dark): L*, ITA (degrees) and a*; b* follows from L* and ITA.
struct ToneSpec {
  double l, ita, a;
};
constexpr ToneSpec kTones[6] = {{70, 60, 9},  {65, 46, 11},  {60, 32, 12},
                                {56, 19, 12}, {45, -12, 11}, {32, -45, 9}};

// Erythema is less visible on dark skin: the a* contrast of a grade shrinks with pigment.
constexpr double kErythemaVisibility[6] = {1.0, 1.0, 1.0, 0.85, 0.7, 0.55};
constexpr double kDeltaAPerGrade = 5.0;  // a* units per grade
constexpr double kScaleFractionOfGrade[5] = {0.0, 0.08, 0.22, 0.40, 0.60};
constexpr double kReliefOfGrade[5] = {0.0, 1.5, 3.0, 4.5, 6.0};  // L* units
constexpr int kLadder[7] = {0, 10, 25, 50, 75, 90, 100};
// Baseline lesion coverage above which lesions are drawn as extensive disease (see
// PhantomOptions::lesion_coverage).
constexpr double kExtensiveCoverage = 0.3;

int NearestLadderLevel(double percent) {
  int best = 0;
  for (int level : kLadder) {
    if (std::abs(level - percent) < std::abs(best - percent)) best = level;
  }
  return best;
}

// The lesion area (as a multiple of baseline) and severity multiplier at progress p in [0, 1].
struct Trajectory {
  double area_end = 1, severity_end = 1;
  double Area(double p) const { return 1.0 + (area_end - 1.0) * std::pow(p, 0.8); }
  double Severity(double p) const { return 1.0 + (severity_end - 1.0) * p; }
};

Trajectory MakeTrajectory(Response r, Rng& rng) {
  switch (r) {
    case Response::kResponder:
      return {rng.Uniform(0.05, 0.15), rng.Uniform(0.2, 0.35)};
    case Response::kPartial:
      return {rng.Uniform(0.4, 0.6), rng.Uniform(0.55, 0.7)};
    case Response::kNonResponder:
      return {rng.Uniform(0.9, 1.1), 1.0};
    case Response::kWorsening:
      return {rng.Uniform(1.3, 1.5), 1.25};
  }
  return {};
}

int ClampGrade(double g, int lo) { return std::clamp(static_cast<int>(std::lround(g)), lo, 4); }

// Everything about a series that does not change between visits, drawn on the site canvas:
// the baseline frame plus a margin, so that later visits that look past the baseline's edges still
// see the same skin. Canvas pixel = baseline pixel + (margin, margin).
struct Canvas {
  cv::Size frame, size;
  int margin = 0;
  double feature_scale = 1;  // feature sizes scale with the frame (1 at 1200 px short side)
  detail::Silhouette silhouette;
  cv::Mat sdf;                     // CV_32F, pixels, negative inside the skin
  cv::Mat skin_alpha;              // CV_32F 0..1, anti-aliased outline
  cv::Mat skin_mask;               // CV_8U 0/255 (alpha >= 0.5)
  cv::Mat interior;                // CV_8U 0/255: skin far enough from the outline to hold lesions
  cv::Mat skin_lab;                // CV_32FC3 normal skin with low-frequency colour and shading
  cv::Mat texture_gain;            // CV_32F multiplicative L* texture (creases, pores, fine grain)
  cv::Mat mole_alpha, hair_alpha;  // CV_32F 0..1
  cv::Vec3f mole_lab, hair_lab;
  cv::Vec3d tone_lab;
  // Background (not skin): a smooth function of baseline coordinates, defined everywhere so that
  // views beyond the canvas continue it without a seam.
  cv::Vec3d bg_bgr;
  cv::Vec2d bg_dir1, bg_dir2;
  double bg_wave1 = 1, bg_wave2 = 1, bg_phase1 = 0, bg_phase2 = 0;
  cv::Mat background_bgr;  // CV_32FC3 on the canvas

  cv::Vec3f Background(double bx, double by) const {
    const double g =
        1.0 +
        0.07 * std::sin(2 * kPi * (bx * bg_dir1[0] + by * bg_dir1[1]) / bg_wave1 + bg_phase1) +
        0.05 * std::sin(2 * kPi * (bx * bg_dir2[0] + by * bg_dir2[1]) / bg_wave2 + bg_phase2);
    return cv::Vec3f(static_cast<float>(bg_bgr[0] * g), static_cast<float>(bg_bgr[1] * g),
                     static_cast<float>(bg_bgr[2] * g));
  }
};

cv::Mat ToFloat(const cv::Mat& u8) {
  cv::Mat f;
  u8.convertTo(f, CV_32F, 1.0 / 255.0);
  return f;
}

cv::Point RandomPointIn(const cv::Mat& mask, Rng& rng, int tries = 2000) {
  for (int i = 0; i < tries; ++i) {
    const cv::Point p(rng.Int(0, mask.cols - 1), rng.Int(0, mask.rows - 1));
    if (mask.at<unsigned char>(p) != 0) return p;
  }
  return {-1, -1};
}

// Mild diffuse blotchy erythema: patches of extra redness a few hundred pixels across whose
// borders fade over tens of pixels (a smoothstep of low-frequency noise), slightly darker where
// redder. Not a lesion: nothing of it enters the truth masks.
void AddDiffuseErythema(cv::Size size, const PhantomOptions& o, std::vector<cv::Mat>& lab) {
  Rng rng(o.seed, kStreamErythema);
  const cv::Mat blotch = SmoothStep(Fbm(size, 6.0, 3, rng), -0.05f, 0.45f);
  // Melanin hides this redness as it hides a plaque's (kErythemaVisibility).
  const double amplitude = o.diffuse_erythema * kErythemaVisibility[o.fitzpatrick - 1];
  cv::scaleAdd(blotch, amplitude, lab[1], lab[1]);
  cv::scaleAdd(blotch, -0.25 * amplitude, lab[0], lab[0]);
}

Canvas MakeCanvas(const PhantomOptions& o, const BodySite& site) {
  Canvas c;
  c.frame = o.size;
  const int longer = std::max(o.size.width, o.size.height);
  c.margin = static_cast<int>(std::lround(0.15 * longer));
  c.size = cv::Size(o.size.width + 2 * c.margin, o.size.height + 2 * c.margin);
  c.feature_scale = std::min(o.size.width, o.size.height) / 1200.0;
  const double fs = c.feature_scale;

  Rng shape_rng(o.seed, kStreamShape);
  c.silhouette =
      detail::MakeSilhouette(site.shape, o.size, cv::Point2d(c.margin, c.margin), shape_rng);
  c.sdf = detail::EvaluateSdf(c.silhouette.sdf, c.size);
  c.sdf.convertTo(c.skin_alpha, CV_32F, -1.0, 0.5);  // one-pixel anti-aliased edge
  cv::min(c.skin_alpha, 1.0, c.skin_alpha);
  cv::max(c.skin_alpha, 0.0, c.skin_alpha);
  c.skin_mask = c.sdf <= 0;
  c.interior = c.sdf < static_cast<float>(-std::max(3.0, 0.04 * c.silhouette.shading_depth));

  // Normal skin colour: the Fitzpatrick tone, low-frequency blotchiness, and shading that darkens
  // the surface as it turns away from the camera near the outline.
  Rng skin_rng(o.seed, kStreamSkin);
  const ToneSpec& tone = kTones[o.fitzpatrick - 1];
  const double b_star = (tone.l - 50.0) / std::tan(tone.ita * kPi / 180.0);
  c.tone_lab = cv::Vec3d(tone.l, tone.a, b_star);
  cv::Mat depth;
  c.sdf.convertTo(depth, CV_32F, -1.0 / c.silhouette.shading_depth);
  cv::min(depth, 1.0, depth);
  cv::max(depth, 0.0, depth);
  cv::Mat shade(c.size, CV_32F);
  for (int y = 0; y < c.size.height; ++y) {
    const auto* d = depth.ptr<float>(y);
    auto* s = shade.ptr<float>(y);
    for (int x = 0; x < c.size.width; ++x) {
      const float k = 1.0f - d[x];
      s[x] = 0.78f + 0.22f * std::sqrt(std::max(0.0f, 1.0f - k * k));
    }
  }
  // Scale the base lightness so that the shaded, textured skin averages to the tone's L*.
  const double mean_shade = cv::mean(shade, c.skin_mask)[0];
  const double l_base = tone.l / (mean_shade * 0.985);
  cv::Mat blotch_l = Fbm(c.size, 3.0, 3, skin_rng);
  cv::Mat blotch_a = Fbm(c.size, 4.0, 3, skin_rng);
  cv::Mat blotch_b = Fbm(c.size, 4.0, 2, skin_rng);
  std::vector<cv::Mat> lab(3);
  lab[0] = shade.mul(l_base + 2.5 * blotch_l);
  lab[1] = tone.a + 1.8 * blotch_a;
  lab[2] = b_star + 1.5 * blotch_b;
  if (o.diffuse_erythema > 0) AddDiffuseErythema(c.size, o, lab);
  cv::merge(lab, c.skin_lab);

  // Texture: skin creases in two crossing families along the part's axis, pores, fine grain.
  Rng tex_rng(o.seed, kStreamTexture);
  cv::Mat creases = cv::Mat::zeros(c.size, CV_8U);
  const double area = cv::countNonZero(c.skin_mask);
  const int n_creases = static_cast<int>(area / (2500.0 * fs * fs));
  for (int i = 0; i < n_creases; ++i) {
    const cv::Point p0 = RandomPointIn(c.skin_mask, tex_rng);
    if (p0.x < 0) break;
    const double ang = c.silhouette.axis_angle + kPi / 2 + (tex_rng.Chance(0.5) ? 0.5 : -0.5) +
                       tex_rng.Uniform(-0.25, 0.25);
    const double len = tex_rng.Uniform(25, 110) * fs;
    std::vector<cv::Point> pts;
    double bend = tex_rng.Uniform(-0.004, 0.004) / std::max(fs, 0.1);
    for (int k = 0; k <= 6; ++k) {
      const double t = len * k / 6.0, a = ang + bend * t;
      pts.emplace_back(static_cast<int>(p0.x + t * std::cos(a)),
                       static_cast<int>(p0.y + t * std::sin(a)));
    }
    cv::polylines(creases, pts, false, cv::Scalar(tex_rng.Int(90, 255)), 1, cv::LINE_AA);
  }
  cv::Mat pores = cv::Mat::zeros(c.size, CV_8U);
  const int n_pores = static_cast<int>(area / (180.0 * fs * fs));
  const int pore_r = std::max(1, static_cast<int>(std::lround(1.2 * fs)));
  for (int i = 0; i < n_pores; ++i) {
    const cv::Point p = RandomPointIn(c.skin_mask, tex_rng, 50);
    if (p.x < 0) continue;
    cv::circle(pores, p, pore_r, cv::Scalar(tex_rng.Int(60, 200)), cv::FILLED, cv::LINE_AA);
  }
  cv::Mat creases_f = ToFloat(creases), pores_f = ToFloat(pores);
  cv::GaussianBlur(creases_f, creases_f, cv::Size(), 0.7);
  cv::GaussianBlur(pores_f, pores_f, cv::Size(), 0.6);
  cv::Mat grain = detail::ValueNoise(c.size, std::max(8.0, longer / 3.0), tex_rng);
  c.texture_gain = 1.0 - 0.10 * creases_f - 0.12 * pores_f + 0.012 * grain;

  // Moles (fixed points of the skin that stay put between visits) and hair.
  cv::Mat moles = cv::Mat::zeros(c.size, CV_8U);
  const int n_moles = tex_rng.Int(3, 9);
  for (int i = 0; i < n_moles; ++i) {
    const cv::Point p = RandomPointIn(c.interior, tex_rng);
    if (p.x < 0) break;
    const double r = tex_rng.Uniform(3.5, 9.0) * fs + 1.0;
    cv::ellipse(moles, p,
                cv::Size(static_cast<int>(r), static_cast<int>(r * tex_rng.Uniform(0.7, 1.0))),
                tex_rng.Uniform(0, 180), 0, 360, cv::Scalar(255), cv::FILLED, cv::LINE_AA);
  }
  c.mole_alpha = ToFloat(moles);
  c.mole_lab = cv::Vec3f(static_cast<float>(tone.l * 0.55), static_cast<float>(tone.a + 3),
                         static_cast<float>(b_star + 4));
  double hair_density = 0;  // hairs per megapixel of skin
  switch (site.shape) {
    case BodyShape::kLimb:
      hair_density = 260;
      break;
    case BodyShape::kTrunk:
      hair_density = 80;
      break;
    case BodyShape::kHand:
    case BodyShape::kFoot:
      hair_density = 40;
      break;
    case BodyShape::kFace:
    case BodyShape::kRound:
      hair_density = 0;
      break;
  }
  cv::Mat hair = cv::Mat::zeros(c.size, CV_8U);
  // The same body part holds the same number of hairs whatever the resolution.
  const int n_hair = static_cast<int>(hair_density * area / 1e6 / std::max(fs * fs, 0.01));
  for (int i = 0; i < n_hair; ++i) {
    const cv::Point p0 = RandomPointIn(c.skin_mask, tex_rng, 50);
    if (p0.x < 0) continue;
    const double ang =
        c.silhouette.axis_angle + tex_rng.Uniform(-0.6, 0.6) + (tex_rng.Chance(0.5) ? 0.0 : kPi);
    const double len = tex_rng.Uniform(18, 55) * fs + 3;
    const double curl = tex_rng.Uniform(-0.02, 0.02) / std::max(fs, 0.1);
    std::vector<cv::Point> pts;
    for (int k = 0; k <= 8; ++k) {
      const double t = len * k / 8.0, a = ang + curl * t;
      pts.emplace_back(static_cast<int>(p0.x + t * std::cos(a)),
                       static_cast<int>(p0.y + t * std::sin(a)));
    }
    cv::polylines(hair, pts, false, cv::Scalar(tex_rng.Int(120, 230)), 1, cv::LINE_AA);
  }
  c.hair_alpha = ToFloat(hair).mul(c.skin_alpha);
  c.hair_lab = cv::Vec3f(static_cast<float>(std::min(tone.l * 0.45, 25.0)), 3.0f, 6.0f);

  // Background: a drape or wall of one of a few colours that are not skin-like.
  Rng bg_rng(o.seed, kStreamBackground);
  const cv::Vec3d palette[4] = {{0.55, 0.42, 0.25},   // surgical blue-green (BGR)
                                {0.45, 0.45, 0.45},   // neutral grey
                                {0.22, 0.22, 0.24},   // dark grey
                                {0.78, 0.80, 0.80}};  // off-white
  c.bg_bgr = palette[bg_rng.Int(0, 3)];
  const double a1 = bg_rng.Uniform(0, 2 * kPi), a2 = bg_rng.Uniform(0, 2 * kPi);
  c.bg_dir1 = cv::Vec2d(std::cos(a1), std::sin(a1));
  c.bg_dir2 = cv::Vec2d(std::cos(a2), std::sin(a2));
  c.bg_wave1 = bg_rng.Uniform(0.8, 1.6) * longer;
  c.bg_wave2 = bg_rng.Uniform(0.3, 0.7) * longer;
  c.bg_phase1 = bg_rng.Uniform(0, 2 * kPi);
  c.bg_phase2 = bg_rng.Uniform(0, 2 * kPi);
  c.background_bgr.create(c.size, CV_32FC3);
  for (int y = 0; y < c.size.height; ++y) {
    auto* row = c.background_bgr.ptr<cv::Vec3f>(y);
    for (int x = 0; x < c.size.width; ++x) row[x] = c.Background(x - c.margin, y - c.margin);
  }
  for (const auto& feature : c.silhouette.features) {
    const cv::Mat one(1, 1, CV_32FC3, cv::Scalar(feature.lab[0], feature.lab[1], feature.lab[2]));
    const cv::Vec3f colour = LabToBgrFloat(one).at<cv::Vec3f>(0, 0);
    cv::Mat alpha = detail::EvaluateSdf(feature.sdf, c.size);
    alpha.convertTo(alpha, CV_32F, -1.0, 0.5);
    for (int y = 0; y < c.size.height; ++y) {
      auto* row = c.background_bgr.ptr<cv::Vec3f>(y);
      const auto* al = alpha.ptr<float>(y);
      for (int x = 0; x < c.size.width; ++x) {
        const float a = std::clamp(al[x], 0.0f, 1.0f);
        if (a > 0) row[x] = (1.0f - a) * row[x] + a * colour;
      }
    }
  }
  return c;
}

// The lesion state of the site at one visit, in canvas pixels.
struct LesionLayer {
  cv::Mat lesion;    // CV_8U 0/255: plaques, or depigmented pixels
  cv::Mat envelope;  // vitiligo: patch envelope; empty for psoriasis
  cv::Mat lab;       // CV_32FC3: the skin colour with lesions drawn in
};

// A lesion field: high in the cores of lesions, with an irregular border. Lesions are where the
// field exceeds a threshold chosen to give a target area, so treatment shrinks them from the edges
// (psoriasis plaques clear from their borders; vitiligo repigments from the edges).
struct LesionField {
  cv::Mat field;                 // CV_32F on the canvas
  double baseline_fraction = 0;  // of interior skin
};

LesionField MakeLesionField(const Canvas& c, int count, double min_axis, double max_axis,
                            double roughness, double noise_cells, double fraction, Rng& rng) {
  cv::Mat field(c.size, CV_32F, cv::Scalar(-1e3f));
  std::vector<std::array<double, 6>> blobs;  // cx, cy, cos / ax, sin / ax, cos / ay, sin / ay
  for (int i = 0; i < count; ++i) {
    const cv::Point p = RandomPointIn(c.interior, rng);
    if (p.x < 0) break;
    const double ax = rng.Uniform(min_axis, max_axis);
    const double ay = ax * rng.Uniform(0.45, 0.9);
    const double angle = rng.Uniform(0, kPi);
    const double cs = std::cos(angle), sn = std::sin(angle);
    blobs.push_back({double(p.x), double(p.y), cs / ax, sn / ax, cs / ay, sn / ay});
  }
  cv::parallel_for_(cv::Range(0, c.size.height), [&](const cv::Range& rows) {
    for (int y = rows.start; y < rows.end; ++y) {
      auto* f = field.ptr<float>(y);
      for (int x = 0; x < c.size.width; ++x) {
        double best = -1e3;
        for (const auto& b : blobs) {
          const double dx = x - b[0], dy = y - b[1];
          const double u = b[2] * dx + b[3] * dy, v = b[4] * dy - b[5] * dx;
          best = std::max(best, 1.0 - std::sqrt(u * u + v * v));
        }
        f[x] = static_cast<float>(best);
      }
    }
  });
  cv::Mat noise = Fbm(c.size, noise_cells, 4, rng);
  cv::scaleAdd(noise, roughness, field, field);
  field.setTo(-1e3f, ~c.interior);
  return {field, fraction};
}

double SkinToInterior(const Canvas& c) {
  return static_cast<double>(cv::countNonZero(c.skin_mask)) /
         std::max(1, cv::countNonZero(c.interior));
}

// Psoriasis plaques at one visit: red (relative to the skin tone), raised-looking (relief shading
// from the plaque's height profile) and covered in part by silvery-white scale.
struct PsoriasisModel {
  LesionField main;
  cv::Mat new_field;  // a lesion that appears during the series (empty when none)
  int new_visit = -1;
  cv::Mat scale_noise;
  int erythema0 = 3, scaling0 = 2, induration0 = 2;
  Trajectory trajectory;
};

PsoriasisModel MakePsoriasis(const Canvas& c, const PhantomOptions& o) {
  Rng rng(o.seed, kStreamLesions);
  PsoriasisModel m;
  const double s = std::min(c.frame.width, c.frame.height);
  if (o.lesion_coverage > kExtensiveCoverage) {
    // Extensive disease: many large plaques that merge into fields with islands of normal skin.
    const int count = rng.Int(7, 11);
    m.main = MakeLesionField(c, count, 0.12 * s, 0.30 * s, 0.35, 10.0, o.lesion_coverage, rng);
  } else {
    m.main = MakeLesionField(c, rng.Int(2, 5), 0.07 * s, 0.18 * s, 0.35, 10.0,
                             rng.Uniform(0.10, 0.28), rng);
  }
  if (o.lesion_coverage > 0) m.main.baseline_fraction = o.lesion_coverage;
  m.scale_noise = Fbm(c.size, std::max(c.frame.width, c.frame.height) / 14.0, 3, rng);
  m.erythema0 = rng.Int(2, 4);
  m.scaling0 = rng.Int(1, 4);
  m.induration0 = rng.Int(1, 3);
  Rng traj_rng(o.seed, kStreamTrajectory);
  m.trajectory = MakeTrajectory(o.response, traj_rng);
  if (o.new_lesions && o.lesion_changes && o.visits >= 3 && traj_rng.Chance(0.4)) {
    m.new_visit = traj_rng.Int(2, o.visits - 1);
    LesionField extra = MakeLesionField(c, 1, 0.04 * s, 0.06 * s, 0.25, 14.0, 0, rng);
    m.new_field = extra.field;
  }
  return m;
}

struct SeverityAtVisit {
  int erythema = 0, scaling = 0, induration = 0;
  double delta_a = 0, scale_fraction = 0, relief = 0;
};

LesionLayer RenderPsoriasis(const Canvas& c, const PsoriasisModel& m, const PhantomOptions& o,
                            int visit, SeverityAtVisit* sev, bool* new_lesion) {
  const double p = (o.visits > 1 && o.lesion_changes) ? double(visit) / (o.visits - 1) : 0.0;
  const double target = m.main.baseline_fraction * m.trajectory.Area(p);
  const float t = ThresholdForFraction(m.main.field, c.interior, target * SkinToInterior(c));
  cv::Mat excess = m.main.field - t;  // > 0 inside plaques
  *new_lesion = false;
  if (!m.new_field.empty() && visit >= m.new_visit) {
    *new_lesion = visit == m.new_visit;
    const double grow = 0.05 * (visit - m.new_visit);
    cv::Mat extra = m.new_field - static_cast<float>(0.55 - grow);
    cv::max(excess, extra, excess);
  }
  if (!o.lesions) excess.setTo(-1.0f);
  LesionLayer out;
  out.lesion = excess > 0;
  out.lesion &= c.interior;

  const double sm = m.trajectory.Severity(p);
  *sev = {};
  if (o.lesions) {
    sev->erythema = ClampGrade(m.erythema0 * sm, 1);
    sev->scaling = ClampGrade(m.scaling0 * sm, 0);
    sev->induration = ClampGrade(m.induration0 * sm, 1);
  }
  sev->delta_a = kDeltaAPerGrade * sev->erythema * kErythemaVisibility[o.fitzpatrick - 1];
  sev->relief = kReliefOfGrade[sev->induration] * c.feature_scale;

  cv::Mat height = SmoothStep(excess, 0.0f, 0.3f);
  cv::Mat alpha = ToFloat(out.lesion);
  cv::GaussianBlur(alpha, alpha, cv::Size(), 0.7);
  // Relief: the plaque's height profile lit from the upper left.
  cv::Mat hb, gx, gy;
  cv::GaussianBlur(height, hb, cv::Size(), 1.5 * std::max(c.feature_scale, 0.5));
  cv::Sobel(hb, gx, CV_32F, 1, 0, 3, 0.125);
  cv::Sobel(hb, gy, CV_32F, 0, 1, 3, 0.125);
  const double w = 18.0 * std::max(c.feature_scale, 0.3);
  cv::Mat relief = (-0.7 * gx - 0.7 * gy) * w;
  cv::min(relief, 1.0, relief);
  cv::max(relief, -1.0, relief);

  // Scale: the whitest share of the plaque interior, by a fine noise pattern.
  const double scale_fraction = kScaleFractionOfGrade[sev->scaling];
  cv::Mat core = (height > 0.25f) & out.lesion;
  cv::Mat scale_mask = cv::Mat::zeros(c.size, CV_8U);
  if (scale_fraction > 0 && cv::countNonZero(core) > 0) {
    const double plaque_px = cv::countNonZero(out.lesion);
    const double want = std::min(0.95, scale_fraction * plaque_px / cv::countNonZero(core));
    const float q = ThresholdForFraction(m.scale_noise, core, want);
    scale_mask = (m.scale_noise > q) & core;
  }
  sev->scale_fraction = cv::countNonZero(out.lesion) > 0
                            ? double(cv::countNonZero(scale_mask)) / cv::countNonZero(out.lesion)
                            : 0.0;
  cv::Mat scale_alpha = ToFloat(scale_mask);
  cv::GaussianBlur(scale_alpha, scale_alpha, cv::Size(), 0.6);

  out.lab = c.skin_lab.clone();
  const float da = static_cast<float>(sev->delta_a);
  const float rel = static_cast<float>(sev->relief);
  for (int y = 0; y < c.size.height; ++y) {
    auto* px = out.lab.ptr<cv::Vec3f>(y);
    const auto* al = alpha.ptr<float>(y);
    const auto* ht = height.ptr<float>(y);
    const auto* rl = relief.ptr<float>(y);
    const auto* sc = scale_alpha.ptr<float>(y);
    const auto* sn = m.scale_noise.ptr<float>(y);
    for (int x = 0; x < c.size.width; ++x) {
      if (al[x] <= 0.0f) continue;
      const float intensity = 0.55f + 0.45f * ht[x];
      cv::Vec3f v = px[x];
      v[1] += al[x] * da * intensity;
      v[0] -= al[x] * (0.3f * da + 2.0f) * intensity;
      v[2] += al[x] * 1.5f;
      v[0] += al[x] * rel * rl[x];
      if (sc[x] > 0.0f) {
        const float a = 0.88f * sc[x];
        const cv::Vec3f scale_lab(std::max(v[0] + 18.0f, 80.0f) + 4.0f * sn[x], 2.0f, 5.0f);
        v = (1.0f - a) * v + a * scale_lab;
      }
      px[x] = v;
    }
  }
  return out;
}

// Vitiligo: depigmented patches (milky white relative to the skin tone) with sharp or soft
// borders; treatment repigments them from the edges and around hair follicles (islands).
struct VitiligoModel {
  LesionField main;
  cv::Mat new_field;
  int new_visit = -1;
  std::vector<cv::Point> follicles;
  double follicle_spacing = 20;
  double island_radius0 = 0;  // islands already present at baseline (specks of pigment)
  bool sharp = false;
  Trajectory trajectory;
  double island_growth = 0;  // final island radius as a share of the follicle spacing
};

VitiligoModel MakeVitiligo(const Canvas& c, const PhantomOptions& o) {
  Rng rng(o.seed, kStreamLesions);
  VitiligoModel m;
  const double s = std::min(c.frame.width, c.frame.height);
  if (o.lesion_coverage > kExtensiveCoverage) {
    const int count = rng.Int(6, 9);
    m.main = MakeLesionField(c, count, 0.15 * s, 0.32 * s, 0.45, 6.0, o.lesion_coverage, rng);
  } else {
    m.main = MakeLesionField(c, rng.Int(2, 4), 0.10 * s, 0.24 * s, 0.45, 6.0,
                             rng.Uniform(0.15, 0.35), rng);
  }
  if (o.lesion_coverage > 0) m.main.baseline_fraction = o.lesion_coverage;
  m.sharp = rng.Chance(0.5);
  m.follicle_spacing = std::max(4.0, 22.0 * c.feature_scale);
  const double area = cv::countNonZero(c.interior);
  const int n = static_cast<int>(area / (m.follicle_spacing * m.follicle_spacing));
  for (int i = 0; i < n; ++i) {
    const cv::Point p = RandomPointIn(c.interior, rng, 20);
    if (p.x >= 0) m.follicles.push_back(p);
  }
  m.island_radius0 = rng.Chance(0.5) ? 0.0 : 0.12 * m.follicle_spacing;
  Rng traj_rng(o.seed, kStreamTrajectory);
  m.trajectory = MakeTrajectory(o.response, traj_rng);
  // Repigmentation shrinks the envelope a little and fills it with islands; the area trajectory
  // is shared between the two.
  m.trajectory.area_end = 1.0 - 0.45 * (1.0 - m.trajectory.area_end);
  switch (o.response) {
    case Response::kResponder:
      m.island_growth = traj_rng.Uniform(0.40, 0.50);
      break;
    case Response::kPartial:
      m.island_growth = traj_rng.Uniform(0.25, 0.32);
      break;
    case Response::kNonResponder:
    case Response::kWorsening:
      m.island_growth = 0.0;
      break;
  }
  if (o.new_lesions && o.lesion_changes && o.visits >= 3 &&
      traj_rng.Chance(o.response == Response::kResponder ? 0.15 : 0.5)) {
    m.new_visit = traj_rng.Int(2, o.visits - 1);
    m.new_field = MakeLesionField(c, 1, 0.05 * s, 0.08 * s, 0.3, 10.0, 0, rng).field;
  }
  return m;
}

LesionLayer RenderVitiligo(const Canvas& c, const VitiligoModel& m, const PhantomOptions& o,
                           int visit, bool* new_lesion) {
  const double p = (o.visits > 1 && o.lesion_changes) ? double(visit) / (o.visits - 1) : 0.0;
  const double target = m.main.baseline_fraction * m.trajectory.Area(p);
  const float t = ThresholdForFraction(m.main.field, c.interior, target * SkinToInterior(c));
  cv::Mat excess = m.main.field - t;
  *new_lesion = false;
  if (!m.new_field.empty() && visit >= m.new_visit) {
    *new_lesion = visit == m.new_visit;
    cv::Mat extra = m.new_field - static_cast<float>(0.5 - 0.05 * (visit - m.new_visit));
    cv::max(excess, extra, excess);
  }
  if (!o.lesions) excess.setTo(-1.0f);
  LesionLayer out;
  out.envelope = (excess > 0) & c.interior;

  cv::Mat islands = cv::Mat::zeros(c.size, CV_8U);
  // Islands present at baseline stay; treatment grows them towards their final size.
  const double radius =
      m.island_radius0 +
      std::max(0.0, m.island_growth * m.follicle_spacing - m.island_radius0) * std::max(0.0, p);
  if (radius >= 0.5) {
    for (const cv::Point& f : m.follicles) {
      if (out.envelope.at<unsigned char>(f) == 0) continue;
      cv::circle(islands, f, static_cast<int>(std::lround(radius)), cv::Scalar(255), cv::FILLED,
                 cv::LINE_8);
    }
  }
  islands &= out.envelope;
  out.lesion = out.envelope & ~islands;

  cv::Mat env_alpha = ToFloat(out.envelope), island_alpha = ToFloat(islands);
  const double border = m.sharp ? 0.7 : std::max(1.5, 5.0 * c.feature_scale);
  cv::GaussianBlur(env_alpha, env_alpha, cv::Size(), border);
  cv::GaussianBlur(island_alpha, island_alpha, cv::Size(), 0.7);

  out.lab = c.skin_lab.clone();
  for (int y = 0; y < c.size.height; ++y) {
    auto* px = out.lab.ptr<cv::Vec3f>(y);
    const auto* ea = env_alpha.ptr<float>(y);
    const auto* ia = island_alpha.ptr<float>(y);
    for (int x = 0; x < c.size.width; ++x) {
      if (ea[x] <= 0.0f) continue;
      const cv::Vec3f v = px[x];
      const cv::Vec3f depig(std::max(v[0] + 12.0f, 82.0f), 0.45f * v[1] + 2.0f, 0.3f * v[2] + 3.0f);
      const float a = ea[x] * (1.0f - ia[x]);
      // Perifollicular islands come back slightly darker than the surrounding normal skin.
      const cv::Vec3f island(v[0] * 0.93f, v[1], v[2] * 1.05f);
      const float b = ea[x] * ia[x];
      px[x] = (1.0f - a - b) * v + a * depig + b * island;
    }
  }
  return out;
}

// The whole canvas in BGR [0, 1]: skin with its lesions and texture, moles, hair, background.
cv::Mat ComposeCanvas(const Canvas& c, const LesionLayer& layer) {
  cv::Mat lab = layer.lab.clone();
  for (int y = 0; y < c.size.height; ++y) {
    auto* px = lab.ptr<cv::Vec3f>(y);
    const auto* tg = c.texture_gain.ptr<float>(y);
    const auto* ma = c.mole_alpha.ptr<float>(y);
    const auto* ha = c.hair_alpha.ptr<float>(y);
    for (int x = 0; x < c.size.width; ++x) {
      cv::Vec3f v = px[x];
      v[0] *= tg[x];
      if (ma[x] > 0) v = (1.0f - ma[x]) * v + ma[x] * c.mole_lab;
      if (ha[x] > 0) v = (1.0f - ha[x]) * v + ha[x] * c.hair_lab;
      px[x] = v;
    }
  }
  cv::Mat bgr = LabToBgrFloat(lab);
  for (int y = 0; y < c.size.height; ++y) {
    auto* px = bgr.ptr<cv::Vec3f>(y);
    const auto* bg = c.background_bgr.ptr<cv::Vec3f>(y);
    const auto* al = c.skin_alpha.ptr<float>(y);
    for (int x = 0; x < c.size.width; ++x) px[x] = al[x] * px[x] + (1.0f - al[x]) * bg[x];
  }
  return bgr;
}

Pose MakePose(const PhantomOptions& o, int visit) {
  Pose pose;
  if (visit == 0) return pose;
  Rng rng(o.seed, kStreamPose + static_cast<std::uint64_t>(visit));
  pose.rotation_deg = rng.Uniform(-o.max_rotation_deg, o.max_rotation_deg);
  pose.scale = std::exp(rng.Uniform(std::log(o.min_scale), std::log(o.max_scale)));
  pose.shift_x = rng.Uniform(-o.max_shift, o.max_shift) * o.size.width;
  pose.shift_y = rng.Uniform(-o.max_shift, o.max_shift) * o.size.width;
  if (o.perspective > 0) {
    pose.perspective(2, 0) = rng.Uniform(-o.perspective, o.perspective);
    pose.perspective(2, 1) = rng.Uniform(-o.perspective, o.perspective);
  }
  if (o.deformation_px > 0) {
    pose.deformation_sigma = 0.22 * std::min(o.size.width, o.size.height);
    for (int i = 0; i < 5; ++i) {
      const double ang = rng.Uniform(0, 2 * kPi);
      pose.deformation.emplace_back(rng.Uniform(0, o.size.width), rng.Uniform(0, o.size.height),
                                    o.deformation_px * std::cos(ang),
                                    o.deformation_px * std::sin(ang));
    }
  }
  return pose;
}

// The similarity part of a pose as the matrix that maps visit pixels to baseline pixels. The
// camera turned and moved about the frame centre c: visit = s R (baseline - c) + c + t.
cv::Matx23d SimilarityToBaseline(const Pose& pose, cv::Size size) {
  const double th = pose.rotation_deg * kPi / 180.0;
  const double cs = std::cos(th) / pose.scale, sn = std::sin(th) / pose.scale;
  const double cx = 0.5 * (size.width - 1), cy = 0.5 * (size.height - 1);
  // baseline = R^T (visit - c - t) / s + c
  const double vx = cx + pose.shift_x, vy = cy + pose.shift_y;
  return cv::Matx23d(cs, sn, cx - (cs * vx + sn * vy), -sn, cs, cy - (-sn * vx + cs * vy));
}

// Visit pixel -> baseline pixel for one pose, with the per-pose work done once.
class PoseMapper {
 public:
  PoseMapper(const Pose& pose, cv::Size size)
      : pose_(pose),
        similarity_(SimilarityToBaseline(pose, size)),
        projective_(pose.perspective != cv::Matx33d::eye()),
        perspective_inv_(pose.perspective.inv()),
        cx_(0.5 * (size.width - 1)),
        cy_(0.5 * (size.height - 1)),
        two_sigma2_(2.0 * pose.deformation_sigma * pose.deformation_sigma) {}

  cv::Point2d operator()(cv::Point2d v) const {
    cv::Point2d u = v;
    for (const cv::Vec4d& d : pose_.deformation) {
      const double dx = v.x - d[0], dy = v.y - d[1];
      const double g = std::exp(-(dx * dx + dy * dy) / two_sigma2_);
      u.x += g * d[2];
      u.y += g * d[3];
    }
    // Undo the projective tilt (about the frame centre), then the similarity.
    if (projective_) {
      const cv::Vec3d q = perspective_inv_ * cv::Vec3d(u.x - cx_, u.y - cy_, 1.0);
      u = cv::Point2d(q[0] / q[2] + cx_, q[1] / q[2] + cy_);
    }
    const cv::Matx23d& m = similarity_;
    return {m(0, 0) * u.x + m(0, 1) * u.y + m(0, 2), m(1, 0) * u.x + m(1, 1) * u.y + m(1, 2)};
  }

 private:
  const Pose& pose_;
  cv::Matx23d similarity_;
  bool projective_;
  cv::Matx33d perspective_inv_;
  double cx_, cy_, two_sigma2_;
};

// Least-squares affine fit of the truth mapping over skin pixels of a visit (for the cases where
// the true mapping is not affine).
cv::Matx23d FitAffine(const Pose& pose, cv::Size size, const cv::Mat& skin_mask) {
  const PoseMapper map(pose, size);
  std::vector<cv::Point2f> src, dst;
  const int step = std::max(4, std::min(size.width, size.height) / 40);
  for (int y = 0; y < size.height; y += step) {
    for (int x = 0; x < size.width; x += step) {
      if (skin_mask.at<unsigned char>(y, x) == 0) continue;
      const cv::Point2d b = map({double(x), double(y)});
      src.emplace_back(static_cast<float>(x), static_cast<float>(y));
      dst.emplace_back(static_cast<float>(b.x), static_cast<float>(b.y));
    }
  }
  if (src.size() < 3) return SimilarityToBaseline(pose, size);
  cv::Mat a(static_cast<int>(src.size()), 3, CV_64F), bx(a.rows, 1, CV_64F), by(a.rows, 1, CV_64F);
  for (int i = 0; i < a.rows; ++i) {
    a.at<double>(i, 0) = src[i].x;
    a.at<double>(i, 1) = src[i].y;
    a.at<double>(i, 2) = 1.0;
    bx.at<double>(i) = dst[i].x;
    by.at<double>(i) = dst[i].y;
  }
  cv::Mat rx, ry;
  cv::solve(a, bx, rx, cv::DECOMP_SVD);
  cv::solve(a, by, ry, cv::DECOMP_SVD);
  return cv::Matx23d(rx.at<double>(0), rx.at<double>(1), rx.at<double>(2), ry.at<double>(0),
                     ry.at<double>(1), ry.at<double>(2));
}

Photometric MakePhotometric(const PhantomOptions& o, int visit) {
  Photometric ph;
  ph.noise_sigma = o.noise_sigma;
  ph.jpeg_quality = o.jpeg_quality;
  if (visit == 0) return ph;
  ph.blur_sigma = o.blur_sigma;
  if (!o.lighting_changes) return ph;
  Rng rng(o.seed, kStreamPhotometric + static_cast<std::uint64_t>(visit));
  ph.exposure = std::exp(rng.Uniform(std::log(0.75), std::log(1.25)));
  ph.colour_temperature_k = rng.Uniform(3500, 8000);
  // The white balance missed the illuminant by part of its tint: a warm light leaves the photo
  // redder and less blue, a cool one the reverse (gains relative to D65, on linear RGB).
  const double x = 0.5 * std::log(6500.0 / ph.colour_temperature_k);
  ph.gain_bgr[0] = std::exp(-0.65 * x);
  ph.gain_bgr[1] = std::exp(0.10 * x);
  ph.gain_bgr[2] = std::exp(0.55 * x);
  ph.gradient_amplitude = rng.Uniform(0.0, 0.25);
  ph.gradient_angle_deg = rng.Uniform(0, 360);
  return ph;
}

cv::Mat ApplyCamera(const cv::Mat& bgr, const Photometric& ph, std::uint64_t seed, int visit) {
  cv::Mat img = bgr.clone();
  const bool lighting = ph.exposure != 1.0 || ph.gradient_amplitude != 0.0 ||
                        ph.gain_bgr[0] != 1.0 || ph.gain_bgr[1] != 1.0 || ph.gain_bgr[2] != 1.0;
  if (lighting) {
    cv::pow(img, 2.2, img);  // to (approximately) linear light
    const double ang = ph.gradient_angle_deg * kPi / 180.0;
    const double gx = std::cos(ang), gy = std::sin(ang);
    const double cx = 0.5 * img.cols, cy = 0.5 * img.rows;
    const double half_diag = 0.5 * std::hypot(img.cols, img.rows);
    for (int y = 0; y < img.rows; ++y) {
      auto* px = img.ptr<cv::Vec3f>(y);
      for (int x = 0; x < img.cols; ++x) {
        const double g = ph.exposure * (1.0 + ph.gradient_amplitude *
                                                  ((x - cx) * gx + (y - cy) * gy) / half_diag);
        for (int k = 0; k < 3; ++k) px[x][k] = static_cast<float>(px[x][k] * g * ph.gain_bgr[k]);
      }
    }
    cv::max(img, 0.0, img);
    cv::pow(img, 1.0 / 2.2, img);
  }
  if (ph.blur_sigma > 0) cv::GaussianBlur(img, img, cv::Size(), ph.blur_sigma);
  if (ph.noise_sigma > 0) {
    cv::Mat noise(img.size(), CV_32FC3);
    cv::RNG cv_rng(Rng(seed, kStreamNoise + static_cast<std::uint64_t>(visit)).Next());
    cv_rng.fill(noise, cv::RNG::NORMAL, cv::Scalar::all(0),
                cv::Scalar::all(ph.noise_sigma / 255.0));
    img += noise;
  }
  cv::Mat out;
  img.convertTo(out, CV_8UC3, 255.0);
  return out;
}

// Median L* and b* of visit 0's normal skin (skin, not lesion), for the measured ITA.
double MeasuredIta(const cv::Mat& image, const cv::Mat& skin, const cv::Mat& lesion) {
  cv::Mat lab = BgrToLab(image);
  std::vector<float> ls, bs;
  for (int y = 0; y < lab.rows; ++y) {
    const auto* px = lab.ptr<cv::Vec3f>(y);
    const auto* s = skin.ptr<unsigned char>(y);
    const auto* l = lesion.ptr<unsigned char>(y);
    for (int x = 0; x < lab.cols; ++x) {
      if (s[x] != 0 && l[x] == 0) {
        ls.push_back(px[x][0]);
        bs.push_back(px[x][2]);
      }
    }
  }
  if (ls.empty()) return 0;
  auto median = [](std::vector<float>& v) {
    std::nth_element(v.begin(), v.begin() + static_cast<std::ptrdiff_t>(v.size() / 2), v.end());
    return static_cast<double>(v[v.size() / 2]);
  };
  return ItaDegrees(median(ls), median(bs));
}

}  // namespace

const char* ResponseName(Response r) noexcept {
  switch (r) {
    case Response::kResponder:
      return "responder";
    case Response::kPartial:
      return "partial";
    case Response::kNonResponder:
      return "non-responder";
    case Response::kWorsening:
      return "worsening";
  }
  return "responder";
}

Response ParseResponse(const std::string& text) {
  for (Response r :
       {Response::kResponder, Response::kPartial, Response::kNonResponder, Response::kWorsening}) {
    if (text == ResponseName(r)) return r;
  }
  throw Error(
      ErrorCode::kInvalidArgument,
      "unknown response '" + text + "' (expected responder, partial, non-responder or worsening)");
}

void PhantomOptions::Check() const {
  auto bad = [](const std::string& what) { throw Error(ErrorCode::kInvalidArgument, what); };
  if (visits < 1 || visits > 50) bad("visits must be between 1 and 50");
  if (fitzpatrick < 1 || fitzpatrick > 6) bad("fitzpatrick must be a skin type from 1 to 6");
  if (size.width < 16 || size.height < 16 || size.width > 8000 || size.height > 8000) {
    bad("size must be between 16x16 and 8000x8000 pixels");
  }
  if (!(max_rotation_deg >= 0 && max_rotation_deg <= 180))
    bad("max rotation must be 0..180 degrees");
  if (!(min_scale > 0.1 && min_scale <= max_scale && max_scale <= 10)) {
    bad("scale range must satisfy 0.1 < min <= max <= 10");
  }
  if (!(max_shift >= 0 && max_shift <= 1)) bad("max shift must be 0..1 of the width");
  if (!(perspective >= 0 && perspective <= 1e-3)) bad("perspective must be 0..0.001");
  if (!(deformation_px >= 0 && deformation_px <= 0.1 * std::min(size.width, size.height))) {
    bad("deformation must be 0..10 % of the shorter side, in pixels");
  }
  if (!(blur_sigma >= 0 && blur_sigma <= 20)) bad("blur sigma must be 0..20 pixels");
  if (!(noise_sigma >= 0 && noise_sigma <= 50)) bad("noise sigma must be 0..50 levels");
  if (jpeg_quality < 0 || jpeg_quality > 100) bad("jpeg quality must be 0 (PNG) or 1..100");
  if (!(diffuse_erythema >= 0 && diffuse_erythema <= 12)) {
    bad("diffuse erythema must be 0..12 a* units");
  }
  if (!(lesion_coverage == 0 || (lesion_coverage >= 0.01 && lesion_coverage <= 0.85))) {
    bad("lesion coverage must be 0 (drawn) or 0.01..0.85 of the skin");
  }
  if (!lesions && lesion_coverage > 0) bad("lesion coverage needs lesions");
  if (!site.empty()) FindBodySite(site);
}

cv::Point2d Series::MapToBaseline(int visit, cv::Point2d p) const {
  if (visit < 0 || visit >= static_cast<int>(visits.size())) {
    throw Error(ErrorCode::kInvalidArgument, "no visit " + std::to_string(visit) + " in series");
  }
  return PoseMapper(visits[static_cast<size_t>(visit)].truth.pose, options.size)(p);
}

Series GeneratePhantom(const PhantomOptions& options) {
  options.Check();
  Series series;
  series.options = options;
  series.site = !options.site.empty()                        ? options.site
                : options.condition == Condition::kPsoriasis ? "left-forearm"
                                                             : "left-hand";
  const BodySite& site = FindBodySite(series.site);
  const Canvas canvas = MakeCanvas(options, site);
  series.tone.fitzpatrick = options.fitzpatrick;
  for (int k = 0; k < 3; ++k) series.tone.lab[k] = canvas.tone_lab[k];
  series.tone.ita_target = ItaDegrees(canvas.tone_lab[0], canvas.tone_lab[2]);

  PsoriasisModel psoriasis;
  VitiligoModel vitiligo;
  if (options.condition == Condition::kPsoriasis) {
    psoriasis = MakePsoriasis(canvas, options);
  } else {
    vitiligo = MakeVitiligo(canvas, options);
  }
  const double skin_px_canvas = cv::countNonZero(canvas.skin_mask);
  cv::Mat baseline_depigmented;

  for (int k = 0; k < options.visits; ++k) {
    Visit visit;
    VisitTruth& truth = visit.truth;
    truth.index = k;
    LesionLayer layer;
    if (options.condition == Condition::kPsoriasis) {
      SeverityAtVisit sev;
      layer = RenderPsoriasis(canvas, psoriasis, options, k, &sev, &truth.new_lesion);
      truth.erythema_grade = sev.erythema;
      truth.erythema_delta_a = sev.delta_a;
      truth.scaling_grade = sev.scaling;
      truth.scale_fraction = sev.scale_fraction;
      truth.induration_grade = sev.induration;
      truth.plaque_height = sev.relief;
    } else {
      layer = RenderVitiligo(canvas, vitiligo, options, k, &truth.new_lesion);
      truth.sharp_borders = vitiligo.sharp;
      const double env = cv::countNonZero(layer.envelope);
      const double dep = cv::countNonZero(layer.lesion);
      truth.depigmentation = env > 0 ? dep / env : 0.0;
      truth.depigmentation_level = NearestLadderLevel(100.0 * truth.depigmentation);
      truth.envelope_fraction = env / skin_px_canvas;
      if (k == 0) baseline_depigmented = layer.lesion.clone();
      const double d0 = cv::countNonZero(baseline_depigmented);
      truth.repigmentation_percent = d0 > 0 ? 100.0 * (d0 - dep) / d0 : 0.0;
    }
    truth.lesion_fraction_site = cv::countNonZero(layer.lesion) / skin_px_canvas;
    {
      cv::Mat labels;
      truth.lesion_count = cv::connectedComponents(layer.lesion, labels, 8) - 1;
    }

    // Pose and the per-pixel map from this visit into the canvas.
    truth.pose = MakePose(options, k);
    cv::Mat map_x(options.size, CV_32F), map_y(options.size, CV_32F);
    cv::Mat outside(options.size, CV_8U);
    const double cw = canvas.size.width - 1, ch = canvas.size.height - 1;
    const PoseMapper to_baseline(truth.pose, options.size);
    cv::parallel_for_(cv::Range(0, options.size.height), [&](const cv::Range& rows) {
      for (int y = rows.start; y < rows.end; ++y) {
        auto* mx = map_x.ptr<float>(y);
        auto* my = map_y.ptr<float>(y);
        auto* out = outside.ptr<unsigned char>(y);
        for (int x = 0; x < options.size.width; ++x) {
          const cv::Point2d b = to_baseline({double(x), double(y)});
          mx[x] = static_cast<float>(b.x + canvas.margin);
          my[x] = static_cast<float>(b.y + canvas.margin);
          out[x] = (mx[x] < 0 || my[x] < 0 || mx[x] > cw || my[x] > ch) ? 255 : 0;
        }
      }
    });

    cv::Mat canvas_bgr = ComposeCanvas(canvas, layer);
    if (truth.pose.scale < 1.0) {
      // A zoomed-out view averages several canvas pixels into one: band-limit first.
      const double sigma = 0.6 * std::sqrt(1.0 / (truth.pose.scale * truth.pose.scale) - 1.0);
      if (sigma > 0.05) cv::GaussianBlur(canvas_bgr, canvas_bgr, cv::Size(), sigma);
    }
    cv::Mat view;
    cv::remap(canvas_bgr, view, map_x, map_y, cv::INTER_LINEAR, cv::BORDER_REPLICATE);
    if (cv::countNonZero(outside) > 0) {
      for (int y = 0; y < view.rows; ++y) {
        auto* px = view.ptr<cv::Vec3f>(y);
        const auto* out = outside.ptr<unsigned char>(y);
        const auto* mx = map_x.ptr<float>(y);
        const auto* my = map_y.ptr<float>(y);
        for (int x = 0; x < view.cols; ++x) {
          if (out[x] != 0) px[x] = canvas.Background(mx[x] - canvas.margin, my[x] - canvas.margin);
        }
      }
    }
    auto warp_mask = [&](const cv::Mat& mask) {
      cv::Mat f = ToFloat(mask), w;
      cv::remap(f, w, map_x, map_y, cv::INTER_LINEAR, cv::BORDER_CONSTANT, cv::Scalar(0));
      cv::Mat m = w >= 0.5f;
      return m;
    };
    visit.skin_mask = warp_mask(canvas.skin_mask);
    visit.lesion_mask = warp_mask(layer.lesion) & visit.skin_mask;
    if (!layer.envelope.empty()) visit.envelope_mask = warp_mask(layer.envelope) & visit.skin_mask;

    truth.photometric = MakePhotometric(options, k);
    visit.image = ApplyCamera(view, truth.photometric, options.seed, k);
    if (options.jpeg_quality > 0) {
      std::vector<unsigned char> bytes;
      cv::imencode(".jpg", visit.image, bytes, {cv::IMWRITE_JPEG_QUALITY, options.jpeg_quality});
      visit.image = cv::imdecode(bytes, cv::IMREAD_COLOR);
      visit.encoded = std::move(bytes);
    }

    truth.skin_pixels = cv::countNonZero(visit.skin_mask);
    truth.lesion_pixels = cv::countNonZero(visit.lesion_mask);
    truth.lesion_fraction =
        truth.skin_pixels > 0 ? double(truth.lesion_pixels) / truth.skin_pixels : 0.0;
    truth.matrix_exact =
        truth.pose.perspective == cv::Matx33d::eye() && truth.pose.deformation.empty();
    truth.to_baseline = truth.matrix_exact ? SimilarityToBaseline(truth.pose, options.size)
                                           : FitAffine(truth.pose, options.size, visit.skin_mask);
    if (k == 0) {
      series.tone.ita_measured = MeasuredIta(visit.image, visit.skin_mask, visit.lesion_mask);
    }
    series.visits.push_back(std::move(visit));
  }
  return series;
}

}  // namespace skintrack::phantom
