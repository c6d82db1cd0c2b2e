// Fleiss' kappa and Krippendorff's alpha against the worked examples they were published with.
#include "skintrack/scoring/agreement.h"

#include <gtest/gtest.h>

#include "skintrack/core/error.h"

namespace skintrack::scoring {
namespace {

// Fleiss (1971), as reproduced in most textbooks: 10 subjects, 14 raters, 5 categories;
// P-bar 0.378, P-e 0.213, kappa 0.210.
TEST(AgreementTest, FleissKappaOfThePublishedExample) {
  const std::vector<std::vector<int>> counts = {
      {0, 0, 0, 0, 14}, {0, 2, 6, 4, 2}, {0, 0, 3, 5, 6}, {0, 3, 9, 2, 0}, {2, 2, 8, 1, 1},
      {7, 7, 0, 0, 0},  {3, 2, 6, 3, 0}, {2, 5, 3, 2, 2}, {6, 5, 2, 1, 0}, {0, 2, 2, 3, 7}};
  EXPECT_NEAR(FleissKappa(counts), 0.210, 0.0005);
}

TEST(AgreementTest, FleissKappaFromRatingsCountsCategories) {
  // Perfect agreement on varied categories is 1; raters that split every unit evenly between two
  // categories used equally often are below chance.
  EXPECT_DOUBLE_EQ(FleissKappa(RatingTable{{1, 1, 1}, {2, 2, 2}, {4, 4, 4}}), 1.0);
  EXPECT_LT(FleissKappa(RatingTable{{1, 2}, {2, 1}, {1, 2}, {2, 1}}), 0.0);
  EXPECT_THROW(FleissKappa(RatingTable{{1, 2}, {1, std::nullopt}}), Error);
  EXPECT_THROW(FleissKappa(std::vector<std::vector<int>>{{1, 1}, {2, 1}}), Error);
}

// Krippendorff (2011), "Computing Krippendorff's alpha-reliability", the example with missing
// data: 4 observers, 12 units; alpha nominal 0.743, ordinal 0.815, interval 0.849.
RatingTable KrippendorffExample() {
  const std::optional<double> _;
  const std::vector<std::vector<std::optional<double>>> by_observer = {
      {1, 2, 3, 3, 2, 1, 4, 1, 2, _, _, _},
      {1, 2, 3, 3, 2, 2, 4, 1, 2, 5, _, 3},
      {_, 3, 3, 3, 2, 3, 4, 2, 2, 5, 1, _},
      {1, 2, 3, 3, 2, 4, 4, 1, 2, 5, 1, _}};
  RatingTable by_unit(12, std::vector<std::optional<double>>(4));
  for (size_t o = 0; o < 4; ++o) {
    for (size_t u = 0; u < 12; ++u) by_unit[u][o] = by_observer[o][u];
  }
  return by_unit;
}

TEST(AgreementTest, KrippendorffAlphaOfThePublishedExample) {
  const RatingTable t = KrippendorffExample();
  EXPECT_NEAR(KrippendorffAlpha(t, AlphaMetric::kNominal), 0.743, 0.0005);
  EXPECT_NEAR(KrippendorffAlpha(t, AlphaMetric::kOrdinal), 0.815, 0.0005);
  EXPECT_NEAR(KrippendorffAlpha(t, AlphaMetric::kInterval), 0.849, 0.0005);
}

TEST(AgreementTest, KrippendorffAlphaEdgeCases) {
  EXPECT_DOUBLE_EQ(KrippendorffAlpha(RatingTable{{2, 2}, {2, 2}}, AlphaMetric::kNominal), 1.0);
  EXPECT_THROW(KrippendorffAlpha(RatingTable{{2, std::nullopt}}, AlphaMetric::kNominal), Error);
  EXPECT_THROW(KrippendorffAlpha(RatingTable{{1, 2}, {1}}, AlphaMetric::kNominal), Error);
}

TEST(AgreementTest, EachRaterAgainstTheOthers) {
  // Rater 3 disagrees on unit 2; rater 2 did not rate unit 3.
  const RatingTable t = {
      {1, 1, 1}, {2, 2, 3}, {4, std::nullopt, 4}, {5, std::nullopt, std::nullopt}};
  const auto a = AgreementWithOthers(t);
  ASSERT_EQ(a.size(), 3U);
  EXPECT_NEAR(*a[0], (1.0 + 0.5 + 1.0) / 3, 1e-12);
  EXPECT_NEAR(*a[1], (1.0 + 0.5) / 2, 1e-12);
  EXPECT_NEAR(*a[2], (1.0 + 0.0 + 1.0) / 3, 1e-12);
  EXPECT_FALSE(AgreementWithOthers(RatingTable{{1, std::nullopt}, {std::nullopt, 2}})[0]);
}

}  // namespace
}  // namespace skintrack::scoring
