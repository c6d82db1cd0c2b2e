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

// The tone groups in the order summaries list them: the six ITA groups, lightest first, then
// the group of a photo whose tone cannot be read (SkinToneGroup).
inline constexpr const char* kToneGroups[] = {"very_light", "light", "intermediate", "tan",
                                              "brown",      "dark",  "uncertain"};
inline constexpr const char* kToneUncertain = kToneGroups[6];

// Normal skin photographed under neutral light is yellowish: median b* from 6.9 (a pale palm) to
// 50 on the 40 DermX psoriasis and vitiligo photos. Near b* = 0 the ITA swings across all six
// groups for a change of 1-2 units of b*, so below this the photo has a colour cast (a purple one
// made light skin read as ITA -80, "dark") and its tone is not read.
inline constexpr double kMinSkinYellowness = 5.0;

// Tone group of normal skin of median lightness `l_star` and yellowness `b_star`: ItaGroup of its
// ITA, or kToneUncertain when b_star < kMinSkinYellowness.
const char* SkinToneGroup(double l_star, double b_star) noexcept;

}  // namespace skintrack
