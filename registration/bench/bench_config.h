// The options of registration_bench, parsed once in registration_bench.cpp (see its usage text).
#pragma once

#include <filesystem>
#include <opencv2/core.hpp>
#include <string>

#include "masks.h"
#include "skintrack/registration/registration.h"

namespace skintrack::bench {

struct BenchConfig {
  std::filesystem::path out_dir = "/tmp/skintrack-bench-reg";  // elastix files, overlays
  int series_per = 1;  // series per (Fitzpatrick type, condition, scenario)
  int visits = 3;      // visits per series: visits - 1 pairs
  cv::Size size{1633, 1225};
  long long seed0 = 100;  // seed of the first phantom; the next ones count up
  registration::RegistrationOptions options;
  MaskMode masks = MaskMode::kPipeline;
  bool elastix = false;
  bool elastix_mask = false;             // pass the fixed region of interest as -fMask
  long long elastix_pairs = 1LL << 30;   // elastix on the first N pairs of each scenario
  std::filesystem::path elastix_params;  // par_photo_rigid.txt, par_photo_affine.txt
  int big = 0;                           // 12 MP pairs to time
  std::filesystem::path real;            // *_A.png / *_B.png
  std::string only_scenario;             // empty: both
  bool verbose = false;
  bool real_only = false;
  double deformation = 0;  // > 0: only the non-rigid phantoms, this amplitude in pixels
};

}  // namespace skintrack::bench
