// The SVG line chart of the HTML report (private to src/report).
#include "html_chart.h"

#include <algorithm>
#include <cstdio>
#include <sstream>

#include "text.h"

namespace skintrack::report::detail {

// A line chart of one series over the visits, with optional dashed reference lines.
std::string Chart(const std::string& title, const std::vector<std::string>& labels,
                  const std::vector<std::optional<double>>& values,
                  const std::vector<std::pair<std::string, double>>& references,
                  const std::string& unit) {
  const double w = 520, h = 220, left = 50, right = 20, top = 28, bottom = 36;
  double max_v = 0;
  for (const auto& v : values) {
    if (v) max_v = std::max(max_v, *v);
  }
  for (const auto& r : references) max_v = std::max(max_v, r.second);
  if (max_v <= 0) max_v = 1;
  max_v *= 1.1;
  const size_t n = labels.size();
  auto x = [&](size_t i) {
    return left + (n <= 1 ? 0.5 : double(i) / (n - 1)) * (w - left - right);
  };
  auto y = [&](double v) { return top + (1.0 - v / max_v) * (h - top - bottom); };
  std::ostringstream s;
  s << "<svg class=\"chart\" viewBox=\"0 0 " << w << " " << h << "\" role=\"img\" aria-label=\""
    << Escape(title) << "\"><text x=\"" << left << "\" y=\"18\" class=\"ct\">" << Escape(title)
    << " (" << Escape(unit) << ")</text>";
  for (int t = 0; t <= 4; ++t) {
    const double v = max_v * t / 4;
    char buf[32];
    std::snprintf(buf, sizeof buf, "%.1f", v);
    s << "<line x1=\"" << left << "\" x2=\"" << w - right << "\" y1=\"" << y(v) << "\" y2=\""
      << y(v) << "\" class=\"grid\"/><text x=\"" << left - 6 << "\" y=\"" << y(v) + 4
      << "\" class=\"yl\">" << buf << "</text>";
  }
  for (const auto& [name, v] : references) {
    s << "<line x1=\"" << left << "\" x2=\"" << w - right << "\" y1=\"" << y(v) << "\" y2=\""
      << y(v) << "\" class=\"ref\"/><text x=\"" << w - right << "\" y=\"" << y(v) - 4
      << "\" class=\"rl\">" << Escape(name) << "</text>";
  }
  std::string path;
  for (size_t i = 0; i < n; ++i) {
    s << "<text x=\"" << x(i) << "\" y=\"" << h - 14 << "\" class=\"xl\">" << Escape(labels[i])
      << "</text>";
    if (!values[i]) continue;
    path +=
        (path.empty() ? "M" : " L") + std::to_string(x(i)) + " " + std::to_string(y(*values[i]));
  }
  s << "<path d=\"" << path << "\" class=\"line\"/>";
  for (size_t i = 0; i < n; ++i) {
    if (values[i]) {
      s << "<circle cx=\"" << x(i) << "\" cy=\"" << y(*values[i]) << "\" r=\"4\" class=\"pt\"/>";
    }
  }
  s << "</svg>";
  return s.str();
}

}  // namespace skintrack::report::detail
