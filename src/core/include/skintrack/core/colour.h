// Colour conversions shared by the scorers and the phantom generator.
// Images are 8-bit BGR as OpenCV decodes them, assumed sRGB with a D65 white point.
#pragma once

#include <opencv2/core.hpp>

namespace skintrack {

// 8-bit BGR -> CV_32FC3 CIELAB with L* in [0, 100] and a*, b* in about [-128, 127].
// Throws Error(kInvalidArgument) unless the input is a non-empty CV_8UC3 image.
cv::Mat BgrToLab(const cv::Mat& bgr8);

// CV_32FC3 CIELAB -> CV_32FC3 BGR in [0, 1] (values outside the sRGB gamut are clipped).
cv::Mat LabToBgrFloat(const cv::Mat& lab);

// Individual typology angle in degrees, ITA = atan((L* - 50) / b*) * 180 / pi (SCORES.md).
// For b* <= 0 (not skin-like) the angle is taken from atan2 so that it stays finite.
double ItaDegrees(double l_star, double b_star) noexcept;

// Skin-tone group of an ITA angle: "very_light" (> 55), "light" (41-55], "intermediate" (28-41],
// "tan" (10-28], "brown" (-30-10], "dark" (<= -30).
const char* ItaGroup(double ita_degrees) noexcept;

}  // namespace skintrack
