#include "skintrack/core/colour.h"

#include <cmath>
#include <opencv2/imgproc.hpp>

#include "skintrack/core/error.h"

namespace skintrack {

cv::Mat BgrToLab(const cv::Mat& bgr8) {
  if (bgr8.empty() || bgr8.type() != CV_8UC3) {
    throw Error(ErrorCode::kInvalidArgument, "BgrToLab needs a non-empty 8-bit 3-channel image");
  }
  cv::Mat bgr_float;
  bgr8.convertTo(bgr_float, CV_32F, 1.0 / 255.0);
  cv::Mat lab;
  cv::cvtColor(bgr_float, lab, cv::COLOR_BGR2Lab);
  return lab;
}

cv::Mat LabToBgrFloat(const cv::Mat& lab) {
  if (lab.empty() || lab.type() != CV_32FC3) {
    throw Error(ErrorCode::kInvalidArgument, "LabToBgrFloat needs a CV_32FC3 Lab image");
  }
  cv::Mat bgr;
  cv::cvtColor(lab, bgr, cv::COLOR_Lab2BGR);
  cv::min(bgr, 1.0, bgr);
  cv::max(bgr, 0.0, bgr);
  return bgr;
}

double ItaDegrees(double l_star, double b_star) noexcept {
  constexpr double kRadToDeg = 180.0 / 3.14159265358979323846;
  if (b_star > 0) return std::atan((l_star - 50.0) / b_star) * kRadToDeg;
  return std::atan2(l_star - 50.0, b_star) * kRadToDeg;
}

const char* ItaGroup(double ita) noexcept {
  constexpr double kLowerBounds[] = {55, 41, 28, 10, -30};  // of the first five groups
  for (int i = 0; i < 5; ++i)
    if (ita > kLowerBounds[i]) return kToneGroups[i];
  return kToneGroups[5];
}

const char* SkinToneGroup(double l_star, double b_star) noexcept {
  if (!(b_star >= kMinSkinYellowness)) return kToneUncertain;
  return ItaGroup(ItaDegrees(l_star, b_star));
}

}  // namespace skintrack
