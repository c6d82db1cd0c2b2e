// Quick phantom check (unit): small phantoms of a light and a dark skin type, both conditions.
// The full sweep over Fitzpatrick I-VI at full size is phantom_sweep_test (label eval).
#include <gtest/gtest.h>

#include "phantom_eval.h"

namespace skintrack::scoring {
namespace {

TEST(PhantomQuick, BothConditionsLightAndDark) {
  for (Condition cond : {Condition::kPsoriasis, Condition::kVitiligo}) {
    for (int fp : {2, 5}) {
      const auto cases = testing::RunPhantom(cond, fp, 2, cv::Size(800, 600), 7 + fp);
      for (const testing::PhantomCase& c : cases) {
        testing::PrintCase(c);
        EXPECT_GT(c.dice, 0.8) << ConditionName(cond) << " FP" << fp << " visit " << c.visit;
        EXPECT_LT(std::abs(c.area_error_points), 4.0);
        EXPECT_GT(c.skin_dice, 0.95);
        if (cond == Condition::kPsoriasis) {
          EXPECT_LE(std::abs(c.erythema - c.erythema_truth), 1);
          EXPECT_LE(std::abs(c.scaling - c.scaling_truth), 1);
        } else {
          EXPECT_LE(testing::LadderSteps(c.level, c.level_truth), 1);
        }
      }
    }
  }
}

}  // namespace
}  // namespace skintrack::scoring
