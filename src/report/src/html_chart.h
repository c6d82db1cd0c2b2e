// The SVG line chart of the HTML report (private to src/report).
#pragma once

#include <optional>
#include <string>
#include <utility>
#include <vector>

namespace skintrack::report::detail {

// A line chart of one series over the visits (`labels`; a missing value leaves a gap in the
// points), with optional dashed reference lines (name, value), as inline SVG.
std::string Chart(const std::string& title, const std::vector<std::string>& labels,
                  const std::vector<std::optional<double>>& values,
                  const std::vector<std::pair<std::string, double>>& references,
                  const std::string& unit);

}  // namespace skintrack::report::detail
