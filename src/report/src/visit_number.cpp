// VISITNUM from the visit labels (cohort.h): labels name planned visits ("week-8"), so their
// number comes from the label's time, and only labels without a schedule fall back to the date.
#include <algorithm>
#include <cctype>
#include <tuple>

#include "skintrack/report/cohort.h"

namespace skintrack::report {
namespace {

// Where a label sorts: (class, time or number within the class).
struct Rank {
  int klass = 0;
  double key = 0;
};

enum Class { kScreening, kBaseline, kScheduled, kVisitNumber, kFollowUp, kOther };

Rank RankOf(std::string label) {
  for (char& c : label) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  if (label == "screening") return {kScreening, 0};
  if (label == "baseline") return {kBaseline, 0};
  size_t digits = label.size();
  while (digits > 0 && std::isdigit(static_cast<unsigned char>(label[digits - 1]))) --digits;
  const std::string number = label.substr(digits);
  if (number.empty() || number.size() > 4) return {kOther, 0};
  std::string unit = label.substr(0, digits);
  if (!unit.empty() && (unit.back() == '-' || unit.back() == '_')) unit.pop_back();
  const double n = std::stod(number);
  if (unit == "day" || unit == "d") return {kScheduled, n};
  if (unit == "week" || unit == "wk" || unit == "w") return {kScheduled, 7 * n};
  if (unit == "month" || unit == "m") return {kScheduled, 30.4375 * n};
  if (unit == "visit" || unit == "v" || unit.empty()) return {kVisitNumber, n};
  if (unit == "fu") return {kFollowUp, n};
  return {kOther, 0};
}

}  // namespace

std::map<std::string, int> VisitNumbers(const std::vector<VisitOccurrence>& visits) {
  std::map<std::string, std::int64_t> earliest;
  for (const VisitOccurrence& v : visits) {
    auto [it, inserted] = earliest.emplace(v.label, v.date_ms);
    if (!inserted) it->second = std::min(it->second, v.date_ms);
  }
  struct Entry {
    Rank rank;
    std::int64_t date;
    std::string label;
  };
  std::vector<Entry> entries;
  entries.reserve(earliest.size());
  for (const auto& [label, date] : earliest) entries.push_back({RankOf(label), date, label});
  std::sort(entries.begin(), entries.end(), [](const Entry& a, const Entry& b) {
    // Other labels sort by date alone: their key is 0.
    return std::tie(a.rank.klass, a.rank.key, a.date, a.label) <
           std::tie(b.rank.klass, b.rank.key, b.date, b.label);
  });
  std::map<std::string, int> out;
  for (size_t i = 0; i < entries.size(); ++i) out[entries[i].label] = static_cast<int>(i) + 1;
  return out;
}

}  // namespace skintrack::report
