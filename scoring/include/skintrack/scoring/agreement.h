// Agreement between annotators on labels and grades (image-level labels, severity 0-4 signs, skin
// type): Fleiss' kappa (Fleiss 1971) for a fixed number of raters per unit, Krippendorff's alpha
// (Krippendorff 2011, "Computing Krippendorff's alpha-reliability") for any number of raters with
// missing ratings, and each rater's agreement with the others. Mask agreement is consensus.h's.
#pragma once

#include <optional>
#include <vector>

namespace skintrack::scoring {

// Ratings by unit (a capture, a photo) and rater: `ratings[u][r]`, nullopt when rater r did not
// rate unit u. Categories are any numbers (category codes, grades).
using RatingTable = std::vector<std::vector<std::optional<double>>>;

enum class AlphaMetric {
  kNominal,   // categories: any disagreement counts the same
  kOrdinal,   // ranks: disagreement grows with the number of ratings between the two values
  kInterval,  // numbers: squared difference
};

// Fleiss' kappa from `counts[u][c]`, how many raters put unit u in category c. Every unit must
// have the same number of raters (at least 2) and every row the same number of categories.
// Throws Error(kInvalidArgument) otherwise, or when fewer than 1 unit is given. Returns 1 when
// every rating falls in one category (no disagreement is possible, none happened).
double FleissKappa(const std::vector<std::vector<int>>& counts);

// The same from a rating table whose units are all rated by all raters (category = value).
double FleissKappa(const RatingTable& ratings);

// Krippendorff's alpha over the units with at least 2 ratings. Throws Error(kInvalidArgument)
// when rows have different lengths or fewer than 2 ratings can be paired. Returns 1 when all
// paired ratings are equal (no expected disagreement).
double KrippendorffAlpha(const RatingTable& ratings, AlphaMetric metric);

// Per rater: the mean, over the units the rater rated together with at least one other rater, of
// the share of the other raters who gave the same value. nullopt for a rater who shares no unit.
std::vector<std::optional<double>> AgreementWithOthers(const RatingTable& ratings);

}  // namespace skintrack::scoring
