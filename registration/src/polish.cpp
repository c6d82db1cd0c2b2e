// Robust Gauss-Newton polish of a linear alignment with a smooth photometric model (polish.h).
#include "polish.h"

#include <algorithm>
#include <array>
#include <cmath>
#include <opencv2/imgproc.hpp>
#include <vector>

namespace skintrack::registration::detail {
namespace {

// Gain 1, u, v, u^2, uv, v^2 (times the moving grey), offset, and a curvature term (moving
// grey squared / 255): colours respond differently to a white-balance change, so depigmented
// and pigmented skin do not share one gain.
constexpr int kPhotometric = 8;
constexpr int kMaxParams = 6 + kPhotometric;

int GeometricCount(TransformModel model) {
  switch (model) {
    case TransformModel::kRigid:
      return 3;
    case TransformModel::kSimilarity:
      return 4;
    case TransformModel::kAffine:
      break;
  }
  return 6;
}

// One selected fixed pixel with what does not change between iterations.
struct Point {
  float x, y;                  // working pixel
  float value;                 // fixed grey
  float dx, dy;                // (x - centre) / radius
  std::array<float, 6> basis;  // 1, u, v, u^2, uv, v^2 with u = dx, v = dy
};

struct LevelImages {
  cv::Mat fixed, moving, grad_x, grad_y;  // CV_32F, smoothed
  cv::Mat fixed_roi, moving_roi;          // CV_8U, eroded
};

}  // namespace

void ErodeRoi(const cv::Mat& fixed_roi, const cv::Mat& moving_roi, cv::Mat* fixed_out,
              cv::Mat* moving_out) {
  const cv::Mat kernel =
      cv::getStructuringElement(cv::MORPH_RECT, cv::Size(2 * kRoiMargin + 1, 2 * kRoiMargin + 1));
  cv::erode(fixed_roi, *fixed_out, kernel, cv::Point(-1, -1), 1, cv::BORDER_CONSTANT, 0);
  cv::erode(moving_roi, *moving_out, kernel, cv::Point(-1, -1), 1, cv::BORDER_CONSTANT, 0);
}

namespace {

// Smoothing before differentiation: the phantom and camera noise would otherwise dominate the
// gradients, and it widens the basin to about two pixels. The same kernel on both images does
// not shift an edge, so it does not bias the estimate.
LevelImages Prepare(const cv::Mat& fixed, const cv::Mat& moving, const cv::Mat& fixed_roi,
                    const cv::Mat& moving_roi) {
  LevelImages l;
  cv::GaussianBlur(fixed, l.fixed, cv::Size(0, 0), 1.0);
  cv::GaussianBlur(moving, l.moving, cv::Size(0, 0), 1.0);
  cv::Sobel(l.moving, l.grad_x, CV_32F, 1, 0, 3, 1.0 / 8.0);
  cv::Sobel(l.moving, l.grad_y, CV_32F, 0, 1, 3, 1.0 / 8.0);
  ErodeRoi(fixed_roi, moving_roi, &l.fixed_roi, &l.moving_roi);
  return l;
}

// The `count` usable fixed pixels of strongest gradient, from a regular grid of about 4x as
// many candidates (gradient-selected pixels carry the geometric information; flat skin adds
// noise and cost). Deterministic: a fixed grid and a total order.
std::vector<Point> SelectPoints(const LevelImages& l, int count, cv::Point2d centre,
                                double radius) {
  cv::Mat gx, gy;
  cv::Sobel(l.fixed, gx, CV_32F, 1, 0, 3);
  cv::Sobel(l.fixed, gy, CV_32F, 0, 1, 3);
  const int usable = cv::countNonZero(l.fixed_roi);
  const int stride =
      std::max(1, static_cast<int>(std::floor(std::sqrt(usable / (4.0 * std::max(1, count))))));
  struct Candidate {
    float magnitude;
    int x, y;
  };
  std::vector<Candidate> candidates;
  const int border = 2;
  for (int y = border; y < l.fixed.rows - border; y += stride) {
    const unsigned char* roi = l.fixed_roi.ptr<unsigned char>(y);
    const float* px = gx.ptr<float>(y);
    const float* py = gy.ptr<float>(y);
    for (int x = border; x < l.fixed.cols - border; x += stride) {
      if (!roi[x]) continue;
      candidates.push_back({px[x] * px[x] + py[x] * py[x], x, y});
    }
  }
  const auto stronger = [](const Candidate& a, const Candidate& b) {
    if (a.magnitude != b.magnitude) return a.magnitude > b.magnitude;
    return a.y != b.y ? a.y < b.y : a.x < b.x;
  };
  if (static_cast<int>(candidates.size()) > count) {
    std::nth_element(candidates.begin(), candidates.begin() + count, candidates.end(), stronger);
    candidates.resize(static_cast<std::size_t>(count));
  }
  std::sort(candidates.begin(), candidates.end(), [](const Candidate& a, const Candidate& b) {
    return a.y != b.y ? a.y < b.y : a.x < b.x;
  });
  std::vector<Point> points;
  points.reserve(candidates.size());
  for (const Candidate& c : candidates) {
    Point p;
    p.x = static_cast<float>(c.x);
    p.y = static_cast<float>(c.y);
    p.value = l.fixed.at<float>(c.y, c.x);
    const double u = (c.x - centre.x) / radius, v = (c.y - centre.y) / radius;
    p.dx = static_cast<float>(u);
    p.dy = static_cast<float>(v);
    p.basis = {1.0f,
               static_cast<float>(u),
               static_cast<float>(v),
               static_cast<float>(u * u),
               static_cast<float>(u * v),
               static_cast<float>(v * v)};
    points.push_back(p);
  }
  return points;
}

inline float Bilinear(const cv::Mat& image, int x0, int y0, float ax, float ay) {
  const float* r0 = image.ptr<float>(y0) + x0;
  const float* r1 = image.ptr<float>(y0 + 1) + x0;
  return (1 - ay) * ((1 - ax) * r0[0] + ax * r0[1]) + ay * ((1 - ax) * r1[0] + ax * r1[1]);
}

struct LevelResult {
  bool ok = false;
  cv::Matx33d a;
  int iterations = 0;
  int points = 0;
  double sigma = 0;
  std::string note;
};

// Gauss-Newton on one level. Parameters: geometric increment (compositional, about `centre`, in
// pixels at `radius`), then the photometric coefficients (absolute, re-estimated every step).
LevelResult FitLevel(const LevelImages& l, TransformModel model, const cv::Matx33d& start,
                     int count, int max_iterations) {
  LevelResult out;
  out.a = start;
  const cv::Point2d centre((l.fixed.cols - 1) / 2.0, (l.fixed.rows - 1) / 2.0);
  const double radius = 0.5 * std::hypot(l.fixed.cols, l.fixed.rows);
  const std::vector<Point> points = SelectPoints(l, count, centre, radius);
  const int ng = GeometricCount(model);
  const int n = ng + kPhotometric;
  std::array<double, kPhotometric> photo{};
  photo[0] = 1.0;
  std::vector<float> sampled(points.size()), sgx(points.size()), sgy(points.size());
  std::vector<unsigned char> valid(points.size());
  std::vector<float> residual(points.size());
  std::vector<float> scratch;
  const int min_points = std::max(200, 20 * n);
  for (int it = 0; it < max_iterations; ++it) {
    const cv::Matx33d& a = out.a;
    // Pass 1: sample the moving image, its gradient and the residual at every selected pixel.
    int used = 0;
    scratch.clear();
    for (std::size_t i = 0; i < points.size(); ++i) {
      const Point& p = points[i];
      const double mx = a(0, 0) * p.x + a(0, 1) * p.y + a(0, 2);
      const double my = a(1, 0) * p.x + a(1, 1) * p.y + a(1, 2);
      valid[i] = 0;
      if (!(mx >= 0 && my >= 0 && mx < l.moving.cols - 1 && my < l.moving.rows - 1)) continue;
      const int x0 = static_cast<int>(mx), y0 = static_cast<int>(my);
      if (!l.moving_roi.at<unsigned char>(static_cast<int>(std::lround(my)),
                                          static_cast<int>(std::lround(mx)))) {
        continue;
      }
      const float ax = static_cast<float>(mx - x0), ay = static_cast<float>(my - y0);
      sampled[i] = Bilinear(l.moving, x0, y0, ax, ay);
      sgx[i] = Bilinear(l.grad_x, x0, y0, ax, ay);
      sgy[i] = Bilinear(l.grad_y, x0, y0, ax, ay);
      double gain = 0;
      for (int k = 0; k < 6; ++k) gain += photo[static_cast<std::size_t>(k)] * p.basis[k];
      residual[i] = static_cast<float>(
          p.value - (gain * sampled[i] + photo[6] + photo[7] * sampled[i] * sampled[i] / 255.0));
      valid[i] = 1;
      scratch.push_back(std::abs(residual[i]));
      ++used;
    }
    if (used < min_points) {
      out.note = "too few usable pixels (" + std::to_string(used) + ")";
      return out;
    }
    // Robust scale: 1.4826 x the median absolute residual. Huber weights beyond 1.345 sigma for
    // the first two steps (the start may be off), then Tukey's biweight (cut at 4.685 sigma): a
    // repigmented island or a new lesion outside the masks then stops pulling at all.
    const std::size_t mid = scratch.size() / 2;
    std::nth_element(scratch.begin(), scratch.begin() + static_cast<std::ptrdiff_t>(mid),
                     scratch.end());
    const double sigma = std::max(1e-3, 1.4826 * scratch[mid]);
    const double clip = 1.345 * sigma;
    out.sigma = sigma;
    out.points = used;

    // Pass 2: weighted normal equations (upper triangle).
    std::array<double, kMaxParams * kMaxParams> h{};
    std::array<double, kMaxParams> b{};
    std::array<double, kMaxParams> j{};
    const cv::Matx22d lin(a(0, 0), a(0, 1), a(1, 0), a(1, 1));
    for (std::size_t i = 0; i < points.size(); ++i) {
      if (!valid[i]) continue;
      const Point& p = points[i];
      double gain = 0;
      for (int k = 0; k < 6; ++k) gain += photo[static_cast<std::size_t>(k)] * p.basis[k];
      // Moving gradient pulled back to the fixed frame, scaled by the local gain (the derivative
      // of the photometric model with respect to the moving grey).
      gain += 2.0 * photo[7] * sampled[i] / 255.0;
      const double gx = gain * (lin(0, 0) * sgx[i] + lin(1, 0) * sgy[i]);
      const double gy = gain * (lin(0, 1) * sgx[i] + lin(1, 1) * sgy[i]);
      int c = 0;
      j[c++] = gx;
      j[c++] = gy;
      switch (model) {
        case TransformModel::kRigid:
          j[c++] = -gx * p.dy + gy * p.dx;
          break;
        case TransformModel::kSimilarity:
          j[c++] = -gx * p.dy + gy * p.dx;
          j[c++] = gx * p.dx + gy * p.dy;
          break;
        case TransformModel::kAffine:
          j[c++] = gx * p.dx;
          j[c++] = gx * p.dy;
          j[c++] = gy * p.dx;
          j[c++] = gy * p.dy;
          break;
      }
      for (int k = 0; k < 6; ++k) j[c++] = p.basis[k] * sampled[i];
      j[c++] = 1.0;
      j[c++] = sampled[i] * sampled[i] / 255.0;
      const double r = residual[i];
      double w = std::abs(r) <= clip ? 1.0 : clip / std::abs(r);
      if (it >= 2) {
        const double cut = 4.685 * sigma;
        const double z = r / cut;
        w = std::abs(z) < 1 ? (1 - z * z) * (1 - z * z) : 0.0;
      }
      for (int row = 0; row < n; ++row) {
        const double wj = w * j[row];
        b[row] += wj * r;
        double* hr = &h[static_cast<std::size_t>(row) * kMaxParams];
        for (int col = row; col < n; ++col) hr[col] += wj * j[col];
      }
    }
    cv::Mat hm(n, n, CV_64F), bm(n, 1, CV_64F), delta;
    for (int row = 0; row < n; ++row) {
      bm.at<double>(row) = b[row];
      for (int col = 0; col < n; ++col) {
        hm.at<double>(row, col) = row <= col ? h[static_cast<std::size_t>(row) * kMaxParams + col]
                                             : h[static_cast<std::size_t>(col) * kMaxParams + row];
      }
    }
    if (!cv::solve(hm, bm, delta, cv::DECOMP_CHOLESKY)) {
      out.note = "singular normal equations";
      return out;
    }
    ++out.iterations;
    // Geometric increment T(x) = c + D (x - c) + t, parameters in pixels at `radius`.
    const double* d = delta.ptr<double>();
    cv::Matx22d dm = cv::Matx22d::eye();
    const cv::Vec2d t(d[0], d[1]);
    switch (model) {
      case TransformModel::kRigid: {
        const double th = d[2] / radius;
        dm = cv::Matx22d(std::cos(th), -std::sin(th), std::sin(th), std::cos(th));
        break;
      }
      case TransformModel::kSimilarity:
        dm = cv::Matx22d(1 + d[3] / radius, -d[2] / radius, d[2] / radius, 1 + d[3] / radius);
        break;
      case TransformModel::kAffine:
        dm = cv::Matx22d(1 + d[2] / radius, d[3] / radius, d[4] / radius, 1 + d[5] / radius);
        break;
    }
    const cv::Vec2d c(centre.x, centre.y);
    const cv::Vec2d off = c + t - dm * c;
    const cv::Matx33d step(dm(0, 0), dm(0, 1), off[0], dm(1, 0), dm(1, 1), off[1], 0, 0, 1);
    out.a = out.a * step;
    for (int k = 0; k < kPhotometric; ++k) photo[static_cast<std::size_t>(k)] += d[ng + k];
    // Largest displacement of the step over the image corners, in level pixels.
    double moved = 0;
    for (const cv::Vec2d& corner :
         {cv::Vec2d(0, 0), cv::Vec2d(l.fixed.cols - 1.0, 0), cv::Vec2d(0, l.fixed.rows - 1.0),
          cv::Vec2d(l.fixed.cols - 1.0, l.fixed.rows - 1.0)}) {
      const cv::Vec2d q = dm * (corner - c) + c + t;
      moved = std::max(moved, cv::norm(q - corner));
    }
    if (!std::isfinite(moved) || moved > 0.25 * radius) {
      out.note = "diverged";
      return out;
    }
    if (it >= 1 && moved < 1e-3) break;
  }
  out.ok = true;
  return out;
}

cv::Mat Half(const cv::Mat& image) {
  cv::Mat out;
  cv::pyrDown(image, out);
  return out;
}

cv::Mat HalfMask(const cv::Mat& mask, cv::Size size) {
  cv::Mat out;
  cv::resize(mask, out, size, 0, 0, cv::INTER_NEAREST);
  return out;
}

}  // namespace

double LocalCorrelation(const cv::Mat& fixed, const cv::Mat& warped, const cv::Mat& mask) {
  if (cv::countNonZero(mask) < 64) return 0;
  const cv::Size window(9, 9);
  cv::Mat mf, mw, ff, ww, fw;
  cv::boxFilter(fixed, mf, CV_32F, window);
  cv::boxFilter(warped, mw, CV_32F, window);
  cv::boxFilter(fixed.mul(fixed), ff, CV_32F, window);
  cv::boxFilter(warped.mul(warped), ww, CV_32F, window);
  cv::boxFilter(fixed.mul(warped), fw, CV_32F, window);
  double covariance = 0, spread = 0;
  for (int y = 0; y < fixed.rows; ++y) {
    const unsigned char* m = mask.ptr<unsigned char>(y);
    const float *a = mf.ptr<float>(y), *b = mw.ptr<float>(y), *aa = ff.ptr<float>(y),
                *bb = ww.ptr<float>(y), *ab = fw.ptr<float>(y);
    for (int x = 0; x < fixed.cols; ++x) {
      if (!m[x]) continue;
      const double va = std::max(0.0, static_cast<double>(aa[x]) - double(a[x]) * a[x]);
      const double vb = std::max(0.0, static_cast<double>(bb[x]) - double(b[x]) * b[x]);
      covariance += static_cast<double>(ab[x]) - double(a[x]) * b[x];
      spread += std::sqrt(va * vb);
    }
  }
  return spread > 0 ? covariance / spread : 0;
}

PolishOutcome PolishLinear(const cv::Mat& fixed, const cv::Mat& moving, const cv::Mat& fixed_roi,
                           const cv::Mat& moving_roi, TransformModel model,
                           const cv::Matx33d& fixed_to_moving_start, int points) {
  PolishOutcome out;
  out.fixed_to_moving = fixed_to_moving_start;
  // Two levels: half resolution first (a wider basin for a start that is a pixel or two off),
  // then the working resolution. Pixel i of a pyrDown copy sits on pixel 2i.
  const cv::Matx33d s(2, 0, 0, 0, 2, 0, 0, 0, 1), s_inv(0.5, 0, 0, 0, 0.5, 0, 0, 0, 1);
  cv::Matx33d a = fixed_to_moving_start;
  if (std::min(fixed.cols, fixed.rows) >= 128 && std::min(moving.cols, moving.rows) >= 128) {
    const cv::Mat f2 = Half(fixed), m2 = Half(moving);
    const LevelImages l2 =
        Prepare(f2, m2, HalfMask(fixed_roi, f2.size()), HalfMask(moving_roi, m2.size()));
    const LevelResult r2 = FitLevel(l2, model, s_inv * a * s, std::max(1000, points / 2), 10);
    out.iterations += r2.iterations;
    if (r2.ok) a = s * r2.a * s_inv;
  }
  const LevelImages l1 = Prepare(fixed, moving, fixed_roi, moving_roi);
  const LevelResult r1 = FitLevel(l1, model, a, points, 10);
  out.iterations += r1.iterations;
  out.points = r1.points;
  out.robust_sigma = r1.sigma;
  if (!r1.ok) {
    out.note = r1.note;
    return out;
  }
  out.fixed_to_moving = r1.a;
  out.ok = true;
  return out;
}

}  // namespace skintrack::registration::detail
