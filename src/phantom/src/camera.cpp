// The camera of each visit: pose (similarity, tilt, deformation) and its affine fit, lighting,
// white balance, blur and noise, and the measured ITA of the baseline photo.
#include <algorithm>
#include <cmath>
#include <opencv2/imgproc.hpp>

#include "generator.h"
#include "skintrack/core/colour.h"

namespace skintrack::phantom::detail {

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

}  // namespace skintrack::phantom::detail
