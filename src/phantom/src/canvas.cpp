// The series canvas: normal skin (tone, blotchiness, shading, diffuse erythema), texture, moles,
// hair and background, and its composition with a visit's lesion layer.
#include <algorithm>
#include <cmath>
#include <opencv2/imgproc.hpp>

#include "generator.h"
#include "skintrack/core/colour.h"

namespace skintrack::phantom::detail {

cv::Mat ToFloat(const cv::Mat& u8) {
  cv::Mat f;
  u8.convertTo(f, CV_32F, 1.0 / 255.0);
  return f;
}

cv::Point RandomPointIn(const cv::Mat& mask, Rng& rng, int tries) {
  for (int i = 0; i < tries; ++i) {
    const cv::Point p(rng.Int(0, mask.cols - 1), rng.Int(0, mask.rows - 1));
    if (mask.at<unsigned char>(p) != 0) return p;
  }
  return {-1, -1};
}

namespace {

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

}  // namespace

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

}  // namespace skintrack::phantom::detail
