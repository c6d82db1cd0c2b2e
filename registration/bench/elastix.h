// Runs Debian's `elastix` (rigid -> affine, the parameter files in ../shared/elastix) on one pair,
// for the side-by-side comparison of registration_bench.
#pragma once

#include <filesystem>
#include <opencv2/core.hpp>
#include <string>

namespace skintrack::bench {

struct ElastixRun {
  bool ok = false;
  double seconds = 0, cpu_seconds = 0;  // wall and CPU time of the elastix process
  cv::Matx23d moving_to_fixed;          // inverse of affine(rigid(x)), full-resolution pixels
  std::string error;                    // why ok is false
};

// Writes the grey images (and `fixed_mask` as -fMask when not empty) to `dir` (emptied first),
// runs elastix with `threads` threads and reads its transform files back. A failing elastix is
// reported in the result, not thrown.
ElastixRun RunElastix(const cv::Mat& fixed_grey, const cv::Mat& moving_grey,
                      const cv::Mat& fixed_mask, const std::filesystem::path& dir,
                      const std::filesystem::path& params, int threads);

}  // namespace skintrack::bench
