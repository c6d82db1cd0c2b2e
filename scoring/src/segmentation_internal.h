// Private pieces of the classical segmenters shared by their sources (skin.cpp,
// segmentation.cpp, psoriasis_edges.cpp): the reduced CIELAB copy and the skin mask at its size.
#pragma once

#include <algorithm>
#include <opencv2/core.hpp>

#include "skintrack/core/error.h"

namespace skintrack::scoring::detail {

inline void CheckImage(const cv::Mat& bgr) {
  if (bgr.empty() || bgr.type() != CV_8UC3) {
    throw Error(ErrorCode::kInvalidArgument,
                "segmentation needs a non-empty 8-bit 3-channel (BGR) image");
  }
}

inline int Longest(const cv::Mat& m) { return std::max(m.cols, m.rows); }

// Lab channels of the reduced copy, lightly smoothed so that sensor noise and pore-scale texture
// do not decide single pixels.
struct WorkLab {
  cv::Mat l, a, b;
};

WorkLab MakeWorkLab(const cv::Mat& work_bgr);

// Skin (lesions included) at the reduced size, CV_8UC1 0/255 (see SegmentSkin).
cv::Mat SkinAtWork(const WorkLab& w);

}  // namespace skintrack::scoring::detail
