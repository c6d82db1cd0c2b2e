// Small synthetic test scenes with exact answers: a sum of Gaussian blobs evaluated analytically
// at every pixel, so a "moving" view of the scene under a known transform is rendered without
// any interpolation error.
#pragma once

#include <cmath>
#include <cstdint>
#include <opencv2/core.hpp>
#include <vector>

namespace skintrack::testing {

struct Blob {
  double x, y, sigma, amplitude;
};

// `count` blobs spread over [-margin, w + margin] x [-margin, h + margin] of the scene frame.
inline std::vector<Blob> RandomBlobs(std::uint64_t seed, int count, cv::Size size,
                                     double min_sigma = 2.5, double max_sigma = 9.0) {
  cv::RNG rng(seed);
  std::vector<Blob> blobs;
  blobs.reserve(static_cast<std::size_t>(count));
  const double margin = 40;
  for (int i = 0; i < count; ++i) {
    blobs.push_back({rng.uniform(-margin, size.width + margin),
                     rng.uniform(-margin, size.height + margin), rng.uniform(min_sigma, max_sigma),
                     rng.uniform(-90.0, 90.0)});
  }
  return blobs;
}

// Renders the view whose pixel p shows scene point `to_scene` * p (a 2x3 map, cv::warpAffine
// convention): CV_8UC3 if `colour`, else CV_8UC1. Intensity gain / offset imitate lighting.
inline cv::Mat RenderScene(const std::vector<Blob>& blobs, cv::Size size,
                           const cv::Matx23d& to_scene, bool colour = true, double gain = 1.0,
                           double offset = 0.0) {
  cv::Mat grey(size, CV_64F, cv::Scalar(0));
  for (int y = 0; y < size.height; ++y) {
    double* row = grey.ptr<double>(y);
    for (int x = 0; x < size.width; ++x) {
      const double sx = to_scene(0, 0) * x + to_scene(0, 1) * y + to_scene(0, 2);
      const double sy = to_scene(1, 0) * x + to_scene(1, 1) * y + to_scene(1, 2);
      double v = 128;
      for (const Blob& b : blobs) {
        const double dx = sx - b.x, dy = sy - b.y;
        const double r2 = dx * dx + dy * dy;
        if (r2 < 25 * b.sigma * b.sigma) v += b.amplitude * std::exp(-r2 / (2 * b.sigma * b.sigma));
      }
      row[x] = v * gain + offset;
    }
  }
  cv::Mat out8;
  grey.convertTo(out8, CV_8U);
  if (!colour) return out8;
  cv::Mat channels[3] = {out8 * 0.8, out8, out8 * 0.9 + 10};
  cv::Mat out;
  cv::merge(channels, 3, out);
  return out;
}

// The 2x3 similarity that rotates by `deg` and scales by `scale` about `centre`, then shifts.
inline cv::Matx23d Similarity(double deg, double scale, cv::Point2d shift, cv::Point2d centre) {
  const double a = deg * CV_PI / 180.0;
  const double c = scale * std::cos(a), s = scale * std::sin(a);
  return cv::Matx23d(c, -s, centre.x - c * centre.x + s * centre.y + shift.x, s, c,
                     centre.y - s * centre.x - c * centre.y + shift.y);
}

// Mean and max distance between two 2x3 maps over a grid of the given size.
inline std::pair<double, double> MapError(const cv::Matx23d& a, const cv::Matx23d& b, cv::Size size,
                                          int step = 8) {
  double sum = 0, worst = 0;
  int n = 0;
  for (int y = 0; y < size.height; y += step) {
    for (int x = 0; x < size.width; x += step) {
      const double dx = (a(0, 0) - b(0, 0)) * x + (a(0, 1) - b(0, 1)) * y + (a(0, 2) - b(0, 2));
      const double dy = (a(1, 0) - b(1, 0)) * x + (a(1, 1) - b(1, 1)) * y + (a(1, 2) - b(1, 2));
      const double d = std::sqrt(dx * dx + dy * dy);
      sum += d;
      worst = std::max(worst, d);
      ++n;
    }
  }
  return {sum / n, worst};
}

}  // namespace skintrack::testing
