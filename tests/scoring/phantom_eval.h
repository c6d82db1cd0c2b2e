// Runs the classical segmenter + measurements on phantom visits and compares them with the
// phantom's truth. Shared by the quick unit test and the full eval sweep.
#pragma once

#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <vector>

#include "skintrack/phantom/phantom.h"
#include "skintrack/scoring/change.h"
#include "skintrack/scoring/measure.h"
#include "skintrack/scoring/segmentation.h"

namespace skintrack::scoring::testing {

struct PhantomCase {
  Condition condition;
  int fitzpatrick;
  int visit;
  double dice = 0, skin_dice = 0;
  double truth_fraction = 0, predicted_fraction = 0;  // of the true / predicted skin
  double area_error_points = 0;
  int erythema_truth = 0, erythema = 0, scaling_truth = 0, scaling = 0;
  double delta_a_truth = 0, delta_a = 0, scale_truth = 0, scale = 0;
  int level_truth = 0, level = 0;
  double depig_truth = 0, depig = 0;
  double uncertainty = 0;
};

// Segments and measures every visit of the phantom series `po` describes.
inline std::vector<PhantomCase> RunPhantomWith(const phantom::PhantomOptions& po) {
  const Condition condition = po.condition;
  const int fitzpatrick = po.fitzpatrick;
  const phantom::Series series = phantom::GeneratePhantom(po);
  ClassicalSegmenterOptions so;
  so.condition = condition;
  // For resolution experiments: SKINTRACK_WORK_SIZE=1600 runs the segmenter at full size.
  if (const char* w = std::getenv("SKINTRACK_WORK_SIZE")) so.work_max_side = std::atoi(w);
  const auto segmenter = MakeClassicalSegmenter(so);
  MeasureOptions mo;
  mo.condition = condition;
  std::vector<PhantomCase> out;
  for (const phantom::Visit& v : series.visits) {
    const Segmentation seg = segmenter->Segment(v.image);
    const Measurements m = Measure(v.image, seg, mo);
    PhantomCase c{condition, fitzpatrick, v.truth.index};
    const MaskAgreement a = CompareToTruth(seg.lesion_mask, v.lesion_mask);
    c.dice = a.dice;
    c.skin_dice = CompareToTruth(seg.skin_mask, v.skin_mask).dice;
    c.truth_fraction = v.truth.lesion_fraction;
    c.predicted_fraction = m.lesion_fraction;
    c.area_error_points = 100.0 * (m.lesion_fraction - v.truth.lesion_fraction);
    c.uncertainty = m.fraction_uncertainty ? 100.0 * *m.fraction_uncertainty : 0.0;
    if (condition == Condition::kPsoriasis) {
      c.erythema_truth = v.truth.erythema_grade;
      c.erythema = m.erythema.grade;
      c.delta_a_truth = v.truth.erythema_delta_a;
      c.delta_a = m.delta_a;
      c.scaling_truth = v.truth.scaling_grade;
      c.scaling = m.desquamation.grade;
      c.scale_truth = v.truth.scale_fraction;
      c.scale = m.scale_fraction;
    } else {
      c.level_truth = v.truth.depigmentation_level;
      c.level = m.depigmentation_level;
      c.depig_truth = 100.0 * v.truth.depigmentation;
      c.depig = m.depigmentation_percent;
    }
    out.push_back(c);
  }
  return out;
}

inline std::vector<PhantomCase> RunPhantom(Condition condition, int fitzpatrick, int visits,
                                           cv::Size size, std::uint64_t seed) {
  phantom::PhantomOptions po;
  po.condition = condition;
  po.fitzpatrick = fitzpatrick;
  po.visits = visits;
  po.size = size;
  po.seed = seed;
  return RunPhantomWith(po);
}

inline void PrintCase(const PhantomCase& c) {
  if (c.condition == Condition::kPsoriasis) {
    std::printf(
        "psoriasis FP%d v%d dice %.3f skin %.3f frac %.1f/%.1f err %+.2f pts (+-%.2f) | E %d/%d "
        "(da %.1f/%.1f) | D %d/%d (scale %.2f/%.2f)\n",
        c.fitzpatrick, c.visit, c.dice, c.skin_dice, 100 * c.predicted_fraction,
        100 * c.truth_fraction, c.area_error_points, c.uncertainty, c.erythema, c.erythema_truth,
        c.delta_a, c.delta_a_truth, c.scaling, c.scaling_truth, c.scale, c.scale_truth);
  } else {
    std::printf(
        "vitiligo  FP%d v%d dice %.3f skin %.3f frac %.1f/%.1f err %+.2f pts (+-%.2f) | level "
        "%d/%d (depig %.1f/%.1f %%)\n",
        c.fitzpatrick, c.visit, c.dice, c.skin_dice, 100 * c.predicted_fraction,
        100 * c.truth_fraction, c.area_error_points, c.uncertainty, c.level, c.level_truth, c.depig,
        c.depig_truth);
  }
}

// Steps between two VASI ladder levels (0/10/25/50/75/90/100).
inline int LadderSteps(int a, int b) {
  static const int kLevels[] = {0, 10, 25, 50, 75, 90, 100};
  int ia = 0, ib = 0;
  for (int i = 0; i < 7; ++i) {
    if (kLevels[i] == a) ia = i;
    if (kLevels[i] == b) ib = i;
  }
  return std::abs(ia - ib);
}

}  // namespace skintrack::scoring::testing
