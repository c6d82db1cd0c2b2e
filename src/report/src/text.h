// Small text helpers shared by the report and the exports (private to src/report).
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

namespace skintrack::report::detail {

// HTML-escapes <, >, & and ".
std::string Escape(const std::string& text);
// The value with `decimals` decimals, or kAbsent when there is none.
inline constexpr char kAbsent[] = "&ndash;";
std::string Num(std::optional<double> value, int decimals = 2);
// Num() for CSV: empty instead of kAbsent.
std::string CsvNum(std::optional<double> value, int decimals);
// Joins `parts` with `separator`.
std::string Join(const std::vector<std::string>& parts, const std::string& separator);
// The YYYY-MM-DD of an RFC 3339 time of milliseconds since the epoch.
std::string Date(std::int64_t ms);
// Standard base64 with padding (OpenSSL).
std::string Base64(const std::vector<unsigned char>& bytes);

}  // namespace skintrack::report::detail
