// Lesions and their treatment trajectories: psoriasis plaques and vitiligo patches at each visit.
#include <algorithm>
#include <array>
#include <cmath>
#include <opencv2/imgproc.hpp>

#include "generator.h"

namespace skintrack::phantom::detail {

int NearestLadderLevel(double percent) {
  int best = 0;
  for (int level : kLadder) {
    if (std::abs(level - percent) < std::abs(best - percent)) best = level;
  }
  return best;
}

namespace {

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

}  // namespace

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

}  // namespace skintrack::phantom::detail
