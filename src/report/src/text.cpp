#include "text.h"

#include <openssl/evp.h>

#include <cstdio>

#include "skintrack/core/error.h"
#include "skintrack/pipeline/time_format.h"

namespace skintrack::report::detail {

std::string Escape(const std::string& s) {
  std::string out;
  for (char c : s) {
    switch (c) {
      case '<':
        out += "&lt;";
        break;
      case '>':
        out += "&gt;";
        break;
      case '&':
        out += "&amp;";
        break;
      case '"':
        out += "&quot;";
        break;
      default:
        out.push_back(c);
    }
  }
  return out;
}

std::string Num(std::optional<double> value, int decimals) {
  if (!value) return kAbsent;
  char buf[32];
  std::snprintf(buf, sizeof buf, "%.*f", decimals, *value);
  return buf;
}

std::string CsvNum(std::optional<double> value, int decimals) {
  return value ? Num(value, decimals) : std::string();
}

std::string Join(const std::vector<std::string>& parts, const std::string& separator) {
  std::string out;
  for (const std::string& p : parts) out += (out.empty() ? "" : separator) + p;
  return out;
}

std::string Date(std::int64_t ms) { return pipeline::FormatRfc3339(ms).substr(0, 10); }

std::string Base64(const std::vector<unsigned char>& bytes) {
  std::string out(4 * ((bytes.size() + 2) / 3) + 1, '\0');
  const int n = EVP_EncodeBlock(reinterpret_cast<unsigned char*>(out.data()), bytes.data(),
                                static_cast<int>(bytes.size()));
  out.resize(static_cast<size_t>(n));
  return out;
}

}  // namespace skintrack::report::detail
