// Internal pieces of the phantom generator: the body-part silhouette, noise fields and the
// series-level skin canvas. Not part of the public API.
#pragma once

#include <functional>
#include <opencv2/core.hpp>
#include <vector>

#include "rng.h"
#include "skintrack/core/body_sites.h"
#include "skintrack/phantom/phantom.h"

namespace skintrack::phantom::detail {

// Smooth value noise, roughly in [-1, 1]: a grid of random values with `cells` cells across the
// longer side of `size`, upsampled bicubically.
cv::Mat ValueNoise(cv::Size size, double cells, Rng& rng);
// Fractal sum of `octaves` value-noise layers, each twice as fine and half as strong.
cv::Mat Fbm(cv::Size size, double base_cells, int octaves, Rng& rng);

// Signed distance (pixels, negative inside) to the skin of a body part, in canvas coordinates.
using SdfFunction = std::function<double(double x, double y)>;

// A silhouette: its signed distance and the holes in it (eyes, mouth) that are not skin.
struct Silhouette {
  SdfFunction sdf;
  // Shading depth: how far inside the outline (pixels) the surface has turned to face the camera.
  double shading_depth = 100;
  // A dominant direction of the part (radians, canvas frame), for creases and hair.
  double axis_angle = 0;
  // Parts that are not skin but belong to the body (eyes, brows, lips), drawn over the background
  // inside the holes of the silhouette: signed distance and CIELAB colour.
  struct Feature {
    SdfFunction sdf;
    cv::Vec3d lab;
  };
  std::vector<Feature> features;
};

Silhouette MakeSilhouette(BodyShape shape, cv::Size frame, cv::Point2d offset, Rng& rng);

// Evaluates `sdf` on every canvas pixel (in parallel; each pixel independent, so deterministic).
cv::Mat EvaluateSdf(const SdfFunction& sdf, cv::Size canvas);

// The quantile of `values` (CV_32F) over the pixels where `mask` is non-zero: the threshold above
// which a fraction `fraction_above` of those pixels lie. Returns +inf for an empty mask.
float ThresholdForFraction(const cv::Mat& values, const cv::Mat& mask, double fraction_above);

// Smoothstep from 0 at `edge0` to 1 at `edge1`, element-wise, CV_32F.
cv::Mat SmoothStep(const cv::Mat& x, float edge0, float edge1);

}  // namespace skintrack::phantom::detail
