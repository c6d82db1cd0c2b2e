#include "skintrack/scoring/agreement.h"

#include <algorithm>
#include <map>
#include <string>

#include "skintrack/core/error.h"

namespace skintrack::scoring {
namespace {

size_t CheckRectangular(const RatingTable& ratings) {
  if (ratings.empty()) throw Error(ErrorCode::kInvalidArgument, "no unit to measure agreement on");
  const size_t raters = ratings[0].size();
  for (size_t u = 0; u < ratings.size(); ++u) {
    if (ratings[u].size() != raters) {
      throw Error(ErrorCode::kInvalidArgument,
                  "unit " + std::to_string(u + 1) + " has " + std::to_string(ratings[u].size()) +
                      " raters' columns, unit 1 has " + std::to_string(raters));
    }
  }
  return raters;
}

// The squared distance between the values of index c and k under `metric`; `values` sorted,
// `totals` how often each value was paired (for the ordinal metric).
double Delta2(AlphaMetric metric, const std::vector<double>& values,
              const std::vector<double>& totals, size_t c, size_t k) {
  if (c == k) return 0;
  switch (metric) {
    case AlphaMetric::kNominal:
      return 1;
    case AlphaMetric::kInterval:
      return (values[c] - values[k]) * (values[c] - values[k]);
    case AlphaMetric::kOrdinal: {
      const size_t lo = std::min(c, k), hi = std::max(c, k);
      double between = 0;
      for (size_t g = lo; g <= hi; ++g) between += totals[g];
      const double d = between - (totals[lo] + totals[hi]) / 2;
      return d * d;
    }
  }
  return 1;
}

}  // namespace

double FleissKappa(const std::vector<std::vector<int>>& counts) {
  if (counts.empty()) throw Error(ErrorCode::kInvalidArgument, "no unit to measure agreement on");
  const size_t categories = counts[0].size();
  int raters = 0;
  for (int c : counts[0]) raters += c;
  if (raters < 2) throw Error(ErrorCode::kInvalidArgument, "Fleiss' kappa needs 2 raters a unit");
  std::vector<double> per_category(categories, 0);
  double agreement_sum = 0;
  for (size_t u = 0; u < counts.size(); ++u) {
    if (counts[u].size() != categories) {
      throw Error(ErrorCode::kInvalidArgument,
                  "unit " + std::to_string(u + 1) + " has another number of categories");
    }
    int n = 0;
    double same = 0;
    for (size_t c = 0; c < categories; ++c) {
      if (counts[u][c] < 0) throw Error(ErrorCode::kInvalidArgument, "a negative count");
      n += counts[u][c];
      same += static_cast<double>(counts[u][c]) * counts[u][c];
      per_category[c] += counts[u][c];
    }
    if (n != raters) {
      throw Error(ErrorCode::kInvalidArgument, "unit " + std::to_string(u + 1) + " has " +
                                                   std::to_string(n) + " ratings, unit 1 has " +
                                                   std::to_string(raters));
    }
    agreement_sum += (same - raters) / (static_cast<double>(raters) * (raters - 1));
  }
  const double units = static_cast<double>(counts.size());
  const double observed = agreement_sum / units;
  double expected = 0;
  for (double total : per_category) {
    const double p = total / (units * raters);
    expected += p * p;
  }
  if (expected >= 1.0) return 1.0;
  return (observed - expected) / (1.0 - expected);
}

double FleissKappa(const RatingTable& ratings) {
  CheckRectangular(ratings);
  std::map<double, size_t> category;
  for (const auto& unit : ratings) {
    for (const auto& r : unit) {
      if (!r) throw Error(ErrorCode::kInvalidArgument, "Fleiss' kappa needs every rating");
      category.emplace(*r, 0);
    }
  }
  size_t next = 0;
  for (auto& [value, index] : category) index = next++;
  std::vector<std::vector<int>> counts(ratings.size(), std::vector<int>(category.size(), 0));
  for (size_t u = 0; u < ratings.size(); ++u) {
    for (const auto& r : ratings[u]) ++counts[u][category.at(*r)];
  }
  return FleissKappa(counts);
}

double KrippendorffAlpha(const RatingTable& ratings, AlphaMetric metric) {
  CheckRectangular(ratings);
  std::vector<double> values;
  for (const auto& unit : ratings) {
    for (const auto& r : unit) {
      if (r) values.push_back(*r);
    }
  }
  std::sort(values.begin(), values.end());
  values.erase(std::unique(values.begin(), values.end()), values.end());
  const auto index = [&values](double v) {
    return static_cast<size_t>(std::lower_bound(values.begin(), values.end(), v) - values.begin());
  };
  // The coincidence matrix: every ordered pair of ratings within a unit, weighted 1 / (m - 1).
  const size_t k = values.size();
  std::vector<std::vector<double>> coincidence(k, std::vector<double>(k, 0));
  for (const auto& unit : ratings) {
    std::vector<size_t> in_unit;
    for (const auto& r : unit) {
      if (r) in_unit.push_back(index(*r));
    }
    if (in_unit.size() < 2) continue;
    const double weight = 1.0 / static_cast<double>(in_unit.size() - 1);
    for (size_t i = 0; i < in_unit.size(); ++i) {
      for (size_t j = 0; j < in_unit.size(); ++j) {
        if (i != j) coincidence[in_unit[i]][in_unit[j]] += weight;
      }
    }
  }
  std::vector<double> totals(k, 0);
  double n = 0;
  for (size_t c = 0; c < k; ++c) {
    for (size_t j = 0; j < k; ++j) totals[c] += coincidence[c][j];
    n += totals[c];
  }
  if (n < 2) throw Error(ErrorCode::kInvalidArgument, "fewer than 2 ratings can be paired");
  double observed = 0, expected = 0;
  for (size_t c = 0; c < k; ++c) {
    for (size_t j = 0; j < k; ++j) {
      const double d2 = Delta2(metric, values, totals, c, j);
      observed += coincidence[c][j] * d2;
      expected += totals[c] * totals[j] * d2;
    }
  }
  if (expected == 0) return 1.0;
  return 1.0 - (n - 1) * observed / expected;
}

std::vector<std::optional<double>> AgreementWithOthers(const RatingTable& ratings) {
  const size_t raters = CheckRectangular(ratings);
  std::vector<std::optional<double>> out(raters);
  for (size_t r = 0; r < raters; ++r) {
    double sum = 0;
    int units = 0;
    for (const auto& unit : ratings) {
      if (!unit[r]) continue;
      int others = 0, same = 0;
      for (size_t o = 0; o < raters; ++o) {
        if (o == r || !unit[o]) continue;
        ++others;
        same += *unit[o] == *unit[r] ? 1 : 0;
      }
      if (others == 0) continue;
      sum += static_cast<double>(same) / others;
      ++units;
    }
    if (units > 0) out[r] = sum / units;
  }
  return out;
}

}  // namespace skintrack::scoring
