// Phantom sweep (label `eval`, about half a minute): both conditions on every Fitzpatrick type
// I-VI, four visits each at the phantom's default 1600 x 1200. Prints one row per visit, one per
// skin type and the summary against the targets (Dice >= 0.90 and |area error| <= 2
// points on every skin type, grades exact >= 80 % and within one 100 %, ladder within one step).
// It asserts the targets that are met (per skin type: mean Dice >= 0.90, |area error| <= 2
// points) and, per visit, floors set a little under the measured results (docs/scoring.md) so
// that a regression shows. Where a floor is below the target, the target is not met yet on every
// visit; the summary line says so.
#include <gtest/gtest.h>

#include <algorithm>
#include <vector>

#include "phantom_eval.h"

namespace skintrack::scoring {
namespace {

using testing::LadderSteps;
using testing::PhantomCase;
using testing::PrintCase;
using testing::RunPhantom;
using testing::RunPhantomWith;

// Floors from the measured sweep of 2026-12-01, segmenter 1.2 (psoriasis: Dice mean 0.957, min of
// a visit 0.850 (FP5's faint last visit), max |error| 0.60 pts, grades exact 42/48; vitiligo:
// Dice mean 0.947, min of a visit 0.903, max |error| 1.58 pts), with a little slack. Psoriasis
// 1.1 had 0.969 / 0.874 / 47 of 48: the plaque border test of 1.2 trims the faint last visits
// (and their flecks of scale). The per-skin-type targets are asserted as they are.
struct Floors {
  double mean_dice, min_dice, max_abs_err;
};
constexpr Floors kPsoriasisFloors{0.95, 0.84, 1.0};
constexpr Floors kVitiligoFloors{0.94, 0.89, 2.0};
constexpr double kTargetDice = 0.90;
// Hard cases, measured 2026-12-01 with segmenter 1.2 (see DiffuseErythemaAndExtensiveDisease):
// blotches + plaques Dice mean 0.823, min 0.191 (FP VI: plaques hardly redder than the blotches
// are lost with them); extensive disease mean 0.990, worst skin type 0.984, min 0.973.
constexpr double kBlotchPlaqueMeanFloor = 0.80;
constexpr double kBlotchPlaqueMinFloor = 0.17;
constexpr double kExtensiveTypeFloor = 0.95;
constexpr double kExtensiveMinFloor = 0.95;
constexpr double kTargetAbsErr = 2.0;

struct Totals {
  int n = 0, grade_n = 0, grade_exact = 0, grade_within_one = 0, ladder_within_one = 0;
  double min_dice = 1, max_abs_err = 0, sum_dice = 0;
};

void Add(Totals& t, const PhantomCase& c) {
  ++t.n;
  t.sum_dice += c.dice;
  // An empty truth (a fully cleared visit) has no Dice worth reporting; its area error counts.
  if (c.truth_fraction > 0) t.min_dice = std::min(t.min_dice, c.dice);
  t.max_abs_err = std::max(t.max_abs_err, std::abs(c.area_error_points));
  if (c.condition == Condition::kPsoriasis) {
    for (auto [g, truth] :
         {std::pair{c.erythema, c.erythema_truth}, {c.scaling, c.scaling_truth}}) {
      ++t.grade_n;
      t.grade_exact += g == truth;
      t.grade_within_one += std::abs(g - truth) <= 1;
    }
  } else {
    t.ladder_within_one += LadderSteps(c.level, c.level_truth) <= 1;
  }
}

TEST(PhantomSweep, AllSkinTypesBothConditions) {
  for (Condition cond : {Condition::kPsoriasis, Condition::kVitiligo}) {
    Totals t;
    std::vector<Totals> per_type;
    for (int fp = 1; fp <= 6; ++fp) {
      Totals ft;
      for (const PhantomCase& c : RunPhantom(cond, fp, 4, cv::Size(1600, 1200), 100 + fp)) {
        PrintCase(c);
        Add(t, c);
        Add(ft, c);
      }
      per_type.push_back(ft);
    }
    for (size_t i = 0; i < per_type.size(); ++i) {
      const Totals& ft = per_type[i];
      std::printf("%s FP%zu: Dice mean %.3f min %.3f, max |area error| %.2f pts\n",
                  ConditionName(cond), i + 1, ft.sum_dice / ft.n, ft.min_dice, ft.max_abs_err);
      // The targets, per skin type.
      EXPECT_GE(ft.sum_dice / ft.n, kTargetDice) << ConditionName(cond) << " FP" << i + 1;
      EXPECT_LE(ft.max_abs_err, kTargetAbsErr) << ConditionName(cond) << " FP" << i + 1;
    }
    std::printf("%s: %d visits, Dice mean %.3f min %.3f, max |area error| %.2f pts",
                ConditionName(cond), t.n, t.sum_dice / t.n, t.min_dice, t.max_abs_err);
    const Floors f = cond == Condition::kPsoriasis ? kPsoriasisFloors : kVitiligoFloors;
    if (cond == Condition::kPsoriasis) {
      std::printf(", grades exact %d/%d, within one %d/%d\n", t.grade_exact, t.grade_n,
                  t.grade_within_one, t.grade_n);
      EXPECT_GE(t.grade_exact, 0.85 * t.grade_n);
      EXPECT_EQ(t.grade_within_one, t.grade_n);
    } else {
      std::printf(", ladder within one step %d/%d\n", t.ladder_within_one, t.n);
      EXPECT_EQ(t.ladder_within_one, t.n);
    }
    std::printf("  every visit Dice >= 0.90: %s; every visit |area error| <= 2 pts: %s\n",
                t.min_dice >= kTargetDice ? "met" : "NOT met",
                t.max_abs_err <= kTargetAbsErr ? "met" : "NOT met");
    EXPECT_GE(t.sum_dice / t.n, f.mean_dice) << ConditionName(cond);
    EXPECT_GE(t.min_dice, f.min_dice) << ConditionName(cond);
    EXPECT_LE(t.max_abs_err, f.max_abs_err) << ConditionName(cond);
  }
}

// The classical segmenter's hard cases (issue 12): mild diffuse blotchy erythema (5 a* units,
// less visible on darker skin) without and with plaques, and extensive disease (plaques over 60 %
// of the skin at the baseline, thick scale included), every skin type, two visits each of a
// non-responder. Targets: blotches alone < 1 % of the skin on every visit; extensive disease
// Dice >= 0.85. Floors a little under the measured figures (docs/scoring.md) guard the rest.
enum class Hard { kBlotches, kBlotchesAndPlaques, kExtensive };

std::vector<PhantomCase> RunHard(Hard kind, int fp) {
  phantom::PhantomOptions po;
  po.fitzpatrick = fp;
  po.visits = 2;
  po.seed = 300 + fp;
  po.response = phantom::Response::kNonResponder;
  if (kind != Hard::kExtensive) po.diffuse_erythema = 5;
  if (kind == Hard::kBlotches) po.lesions = false;
  if (kind == Hard::kExtensive) po.lesion_coverage = 0.6;
  return testing::RunPhantomWith(po);
}

TEST(PhantomSweep, DiffuseErythemaAndExtensiveDisease) {
  const char* names[] = {"blotches only", "blotches + plaques", "extensive"};
  for (Hard kind : {Hard::kBlotches, Hard::kBlotchesAndPlaques, Hard::kExtensive}) {
    const char* name = names[static_cast<int>(kind)];
    Totals all;
    double max_fraction = 0;
    for (int fp = 1; fp <= 6; ++fp) {
      Totals ft;
      for (const PhantomCase& c : RunHard(kind, fp)) {
        std::printf("%-18s ", name);
        PrintCase(c);
        Add(all, c);
        Add(ft, c);
        max_fraction = std::max(max_fraction, c.predicted_fraction);
      }
      std::printf("%s FP%d: Dice mean %.3f min %.3f, max |area error| %.2f pts\n", name, fp,
                  ft.sum_dice / ft.n, ft.min_dice, ft.max_abs_err);
      if (kind == Hard::kExtensive) {
        EXPECT_GE(ft.sum_dice / ft.n, kExtensiveTypeFloor) << name << " FP" << fp;
      }
    }
    std::printf(
        "%s: %d visits, Dice mean %.3f min %.3f, max |area error| %.2f pts, largest "
        "lesion share %.2f %%\n",
        name, all.n, all.sum_dice / all.n, all.min_dice, all.max_abs_err, 100 * max_fraction);
    switch (kind) {
      case Hard::kBlotches:
        EXPECT_LT(max_fraction, 0.01);  // the target, on every visit
        break;
      case Hard::kBlotchesAndPlaques:
        EXPECT_GE(all.sum_dice / all.n, kBlotchPlaqueMeanFloor);
        EXPECT_GE(all.min_dice, kBlotchPlaqueMinFloor);
        break;
      case Hard::kExtensive:
        EXPECT_GE(all.sum_dice / all.n, 0.85);  // the target
        EXPECT_GE(all.min_dice, kExtensiveMinFloor);
        break;
    }
  }
}

}  // namespace
}  // namespace skintrack::scoring
