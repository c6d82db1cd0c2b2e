// RegisterToBaseline: validation, the feature start (OpenCV SIFT + RANSAC), the guard that decides
// whether the ITK refinement (itk_refine.cpp) is kept, the independent quality score and the
// warping helpers. No ITK here: this file compiles in about a second.
#include "skintrack/registration/registration.h"

#include <algorithm>
#include <chrono>
#include <cmath>
#include <functional>
#include <future>
#include <memory>
#include <numeric>
#include <opencv2/calib3d.hpp>
#include <opencv2/features2d.hpp>
#include <opencv2/imgproc.hpp>
#include <optional>
#include <sstream>
#include <tuple>
#include <vector>

#include "itk_refine.h"
#include "polish.h"
#include "skintrack/core/error.h"

namespace skintrack::registration {

// SIFT keypoints of a reduced grey copy, in a fixed order, with their descriptors.
struct Features {
  std::vector<cv::KeyPoint> keypoints;
  cv::Mat descriptors;
};

// What RegisterToBaseline computes from an image alone, before any mask (registration.h).
struct PreparedCapture {
  cv::Size full_size;
  int type = 0;  // the image's OpenCV type
  int working_long_side = 0, feature_long_side = 0;
  bool use_features = true;
  cv::Mat working;  // CV_32FC1 grey working copy
  double working_factor = 1;
  cv::Mat feature8;  // CV_8UC1 copy for the feature start (use_features only)
  double feature_factor = 1;
  // SIFT features of feature8 without a mask (PrepareCapture only; the moving mask filters
  // them, WithinMask). Absent: detected within the mask at registration time.
  std::optional<Features> all_features;
};

// ... and from the baseline with its mask.
struct PreparedBaseline {
  PreparedCapture image;
  bool masked = false;   // prepared with a fixed mask
  cv::Mat working_mask;  // the fixed mask at the working size; empty = none
  cv::Mat working_roi;   // the same, all set when there is no mask
  Features features;     // of image.feature8 within the fixed mask
};

namespace {

using detail::WorkingPair;

[[noreturn]] void Bad(const std::string& message) {
  throw Error(ErrorCode::kInvalidArgument, message);
}

// Grey copy as float: luminance for colour, 16-bit brought to the 8-bit range. Mutual
// information is blind to the intensity scale, but the feature detector wants 8-bit.
cv::Mat ToGreyFloat(const cv::Mat& image) {
  cv::Mat grey;
  if (image.channels() == 3) {
    cv::cvtColor(image, grey, cv::COLOR_BGR2GRAY);
  } else if (image.channels() == 4) {
    cv::cvtColor(image, grey, cv::COLOR_BGRA2GRAY);
  } else {
    grey = image;
  }
  cv::Mat out;
  const double scale = grey.depth() == CV_16U ? 1.0 / 257.0 : 1.0;
  grey.convertTo(out, CV_32F, scale);
  return out;
}

cv::Mat ToGrey8(const cv::Mat& grey_float) {
  double lo = 0, hi = 255;
  cv::minMaxLoc(grey_float, &lo, &hi);
  cv::Mat out;
  if (lo >= 0 && hi <= 255 && hi - lo > 32) {
    grey_float.convertTo(out, CV_8U);
  } else {  // float images in 0..1 or any other range: stretch
    const double s = hi > lo ? 255.0 / (hi - lo) : 1.0;
    grey_float.convertTo(out, CV_8U, s, -lo * s);
  }
  return out;
}

// Reduced copy whose long side is at most `long_side`; `factor` = full pixels per reduced pixel.
cv::Mat Reduce(const cv::Mat& image, int long_side, double* factor, int interpolation) {
  const int longest = std::max(image.cols, image.rows);
  if (longest <= long_side) {
    *factor = 1.0;
    return image;
  }
  const cv::Size size(
      std::max(1, static_cast<int>(std::lround(image.cols * double(long_side) / longest))),
      std::max(1, static_cast<int>(std::lround(image.rows * double(long_side) / longest))));
  *factor = static_cast<double>(image.cols) / size.width;
  cv::Mat out;
  cv::resize(image, out, size, 0, 0, interpolation);
  return out;
}

// Working copy for the intensity refinement: halved with cv::pyrDown until the long side fits.
// Powers of two keep the sampling geometry exact; an arbitrary INTER_AREA factor (1633 -> 1600
// px) blurs by an amount that varies with the sub-pixel phase and biased the estimate: 0.073 px
// mean error on geometry-only phantom pairs against 0.035 px without the reduction.
cv::Mat HalveToFit(const cv::Mat& image, int long_side, double* factor) {
  cv::Mat out = image;
  *factor = 1.0;
  while (std::max(out.cols, out.rows) > long_side) {
    cv::Mat half;
    cv::pyrDown(out, half);
    out = half;
    *factor *= 2;
  }
  return out;
}

// Full-resolution pixel coordinate of a reduced-copy coordinate (INTER_AREA geometry).
cv::Matx33d ReducedToFull(double f) {
  return cv::Matx33d(f, 0, (f - 1) / 2, 0, f, (f - 1) / 2, 0, 0, 1);
}

cv::Matx33d To33(const cv::Matx23d& m) {
  return cv::Matx33d(m(0, 0), m(0, 1), m(0, 2), m(1, 0), m(1, 1), m(1, 2), 0, 0, 1);
}
cv::Matx23d To23(const cv::Matx33d& m) {
  return cv::Matx23d(m(0, 0), m(0, 1), m(0, 2), m(1, 0), m(1, 1), m(1, 2));
}

cv::Point2d Apply(const cv::Matx23d& m, const cv::Point2d& p) {
  return {m(0, 0) * p.x + m(0, 1) * p.y + m(0, 2), m(1, 0) * p.x + m(1, 1) * p.y + m(1, 2)};
}

struct FeatureStart {
  bool ok = false;
  std::string reason;
  cv::Matx23d matrix = cv::Matx23d(1, 0, 0, 0, 1, 0);  // moving -> fixed, full pixels
  int matches = 0;
  int inliers = 0;
  std::vector<cv::Point2d> moving_points, fixed_points;  // inliers, full pixels
};

// Keypoints with their descriptors in an order that does not depend on thread scheduling (the
// detector collects them per thread): RANSAC samples by index, so order matters for determinism.
Features Detect(const cv::Mat& grey8, const cv::Mat& mask) {
  // Skin texture (pores, hair, creases) is faint: OpenCV's default contrast threshold (0.04)
  // keeps almost only lesion borders, which change by definition. Measured on phantom pairs at
  // 800 px: 0.04 gave 8 matches, 0.005 gave 159 (140 RANSAC inliers).
  cv::Ptr<cv::SIFT> sift = cv::SIFT::create(3000, 3, 0.005);
  std::vector<cv::KeyPoint> kp;
  cv::Mat desc;
  sift->detectAndCompute(grey8, mask, kp, desc);
  std::vector<int> order(kp.size());
  std::iota(order.begin(), order.end(), 0);
  std::sort(order.begin(), order.end(), [&](int a, int b) {
    return std::make_tuple(kp[a].pt.y, kp[a].pt.x, kp[a].size, kp[a].angle, kp[a].response) <
           std::make_tuple(kp[b].pt.y, kp[b].pt.x, kp[b].size, kp[b].angle, kp[b].response);
  });
  Features f;
  f.descriptors.create(static_cast<int>(kp.size()), desc.cols, desc.type());
  for (std::size_t i = 0; i < order.size(); ++i) {
    f.keypoints.push_back(kp[order[i]]);
    desc.row(order[i]).copyTo(f.descriptors.row(static_cast<int>(i)));
  }
  return f;
}

// The keypoints of `all` (Detect without a mask) whose pixel is set in `mask`, in their order:
// the same keypoints and descriptors as Detect with the mask, because OpenCV's SIFT keeps its
// `nfeatures` best before it applies a mask, with this very test (KeyPointsFilter::
// runByPixelsMask), and describes each keypoint on its own. Measured on OpenCV 4.6 when the 3000
// kept are fewer than the candidates; the unit tests that register with and without a prepared
// capture check it.
Features WithinMask(const Features& all, const cv::Mat& mask) {
  if (mask.empty()) return all;
  Features f;
  f.descriptors = cv::Mat(0, all.descriptors.cols, all.descriptors.type());
  for (std::size_t i = 0; i < all.keypoints.size(); ++i) {
    const cv::KeyPoint& k = all.keypoints[i];
    // OpenCV's own rounding (truncation after +0.5), not lround: the test must be the same.
    // NOLINTNEXTLINE(bugprone-incorrect-roundings)
    const int row = static_cast<int>(k.pt.y + 0.5f);
    // NOLINTNEXTLINE(bugprone-incorrect-roundings)
    const int col = static_cast<int>(k.pt.x + 0.5f);
    const int y = std::clamp(row, 0, mask.rows - 1), x = std::clamp(col, 0, mask.cols - 1);
    if (mask.at<unsigned char>(y, x) == 0) continue;
    f.keypoints.push_back(k);
    f.descriptors.push_back(all.descriptors.row(static_cast<int>(i)));
  }
  return f;
}

// Least-squares rotation + translation (no scale) from moving to fixed points.
cv::Matx23d FitRigid(const std::vector<cv::Point2d>& from, const std::vector<cv::Point2d>& to) {
  cv::Point2d cf(0, 0), ct(0, 0);
  for (std::size_t i = 0; i < from.size(); ++i) {
    cf += from[i];
    ct += to[i];
  }
  cf *= 1.0 / from.size();
  ct *= 1.0 / to.size();
  double sxx = 0, sxy = 0;
  for (std::size_t i = 0; i < from.size(); ++i) {
    const cv::Point2d a = from[i] - cf, b = to[i] - ct;
    sxx += a.x * b.x + a.y * b.y;
    sxy += a.x * b.y - a.y * b.x;
  }
  const double theta = std::atan2(sxy, sxx);
  const double c = std::cos(theta), s = std::sin(theta);
  return cv::Matx23d(c, -s, ct.x - (c * cf.x - s * cf.y), s, c, ct.y - (s * cf.x + c * cf.y));
}

FeatureStart StartFromFeatures(const Features& fixed, const Features& moving, double fixed_factor,
                               double moving_factor, const RegistrationOptions& options) {
  FeatureStart start;
  const std::vector<cv::KeyPoint>& kf = fixed.keypoints;
  const std::vector<cv::KeyPoint>& km = moving.keypoints;
  const cv::Mat& df = fixed.descriptors;
  const cv::Mat& dm = moving.descriptors;
  if (kf.size() < 3 || km.size() < 3) {
    start.reason = "too few keypoints (" + std::to_string(kf.size()) + " fixed, " +
                   std::to_string(km.size()) + " moving)";
    return start;
  }
  cv::BFMatcher matcher(cv::NORM_L2);
  std::vector<std::vector<cv::DMatch>> knn;
  matcher.knnMatch(dm, df, knn, 2);
  std::vector<cv::Point2d> from, to;
  const cv::Matx33d sm = ReducedToFull(moving_factor), sf = ReducedToFull(fixed_factor);
  for (const auto& pair : knn) {
    if (pair.size() < 2 || pair[0].distance >= 0.8f * pair[1].distance) continue;
    const cv::Point2f pm = km[pair[0].queryIdx].pt, pf = kf[pair[0].trainIdx].pt;
    from.emplace_back(sm(0, 0) * pm.x + sm(0, 2), sm(1, 1) * pm.y + sm(1, 2));
    to.emplace_back(sf(0, 0) * pf.x + sf(0, 2), sf(1, 1) * pf.y + sf(1, 2));
  }
  start.matches = static_cast<int>(from.size());
  if (start.matches < options.min_inliers) {
    start.reason = "too few feature matches (" + std::to_string(start.matches) + ")";
    return start;
  }
  std::vector<unsigned char> inlier_flags;
  const double threshold = 3.0 * fixed_factor;  // 3 feature-scale pixels, in full pixels
  cv::Mat estimate;
  if (options.model == TransformModel::kAffine) {
    estimate = cv::estimateAffine2D(from, to, inlier_flags, cv::RANSAC, threshold, 5000, 0.999, 10);
  } else {
    estimate =
        cv::estimateAffinePartial2D(from, to, inlier_flags, cv::RANSAC, threshold, 5000, 0.999, 10);
  }
  for (std::size_t i = 0; i < inlier_flags.size(); ++i) {
    if (!inlier_flags[i]) continue;
    start.moving_points.push_back(from[i]);
    start.fixed_points.push_back(to[i]);
  }
  start.inliers = static_cast<int>(start.moving_points.size());
  if (estimate.empty() || start.inliers < options.min_inliers) {
    start.reason = "too few RANSAC inliers (" + std::to_string(start.inliers) + " of " +
                   std::to_string(start.matches) + " matches)";
    return start;
  }
  start.matrix = options.model == TransformModel::kRigid
                     ? FitRigid(start.moving_points, start.fixed_points)
                     : cv::Matx23d(estimate.ptr<double>());
  const double det =
      start.matrix(0, 0) * start.matrix(1, 1) - start.matrix(0, 1) * start.matrix(1, 0);
  if (!(det > 0.05 && det < 20)) {  // a reflection or an absurd scale is a false match set
    start.reason = "implausible feature transform (determinant " + std::to_string(det) + ")";
    return start;
  }
  start.ok = true;
  return start;
}

// Mean and RMS distance of the inlier matches under `m`.
std::pair<double, double> Residual(const FeatureStart& f, const cv::Matx23d& m) {
  if (f.moving_points.empty()) return {-1, -1};
  double sum = 0, sum2 = 0;
  for (std::size_t i = 0; i < f.moving_points.size(); ++i) {
    const double d = cv::norm(Apply(m, f.moving_points[i]) - f.fixed_points[i]);
    sum += d;
    sum2 += d * d;
  }
  const double n = static_cast<double>(f.moving_points.size());
  return {sum / n, std::sqrt(sum2 / n)};
}

// The images on which quality is measured: the working copies of the refinement. (At the 800 px
// feature scale the score could not tell a 0.01 px refinement from its 0.09 px start and the guard
// rejected good refinements.)
struct QualityFrame {
  cv::Mat fixed, moving;          // CV_32F grey
  cv::Mat fixed_roi, moving_roi;  // CV_8U, 255 = use
  cv::Matx33d fixed_to_full = cv::Matx33d::eye(), moving_to_full = cv::Matx33d::eye();
};

struct Score {
  double quality = 0;
  double overlap = 0;
};

// Quality of the moving image resampled by `map_or_matrix` into the fixed frame.
Score ScoreWarped(const QualityFrame& q, const cv::Mat& warped, const cv::Mat& warped_roi) {
  cv::Mat valid;
  cv::erode(warped_roi, valid, cv::Mat(), cv::Point(-1, -1), 1, cv::BORDER_CONSTANT, 0);
  cv::Mat both;
  cv::bitwise_and(valid, q.fixed_roi, both);
  Score s;
  const int roi = cv::countNonZero(q.fixed_roi);
  s.overlap = roi > 0 ? static_cast<double>(cv::countNonZero(both)) / roi : 0;
  s.quality = NormalizedMutualInformation(q.fixed, warped, both, 32);
  return s;
}

Score ScoreMatrix(const QualityFrame& q, const cv::Matx23d& moving_to_fixed) {
  const cv::Matx33d m = q.fixed_to_full.inv() * To33(moving_to_fixed) * q.moving_to_full;
  cv::Mat warped, warped_roi;
  cv::warpAffine(q.moving, warped, To23(m), q.fixed.size(), cv::INTER_LINEAR, cv::BORDER_CONSTANT);
  cv::warpAffine(q.moving_roi, warped_roi, To23(m), q.fixed.size(), cv::INTER_NEAREST,
                 cv::BORDER_CONSTANT);
  return ScoreWarped(q, warped, warped_roi);
}

// What decides whether the polish is kept. The quality score (NMI of the raw working copies)
// cannot rank alignments a few tenths of a pixel apart: interpolation smooths the noise by an
// amount that depends on the sub-pixel phase, a lighting ramp smears the joint histogram, and the
// bins follow the extreme values of the overlap. Measured on phantom pairs: polishes that cut the
// error from 0.54 to 0.004 px and from 0.34 to 0.002 px lowered the NMI by 0.6 % and 5.5 %. Local
// correlation on smoothed copies, away from excluded regions, is invariant to the ramp and falls
// with the square of the error; the NMI may then drop by at most kPolishQualitySlack, a net for
// a polish gone to another basin (unaligned phantom pairs score 0.01-0.1, aligned 0.25-0.65).
constexpr double kPolishQualitySlack = 0.10;

struct LocalFrame {
  cv::Mat fixed, moving;          // smoothed (sigma 1 px) working copies
  cv::Mat fixed_roi, moving_roi;  // eroded by detail::kRoiMargin
};

LocalFrame MakeLocalFrame(const QualityFrame& q) {
  LocalFrame l;
  cv::GaussianBlur(q.fixed, l.fixed, cv::Size(0, 0), 1.0);
  cv::GaussianBlur(q.moving, l.moving, cv::Size(0, 0), 1.0);
  detail::ErodeRoi(q.fixed_roi, q.moving_roi, &l.fixed_roi, &l.moving_roi);
  return l;
}

double LocalScore(const QualityFrame& q, const LocalFrame& l, const cv::Matx23d& moving_to_fixed) {
  const cv::Matx23d m = To23(q.fixed_to_full.inv() * To33(moving_to_fixed) * q.moving_to_full);
  cv::Mat warped, warped_roi, both;
  cv::warpAffine(l.moving, warped, m, l.fixed.size(), cv::INTER_LINEAR, cv::BORDER_CONSTANT);
  cv::warpAffine(l.moving_roi, warped_roi, m, l.fixed.size(), cv::INTER_NEAREST,
                 cv::BORDER_CONSTANT);
  cv::bitwise_and(warped_roi, l.fixed_roi, both);
  return detail::LocalCorrelation(l.fixed, warped, both);
}

// cv::remap map for an output grid whose pixel (x, y) sits at full-resolution fixed coordinate
// out_to_full * (x, y), into the moving copy whose pixels sit at moving_to_full * (i, j):
// moving = A (p + d(p)), d bilinear in the stage's displacement grid. Both scalings are diagonal.
cv::Mat FieldMap(const detail::DeformOutcome& d, const cv::Matx33d& fixed_to_moving,
                 cv::Size out_size, const cv::Matx33d& out_to_full,
                 const cv::Matx33d& moving_to_full) {
  cv::Mat map(out_size, CV_32FC2);
  const cv::Matx33d to_moving = moving_to_full.inv() * fixed_to_moving;
  const double inv_step = 1.0 / d.step;
  for (int y = 0; y < out_size.height; ++y) {
    const double fy = out_to_full(1, 1) * y + out_to_full(1, 2);
    const double gy = std::clamp(fy * inv_step, 0.0, d.displacement.rows - 1.000001);
    const int l = static_cast<int>(gy);
    const double wy = gy - l;
    cv::Vec2f* row = map.ptr<cv::Vec2f>(y);
    for (int x = 0; x < out_size.width; ++x) {
      const double fx = out_to_full(0, 0) * x + out_to_full(0, 2);
      const double gx = std::clamp(fx * inv_step, 0.0, d.displacement.cols - 1.000001);
      const int k = static_cast<int>(gx);
      const double wx = gx - k;
      const cv::Vec2d v = (1 - wy) * ((1 - wx) * d.displacement.at<cv::Vec2d>(l, k) +
                                      wx * d.displacement.at<cv::Vec2d>(l, k + 1)) +
                          wy * ((1 - wx) * d.displacement.at<cv::Vec2d>(l + 1, k) +
                                wx * d.displacement.at<cv::Vec2d>(l + 1, k + 1));
      const double px = fx + v[0], py = fy + v[1];
      row[x] = cv::Vec2f(
          static_cast<float>(to_moving(0, 0) * px + to_moving(0, 1) * py + to_moving(0, 2)),
          static_cast<float>(to_moving(1, 0) * px + to_moving(1, 1) * py + to_moving(1, 2)));
    }
  }
  return map;
}

void CheckImage(const cv::Mat& image, const char* name) {
  if (image.empty()) Bad(std::string(name) + " image is empty");
  if (image.dims != 2) Bad(std::string(name) + " image must be two-dimensional");
  const int depth = image.depth();
  if (depth != CV_8U && depth != CV_16U && depth != CV_32F) {
    Bad(std::string(name) + " image must be 8-bit, 16-bit or float");
  }
  const int c = image.channels();
  if (c != 1 && c != 3 && c != 4) {
    Bad(std::string(name) + " image must have 1, 3 or 4 channels, not " + std::to_string(c));
  }
  if (image.cols < 32 || image.rows < 32) {
    Bad(std::string(name) + " image is smaller than 32 x 32 pixels (" + std::to_string(image.cols) +
        " x " + std::to_string(image.rows) + ")");
  }
}

void CheckMask(const cv::Mat& mask, cv::Size size, const char* name) {
  if (mask.empty()) return;
  if (mask.type() != CV_8UC1) Bad(std::string(name) + " must be CV_8UC1");
  if (mask.size() != size) Bad(std::string(name) + " must have the size of its image");
  if (cv::countNonZero(mask) < 64) Bad(std::string(name) + " has fewer than 64 nonzero pixels");
}

cv::Mat ResizeMask(const cv::Mat& mask, cv::Size size) {
  if (mask.empty()) return cv::Mat(size, CV_8UC1, cv::Scalar(255));
  if (mask.size() == size) return mask;
  cv::Mat out;
  cv::resize(mask, out, size, 0, 0, cv::INTER_NEAREST);
  return out;
}

PreparedCapture PrepareImage(const cv::Mat& image, const RegistrationOptions& options) {
  PreparedCapture c;
  c.full_size = image.size();
  c.type = image.type();
  c.working_long_side = options.working_long_side;
  c.feature_long_side = options.feature_long_side;
  c.use_features = options.use_features;
  const cv::Mat grey = ToGreyFloat(image);
  c.working = HalveToFit(grey, options.working_long_side, &c.working_factor);
  if (options.use_features) {
    c.feature8 =
        ToGrey8(Reduce(grey, options.feature_long_side, &c.feature_factor, cv::INTER_AREA));
  }
  return c;
}

Features MovingFeatures(const PreparedCapture& moving, const cv::Mat& mask) {
  return moving.all_features ? WithinMask(*moving.all_features, mask)
                             : Detect(moving.feature8, mask);
}

PreparedBaseline Prepare(const cv::Mat& baseline, const RegistrationOptions& options) {
  PreparedBaseline b;
  b.image = PrepareImage(baseline, options);
  b.masked = !options.fixed_mask.empty();
  if (b.masked) b.working_mask = ResizeMask(options.fixed_mask, b.image.working.size());
  b.working_roi = ResizeMask(options.fixed_mask, b.image.working.size());
  if (options.use_features) {
    b.features =
        Detect(b.image.feature8,
               b.masked ? ResizeMask(options.fixed_mask, b.image.feature8.size()) : cv::Mat());
  }
  return b;
}

RegistrationResult Register(const PreparedBaseline& baseline, const PreparedCapture& moving,
                            const RegistrationOptions& options) {
  RegistrationResult r;
  r.model = options.model;
  r.fixed_size = baseline.image.full_size;
  r.moving_size = moving.full_size;

  // Working copies (refinement and quality score).
  WorkingPair pair;
  pair.fixed = baseline.image.working;
  pair.fixed_factor = baseline.image.working_factor;
  pair.moving = moving.working;
  pair.moving_factor = moving.working_factor;
  pair.fixed_mask = baseline.working_mask;
  if (!options.moving_mask.empty()) {
    pair.moving_mask = ResizeMask(options.moving_mask, pair.moving.size());
  }
  pair.fixed_full_size = baseline.image.full_size;
  QualityFrame q;
  q.fixed = pair.fixed;
  q.moving = pair.moving;
  q.fixed_roi = baseline.working_roi;
  q.moving_roi = ResizeMask(options.moving_mask, q.moving.size());
  q.fixed_to_full = cv::Matx33d(pair.fixed_factor, 0, 0, 0, pair.fixed_factor, 0, 0, 0, 1);
  q.moving_to_full = cv::Matx33d(pair.moving_factor, 0, 0, 0, pair.moving_factor, 0, 0, 0, 1);

  FeatureStart start;
  std::string start_note;  // how the start was found, when not the usual way
  if (options.use_features) {
    const double ff = baseline.image.feature_factor, fm = moving.feature_factor;
    const cv::Mat& m8 = moving.feature8;
    start =
        StartFromFeatures(baseline.features,
                          MovingFeatures(moving, options.moving_mask.empty()
                                                     ? cv::Mat()
                                                     : ResizeMask(options.moving_mask, m8.size())),
                          ff, fm, options);
    // Dark skin with large vitiligo patches can leave too little texture outside the lesions for
    // a start (3 of 240 phantom pairs with the pipeline's masks, all Fitzpatrick 6 vitiligo). The
    // lesions move with the skin and RANSAC tolerates the part of them that changed, so try the
    // whole images before falling back to intensity alone; the refinement and the polish still
    // use the regions of interest.
    if (!start.ok && (baseline.masked || !options.moving_mask.empty())) {
      FeatureStart whole = StartFromFeatures(
          baseline.masked ? Detect(baseline.image.feature8, cv::Mat()) : baseline.features,
          MovingFeatures(moving, cv::Mat()), ff, fm, options);
      if (whole.ok) {
        start_note =
            "feature start on the whole images (within the regions of interest: " + start.reason +
            "); ";
        start = whole;
      }
    }
    r.feature_matches = start.matches;
    r.feature_inliers = start.inliers;
  } else {
    start.reason = "feature start disabled";
  }
  if (!start.ok) {
    // Without a feature start, begin from the map that puts the image centres on each other.
    start.matrix =
        cv::Matx23d(1, 0, (baseline.image.full_size.width - moving.full_size.width) / 2.0, 0, 1,
                    (baseline.image.full_size.height - moving.full_size.height) / 2.0);
  }
  r.matrix = start.matrix;
  // The start's quality score and the polish's smoothed copies do not depend on the ITK stage
  // (single-threaded for reproducibility): they are computed on other threads while it runs
  // (issue 15). Same values, in less time.
  std::future<Score> start_score_later =
      std::async(std::launch::async, [&q, m = start.matrix] { return ScoreMatrix(q, m); });
  std::shared_future<LocalFrame> local_later;
  if (options.polish) {
    local_later = std::async(std::launch::async, [&q] { return MakeLocalFrame(q); }).share();
  }
  std::optional<detail::RefineOutcome> refined;
  if (options.refine) {
    // Without a feature start the refinement must find the basin itself: add coarse levels.
    RegistrationOptions refine_options = options;
    if (!start.ok) refine_options.levels = std::max(options.levels, 3);
    refined = detail::RefineLinear(pair, options.model, To33(start.matrix).inv(), refine_options);
  }
  const Score start_score = start_score_later.get();
  r.quality_features = start_score.quality;
  Score score = start_score;

  std::string optimiser_stop;
  // The polish from `m` (moving -> fixed, full pixels).
  const auto polish_from = [&q, &options](const cv::Matx23d& m) {
    const cv::Matx33d a_w = q.moving_to_full.inv() * To33(m).inv() * q.fixed_to_full;
    return detail::PolishLinear(q.fixed, q.moving, q.fixed_roi, q.moving_roi, options.model, a_w,
                                options.polish_points);
  };
  // The polish starts from the refined alignment when the guard keeps it, which it nearly always
  // does: it is started from there while the guard scores the refinement, and thrown away when
  // the guard does not keep it.
  std::future<detail::PolishOutcome> polish_of_refined;
  cv::Matx23d refined_matrix;
  if (refined) {
    r.iterations = refined->iterations;
    r.metric = refined->metric;
    optimiser_stop = refined->stop_reason;
    if (!refined->ok) {
      r.refinement_note = "not kept: " + refined->stop_reason;
    } else {
      const cv::Matx23d candidate = To23(refined->fixed_to_moving.inv());
      if (options.polish) {
        refined_matrix = candidate;
        polish_of_refined = std::async(std::launch::async, polish_from, candidate);
      }
      const Score candidate_score = ScoreMatrix(q, candidate);
      const double moved =
          start.ok ? Residual(start, candidate).first - Residual(start, start.matrix).first : 0;
      std::ostringstream note;
      note.precision(4);
      if (moved > options.guard_px) {
        note << "not kept: moves matched features away by " << moved << " px (guard "
             << options.guard_px << " px)";
      } else if (candidate_score.quality < start_score.quality) {
        note << "not kept: quality " << candidate_score.quality << " below the start's "
             << start_score.quality;
      } else {
        note << "kept: quality " << start_score.quality << " -> " << candidate_score.quality;
        r.refined = true;
        r.matrix = candidate;
        score = candidate_score;
      }
      r.refinement_note = note.str();
    }

    if (options.polish && (r.refined || start.ok || !options.use_features)) {
      // The local score of the alignment before the polish, beside the polish.
      std::future<double> before_later = std::async(
          std::launch::async,
          [&q, &local_later, m = r.matrix] { return LocalScore(q, local_later.get(), m); });
      const bool from_refined =
          polish_of_refined.valid() && r.refined && r.matrix == refined_matrix;
      const detail::PolishOutcome polished =
          from_refined ? polish_of_refined.get() : polish_from(r.matrix);
      std::ostringstream note;
      note.precision(4);
      if (!polished.ok) {
        note << "not kept: " << polished.note;
      } else {
        const cv::Matx23d candidate =
            To23(q.fixed_to_full * polished.fixed_to_moving.inv() * q.moving_to_full.inv());
        std::future<Score> candidate_score_later =
            std::async(std::launch::async, [&q, candidate] { return ScoreMatrix(q, candidate); });
        const double moved =
            start.ok ? Residual(start, candidate).first - Residual(start, start.matrix).first : 0;
        const double after = LocalScore(q, local_later.get(), candidate);
        const double before = before_later.get();
        const Score candidate_score = candidate_score_later.get();
        if (moved > options.guard_px) {
          note << "not kept: moves matched features away by " << moved << " px";
        } else if (!(after > before)) {
          note << "not kept: local correlation " << after << " not above " << before;
        } else if (candidate_score.quality < (1 - kPolishQualitySlack) * score.quality) {
          note << "not kept: quality " << candidate_score.quality << " more than "
               << 100 * kPolishQualitySlack << " % below " << score.quality;
        } else {
          note << "kept: local correlation " << before << " -> " << after << ", quality "
               << score.quality << " -> " << candidate_score.quality;
          r.polished = true;
          r.matrix = candidate;
          score = candidate_score;
        }
        note << " (" << polished.iterations << " iterations, " << polished.points
             << " pixels, residual sigma " << polished.robust_sigma << ")";
      }
      r.iterations += polished.iterations;
      r.polish_note = note.str();
    }

    if (options.deformable && (r.refined || start.ok)) {
      const cv::Matx33d fixed_to_moving = To33(r.matrix).inv();
      const detail::DeformOutcome deformed =
          detail::RefineDeformable(pair, fixed_to_moving, options);
      r.iterations += deformed.iterations;
      if (!deformed.ok) {
        r.deformable_note = "not applied: " + deformed.stop_reason;
      } else {
        const cv::Mat map_q =
            FieldMap(deformed, fixed_to_moving, q.fixed.size(), q.fixed_to_full, q.moving_to_full);
        cv::Mat warped, warped_roi;
        cv::remap(q.moving, warped, map_q, cv::noArray(), cv::INTER_LINEAR, cv::BORDER_CONSTANT);
        cv::remap(q.moving_roi, warped_roi, map_q, cv::noArray(), cv::INTER_NEAREST,
                  cv::BORDER_CONSTANT);
        const Score deformed_score = ScoreWarped(q, warped, warped_roi);
        std::ostringstream note;
        note.precision(4);
        if (deformed_score.quality > score.quality) {
          note << "applied: quality " << score.quality << " -> " << deformed_score.quality;
          r.field = FieldMap(deformed, fixed_to_moving, baseline.image.full_size,
                             cv::Matx33d::eye(), cv::Matx33d::eye());
          r.deformable_applied = true;
          score = deformed_score;
        } else {
          note << "not applied: quality " << deformed_score.quality << " not above "
               << score.quality;
        }
        r.deformable_note = note.str();
      }
    } else if (options.deformable) {
      r.deformable_note = "not applied: no trusted linear alignment to start from";
    }
  }
  r.quality = score.quality;
  r.overlap_fraction = score.overlap;
  if (start.ok) r.feature_residual_px = Residual(start, r.matrix).second;

  // The verdict. Each failure names its cause; success names how the optimiser stopped.
  std::ostringstream why;
  why.precision(4);
  const bool have_start = start.ok || !options.use_features;
  const bool have_alignment = have_start || r.refined;
  if (!have_alignment) {
    why << "feature start failed: " << start.reason;
    if (options.refine && !r.refined) why << "; intensity refinement " << r.refinement_note;
  } else if (r.overlap_fraction < options.min_overlap) {
    why << "overlap " << r.overlap_fraction << " below " << options.min_overlap;
  } else if (r.quality <
             (start.ok ? options.min_quality
                       : std::max(options.min_quality, options.min_quality_without_features))) {
    why << "quality " << r.quality << " below "
        << (start.ok ? options.min_quality
                     : std::max(options.min_quality, options.min_quality_without_features));
    if (!start.ok && options.use_features) why << " (feature start failed: " << start.reason << ")";
  } else {
    r.converged = true;
    if (!start.ok && options.use_features) {
      why << "intensity-only alignment (feature start failed: " << start.reason << "); ";
    }
    why << start_note;
    why << (r.refined ? optimiser_stop : "feature start only (" + r.refinement_note + ")");
    if (r.polished) why << "; sub-pixel polish kept";
  }
  r.stop_reason = why.str();
  return r;
}

}  // namespace

const char* TransformModelName(TransformModel model) noexcept {
  switch (model) {
    case TransformModel::kRigid:
      return "rigid";
    case TransformModel::kSimilarity:
      return "similarity";
    case TransformModel::kAffine:
      return "affine";
  }
  return "unknown";
}

TransformModel ParseTransformModel(const std::string& text) {
  if (text == "rigid") return TransformModel::kRigid;
  if (text == "similarity") return TransformModel::kSimilarity;
  if (text == "affine") return TransformModel::kAffine;
  Bad("unknown transform model '" + text + "' (expected rigid, similarity or affine)");
}

void RegistrationOptions::Check() const {
  auto need = [](bool ok, const char* what) {
    if (!ok) Bad(std::string("registration option ") + what);
  };
  need(deformable_grid_px >= 16 && deformable_grid_px <= 4096,
       "deformable_grid_px must be in 16..4096");
  need(feature_long_side >= 64 && feature_long_side <= 8192,
       "feature_long_side must be in 64..8192");
  need(working_long_side >= 64 && working_long_side <= 8192,
       "working_long_side must be in 64..8192");
  need(histogram_bins >= 8 && histogram_bins <= 256, "histogram_bins must be in 8..256");
  need(levels >= 1 && levels <= 6, "levels must be in 1..6");
  need(max_iterations >= 1 && max_iterations <= 10000, "max_iterations must be in 1..10000");
  need(samples >= 256 && samples <= 10000000, "samples must be in 256..10000000");
  need(threads >= 0 && threads <= 256, "threads must be in 0..256");
  need(polish_points >= 1000 && polish_points <= 10000000,
       "polish_points must be in 1000..10000000");
  need(min_inliers >= 3, "min_inliers must be at least 3");
  need(guard_px > 0, "guard_px must be positive");
  need(min_quality >= 0 && min_quality <= 1, "min_quality must be in 0..1");
  need(min_quality_without_features >= 0 && min_quality_without_features <= 1,
       "min_quality_without_features must be in 0..1");
  need(min_overlap >= 0 && min_overlap <= 1, "min_overlap must be in 0..1");
  need(use_features || refine, "use_features and refine cannot both be off");
}

namespace {

template <typename Fn>
auto OpenCvAsInternal(Fn&& fn) {
  try {
    return fn();
  } catch (const cv::Exception& e) {
    throw Error(ErrorCode::kInternal, std::string("registration: OpenCV failed: ") + e.what());
  }
}

void CheckSameType(int baseline_type, int moving_type) {
  if (baseline_type == moving_type) return;
  Bad("baseline and moving images differ in type (" + std::to_string(CV_MAT_CN(baseline_type)) +
      " vs " + std::to_string(CV_MAT_CN(moving_type)) + " channels, depth " +
      std::to_string(CV_MAT_DEPTH(baseline_type)) + " vs " +
      std::to_string(CV_MAT_DEPTH(moving_type)) + ")");
}

void CheckPreparedWith(const PreparedCapture& c, const RegistrationOptions& options,
                       const char* what) {
  if (options.working_long_side != c.working_long_side ||
      options.feature_long_side != c.feature_long_side || options.use_features != c.use_features) {
    Bad(std::string("the ") + what +
        " was prepared with other working_long_side, feature_long_side or use_features options");
  }
}

// The checks of a registration to a prepared baseline, once both sides are prepared.
void CheckUse(const PreparedBaseline& baseline, const PreparedCapture& moving,
              const RegistrationOptions& options) {
  CheckSameType(baseline.image.type, moving.type);
  CheckPreparedWith(baseline.image, options, "baseline");
  CheckPreparedWith(moving, options, "capture");
  if (!options.fixed_mask.empty()) {
    Bad("fixed_mask belongs to PrepareBaseline, not to a registration with a prepared baseline");
  }
  CheckMask(options.moving_mask, moving.full_size, "moving_mask");
}

RegistrationResult Timed(const std::function<RegistrationResult()>& run) {
  const auto t0 = std::chrono::steady_clock::now();
  RegistrationResult r = OpenCvAsInternal(run);
  r.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  return r;
}

}  // namespace

std::shared_ptr<const PreparedBaseline> PrepareBaseline(const cv::Mat& baseline,
                                                        const RegistrationOptions& options) {
  options.Check();
  CheckImage(baseline, "baseline");
  CheckMask(options.fixed_mask, baseline.size(), "fixed_mask");
  return OpenCvAsInternal(
      [&] { return std::make_shared<const PreparedBaseline>(Prepare(baseline, options)); });
}

std::shared_ptr<const PreparedCapture> PrepareCapture(const cv::Mat& moving,
                                                      const RegistrationOptions& options) {
  options.Check();
  CheckImage(moving, "moving");
  return OpenCvAsInternal([&] {
    PreparedCapture c = PrepareImage(moving, options);
    if (options.use_features) c.all_features = Detect(c.feature8, cv::Mat());
    return std::make_shared<const PreparedCapture>(std::move(c));
  });
}

cv::Size PreparedSize(const PreparedBaseline& baseline) { return baseline.image.full_size; }

std::size_t PreparedBytes(const PreparedBaseline& b) {
  const auto bytes = [](const cv::Mat& m) { return m.total() * m.elemSize(); };
  return bytes(b.image.working) + bytes(b.working_mask) + bytes(b.working_roi) +
         bytes(b.image.feature8) + bytes(b.features.descriptors) +
         b.features.keypoints.size() * sizeof(cv::KeyPoint);
}

RegistrationResult RegisterToBaseline(const PreparedBaseline& baseline,
                                      const PreparedCapture& moving,
                                      const RegistrationOptions& options) {
  return Timed([&] {
    options.Check();
    CheckUse(baseline, moving, options);
    return Register(baseline, moving, options);
  });
}

RegistrationResult RegisterToBaseline(const PreparedBaseline& baseline, const cv::Mat& moving,
                                      const RegistrationOptions& options) {
  return Timed([&] {
    options.Check();
    CheckImage(moving, "moving");
    CheckSameType(baseline.image.type, moving.type());  // before the work of preparing it
    const PreparedCapture prepared = PrepareImage(moving, options);
    CheckUse(baseline, prepared, options);
    return Register(baseline, prepared, options);
  });
}

RegistrationResult RegisterToBaseline(const cv::Mat& baseline, const cv::Mat& moving,
                                      const RegistrationOptions& options) {
  return Timed([&] {
    options.Check();
    CheckImage(baseline, "baseline");
    CheckImage(moving, "moving");
    CheckSameType(baseline.type(), moving.type());
    CheckMask(options.fixed_mask, baseline.size(), "fixed_mask");
    CheckMask(options.moving_mask, moving.size(), "moving_mask");
    return Register(Prepare(baseline, options), PrepareImage(moving, options), options);
  });
}

namespace {
cv::Mat Warp(const cv::Mat& image, const RegistrationResult& result, int interpolation,
             const char* what) {
  if (image.empty()) Bad(std::string(what) + " to warp is empty");
  if (image.size() != result.moving_size) {
    Bad(std::string(what) + " to warp has size " + std::to_string(image.cols) + " x " +
        std::to_string(image.rows) + ", the registered moving image " +
        std::to_string(result.moving_size.width) + " x " +
        std::to_string(result.moving_size.height));
  }
  cv::Mat out;
  try {
    if (!result.field.empty()) {
      cv::remap(image, out, result.field, cv::noArray(), interpolation, cv::BORDER_CONSTANT);
    } else {
      cv::warpAffine(image, out, result.matrix, result.fixed_size, interpolation,
                     cv::BORDER_CONSTANT);
    }
  } catch (const cv::Exception& e) {
    Bad(std::string("cannot warp this ") + what + ": " + e.what());
  }
  return out;
}
}  // namespace

cv::Mat WarpImageToBaseline(const cv::Mat& image, const RegistrationResult& result) {
  return Warp(image, result, cv::INTER_LINEAR, "image");
}

cv::Mat WarpMaskToBaseline(const cv::Mat& mask, const RegistrationResult& result) {
  return Warp(mask, result, cv::INTER_NEAREST, "mask");
}

double NormalizedMutualInformation(const cv::Mat& a, const cv::Mat& b, const cv::Mat& mask,
                                   int bins) {
  if (a.empty() || b.empty() || a.size() != b.size()) Bad("NMI needs two images of one size");
  if (a.channels() != 1 || b.channels() != 1) Bad("NMI needs single-channel images");
  if (!mask.empty() && (mask.type() != CV_8UC1 || mask.size() != a.size())) {
    Bad("NMI mask must be CV_8UC1 of the images' size");
  }
  if (bins < 2 || bins > 1024) Bad("NMI bins must be in 2..1024");
  // The working copies are float already: no copy of them (three scores per registration).
  cv::Mat fa = a, fb = b;
  if (a.type() != CV_32F) a.convertTo(fa, CV_32F);
  if (b.type() != CV_32F) b.convertTo(fb, CV_32F);
  const cv::Mat m = mask.empty() ? cv::Mat(a.size(), CV_8UC1, cv::Scalar(255)) : mask;
  if (cv::countNonZero(m) < 64) return 0;
  double alo, ahi, blo, bhi;
  cv::minMaxLoc(fa, &alo, &ahi, nullptr, nullptr, m);
  cv::minMaxLoc(fb, &blo, &bhi, nullptr, nullptr, m);
  const double as = ahi > alo ? bins / (ahi - alo) * (1 - 1e-9) : 0;
  const double bs = bhi > blo ? bins / (bhi - blo) * (1 - 1e-9) : 0;
  std::vector<double> joint(static_cast<std::size_t>(bins) * bins, 0.0);
  double n = 0;
  for (int y = 0; y < a.rows; ++y) {
    const float* pa = fa.ptr<float>(y);
    const float* pb = fb.ptr<float>(y);
    const unsigned char* pm = m.ptr<unsigned char>(y);
    for (int x = 0; x < a.cols; ++x) {
      if (!pm[x]) continue;
      const int ia = std::min(bins - 1, static_cast<int>((pa[x] - alo) * as));
      const int ib = std::min(bins - 1, static_cast<int>((pb[x] - blo) * bs));
      joint[static_cast<std::size_t>(ia) * bins + ib] += 1;
      n += 1;
    }
  }
  std::vector<double> ma(bins, 0.0), mb(bins, 0.0);
  double hab = 0;
  for (int i = 0; i < bins; ++i) {
    for (int j = 0; j < bins; ++j) {
      const double p = joint[static_cast<std::size_t>(i) * bins + j] / n;
      ma[i] += p;
      mb[j] += p;
      if (p > 0) hab -= p * std::log(p);
    }
  }
  double ha = 0, hb = 0;
  for (int i = 0; i < bins; ++i) {
    if (ma[i] > 0) ha -= ma[i] * std::log(ma[i]);
    if (mb[i] > 0) hb -= mb[i] * std::log(mb[i]);
  }
  if (ha + hb <= 0) return 0;
  return std::clamp(2.0 * (ha + hb - hab) / (ha + hb), 0.0, 1.0);
}

}  // namespace skintrack::registration
