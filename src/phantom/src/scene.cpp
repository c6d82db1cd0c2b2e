#include "scene.h"

#include <algorithm>
#include <cmath>
#include <limits>
#include <opencv2/imgproc.hpp>

namespace skintrack::phantom::detail {
namespace {

constexpr double kPi = 3.14159265358979323846;

double SmoothMin(double a, double b, double k) {
  const double h = std::max(k - std::abs(a - b), 0.0) / k;
  return std::min(a, b) - h * h * k * 0.25;
}

// Distance from p to the segment a-b, and the position t in [0, 1] of the nearest point.
double SegmentDistance(cv::Point2d p, cv::Point2d a, cv::Point2d b, double* t_out) {
  const cv::Point2d ab = b - a;
  const double t = std::clamp((p - a).dot(ab) / ab.dot(ab), 0.0, 1.0);
  if (t_out != nullptr) *t_out = t;
  const cv::Point2d d = p - (a + t * ab);
  return std::sqrt(d.dot(d));
}

// A capsule whose radius tapers linearly from r0 at a to r1 at b.
double TaperedCapsule(cv::Point2d p, cv::Point2d a, cv::Point2d b, double r0, double r1) {
  double t = 0;
  const double d = SegmentDistance(p, a, b, &t);
  return d - (r0 + (r1 - r0) * t);
}

// Approximate signed distance to an ellipse (exact on the axes, good enough near the outline).
double Ellipse(cv::Point2d p, cv::Point2d c, double ax, double ay, double angle) {
  const double cs = std::cos(angle), sn = std::sin(angle);
  const double dx = p.x - c.x, dy = p.y - c.y;
  const double u = (cs * dx + sn * dy) / ax, v = (-sn * dx + cs * dy) / ay;
  const double r = std::sqrt(u * u + v * v);
  return (r - 1.0) * std::min(ax, ay);
}

double SuperEllipse(cv::Point2d p, cv::Point2d c, double ax, double ay, double n) {
  const double u = std::abs(p.x - c.x) / ax, v = std::abs(p.y - c.y) / ay;
  const double r = std::pow(std::pow(u, n) + std::pow(v, n), 1.0 / n);
  return (r - 1.0) * std::min(ax, ay);
}

}  // namespace

cv::Mat ValueNoise(cv::Size size, double cells, Rng& rng) {
  const double longer = std::max(size.width, size.height);
  const int gw = std::max(2, static_cast<int>(std::ceil(cells * size.width / longer)) + 1);
  const int gh = std::max(2, static_cast<int>(std::ceil(cells * size.height / longer)) + 1);
  cv::Mat grid(gh, gw, CV_32F);
  for (int y = 0; y < gh; ++y) {
    auto* row = grid.ptr<float>(y);
    for (int x = 0; x < gw; ++x) row[x] = static_cast<float>(rng.Uniform(-1.0, 1.0));
  }
  cv::Mat out;
  cv::resize(grid, out, size, 0, 0, cv::INTER_CUBIC);
  return out;
}

cv::Mat Fbm(cv::Size size, double base_cells, int octaves, Rng& rng) {
  cv::Mat sum = cv::Mat::zeros(size, CV_32F);
  double amplitude = 1.0, total = 0.0, cells = base_cells;
  for (int o = 0; o < octaves; ++o) {
    cv::scaleAdd(ValueNoise(size, cells, rng), amplitude, sum, sum);
    total += amplitude;
    amplitude *= 0.5;
    cells *= 2.0;
  }
  sum *= 1.0 / total;
  return sum;
}

Silhouette MakeSilhouette(BodyShape shape, cv::Size frame, cv::Point2d offset, Rng& rng) {
  const double w = frame.width, h = frame.height;
  const double s = std::min(w, h);
  const bool landscape = w >= h;
  // Elongated parts lie along the longer side of the frame: (u, v) is the frame with u along it.
  const double lu = landscape ? w : h, lv = landscape ? h : w;
  auto to_uv = [=](double x, double y) {
    const double fx = x - offset.x, fy = y - offset.y;
    return landscape ? cv::Point2d(fx, fy) : cv::Point2d(fy, fx);
  };
  const double tilt = rng.Uniform(-8.0, 8.0) * kPi / 180.0;
  const double axis = landscape ? tilt : kPi / 2 - tilt;
  Silhouette out;
  out.axis_angle = axis;
  switch (shape) {
    case BodyShape::kLimb: {
      const double r0 = rng.Uniform(0.29, 0.33) * lv, r1 = rng.Uniform(0.22, 0.26) * lv;
      const double cy = 0.5 * lv + rng.Uniform(-0.03, 0.03) * lv;
      const double half = 0.5 * lu - std::max(r0, r1) + 0.12 * s;
      const cv::Point2d dir(std::cos(tilt), std::sin(tilt));
      const cv::Point2d mid(0.5 * lu, cy);
      const cv::Point2d a = mid - half * dir, b = mid + half * dir;
      out.sdf = [=](double x, double y) { return TaperedCapsule(to_uv(x, y), a, b, r0, r1); };
      out.shading_depth = 0.5 * (r0 + r1);
      break;
    }
    case BodyShape::kFoot: {
      const double ax = 0.40 * lu, ay = 0.24 * lv;
      const cv::Point2d c(0.5 * lu, 0.5 * lv);
      out.sdf = [=](double x, double y) { return Ellipse(to_uv(x, y), c, ax, ay, tilt); };
      out.shading_depth = 0.8 * ay;
      break;
    }
    case BodyShape::kHand: {
      // Palm, four fingers fanned towards +u, a thumb, and the wrist leaving towards -u.
      const cv::Point2d palm(0.40 * lu, 0.52 * lv);
      const double pa = 0.17 * lv, pb = 0.23 * lv, fr = 0.052 * lv;
      std::vector<std::pair<cv::Point2d, cv::Point2d>> fingers;
      const double offsets[4] = {-0.165, -0.055, 0.055, 0.16};
      const double lengths[4] = {0.33, 0.40, 0.38, 0.29};
      for (int i = 0; i < 4; ++i) {
        const double ang = tilt + offsets[i] * 0.9;
        const cv::Point2d base(palm.x + 0.12 * lv, palm.y + offsets[i] * lv);
        const cv::Point2d tip = base + lengths[i] * lv * cv::Point2d(std::cos(ang), std::sin(ang));
        fingers.emplace_back(base, tip);
      }
      const cv::Point2d thumb_base(palm.x + 0.02 * lv, palm.y + 0.17 * lv);
      const cv::Point2d thumb_tip = thumb_base + 0.27 * lv * cv::Point2d(0.72, 0.69);
      const cv::Point2d wrist_end(std::min(0.09 * lu, palm.x - 0.1 * lv), palm.y);
      out.sdf = [=](double x, double y) {
        const cv::Point2d p = to_uv(x, y);
        double d = Ellipse(p, palm, pa, pb, 0.0);
        for (const auto& [b0, b1] : fingers) {
          d = SmoothMin(d, TaperedCapsule(p, b0, b1, fr * 1.08, fr * 0.9), 0.03 * lv);
        }
        d = SmoothMin(d, TaperedCapsule(p, thumb_base, thumb_tip, fr * 1.3, fr), 0.05 * lv);
        d = SmoothMin(d, TaperedCapsule(p, palm, wrist_end, 0.15 * lv, 0.14 * lv), 0.06 * lv);
        return d;
      };
      out.shading_depth = 0.06 * lv;
      break;
    }
    case BodyShape::kTrunk: {
      const cv::Point2d c(0.5 * w + offset.x, 0.5 * h + offset.y);
      const double ax = 0.45 * w, ay = 0.62 * h;
      out.sdf = [=](double x, double y) { return SuperEllipse({x, y}, c, ax, ay, 4.0); };
      out.shading_depth = 0.25 * s;
      break;
    }
    case BodyShape::kFace: {
      // Long axis vertical whatever the frame; eyes, brows and lips are holes (not skin).
      const cv::Point2d c(0.5 * w + offset.x, 0.5 * h + offset.y);
      const double ax = 0.36 * s, ay = 0.46 * s;
      const cv::Point2d eye_l(c.x - 0.15 * s, c.y - 0.07 * s),
          eye_r(c.x + 0.15 * s, c.y - 0.07 * s);
      const cv::Point2d mouth(c.x, c.y + 0.24 * s);
      const cv::Point2d brow_l = eye_l + cv::Point2d(0, -0.07 * s);
      const cv::Point2d brow_r = eye_r + cv::Point2d(0, -0.07 * s);
      auto eyes = [=](double x, double y) {
        return std::min(Ellipse({x, y}, eye_l, 0.065 * s, 0.03 * s, 0.0),
                        Ellipse({x, y}, eye_r, 0.065 * s, 0.03 * s, 0.0));
      };
      auto brows = [=](double x, double y) {
        return std::min(Ellipse({x, y}, brow_l, 0.08 * s, 0.014 * s, 0.1),
                        Ellipse({x, y}, brow_r, 0.08 * s, 0.014 * s, -0.1));
      };
      auto lips = [=](double x, double y) {
        return Ellipse({x, y}, mouth, 0.11 * s, 0.035 * s, 0.0);
      };
      out.sdf = [=](double x, double y) {
        const double holes = std::min({eyes(x, y), brows(x, y), lips(x, y)});
        return std::max(Ellipse({x, y}, c, ax, ay, 0.0), -holes);
      };
      out.features = {
          {eyes, cv::Vec3d(22, 1, 2)}, {brows, cv::Vec3d(16, 3, 5)}, {lips, cv::Vec3d(45, 28, 12)}};
      out.shading_depth = 0.22 * s;
      break;
    }
    case BodyShape::kRound: {
      const cv::Point2d c(0.5 * w + offset.x, 0.5 * h + offset.y);
      const double ax = 0.42 * w, ay = 0.44 * h;
      out.sdf = [=](double x, double y) { return Ellipse({x, y}, c, ax, ay, tilt); };
      out.shading_depth = 0.3 * std::min(ax, ay);
      break;
    }
  }
  return out;
}

cv::Mat EvaluateSdf(const SdfFunction& sdf, cv::Size canvas) {
  cv::Mat out(canvas, CV_32F);
  cv::parallel_for_(cv::Range(0, canvas.height), [&](const cv::Range& rows) {
    for (int y = rows.start; y < rows.end; ++y) {
      auto* row = out.ptr<float>(y);
      for (int x = 0; x < canvas.width; ++x) row[x] = static_cast<float>(sdf(x, y));
    }
  });
  return out;
}

float ThresholdForFraction(const cv::Mat& values, const cv::Mat& mask, double fraction_above) {
  std::vector<float> v;
  v.reserve(static_cast<size_t>(cv::countNonZero(mask)));
  for (int y = 0; y < values.rows; ++y) {
    const auto* vr = values.ptr<float>(y);
    const auto* mr = mask.ptr<unsigned char>(y);
    for (int x = 0; x < values.cols; ++x) {
      if (mr[x] != 0) v.push_back(vr[x]);
    }
  }
  if (v.empty()) return std::numeric_limits<float>::infinity();
  const double f = std::clamp(fraction_above, 0.0, 1.0);
  auto k = static_cast<size_t>(std::llround((1.0 - f) * static_cast<double>(v.size())));
  if (k >= v.size()) return std::numeric_limits<float>::infinity();
  std::nth_element(v.begin(), v.begin() + static_cast<std::ptrdiff_t>(k), v.end());
  return v[k];
}

cv::Mat SmoothStep(const cv::Mat& x, float edge0, float edge1) {
  cv::Mat t;
  x.convertTo(t, CV_32F, 1.0 / (edge1 - edge0), -edge0 / (edge1 - edge0));
  cv::min(t, 1.0, t);
  cv::max(t, 0.0, t);
  cv::Mat t2 = t.mul(t);
  cv::Mat out = 3.0 * t2 - 2.0 * t2.mul(t);
  return out;
}

}  // namespace skintrack::phantom::detail
