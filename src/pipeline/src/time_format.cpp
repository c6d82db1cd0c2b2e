#include "skintrack/pipeline/time_format.h"

#include <cstdio>
#include <ctime>

#include "skintrack/core/error.h"

namespace skintrack::pipeline {
namespace {

bool Digits(const std::string& s, size_t at, size_t n, int* out) {
  if (at + n > s.size()) return false;
  int v = 0;
  for (size_t i = at; i < at + n; ++i) {
    if (s[i] < '0' || s[i] > '9') return false;
    v = v * 10 + (s[i] - '0');
  }
  *out = v;
  return true;
}

}  // namespace

// The grammar is checked by hand (strptime accepts more than RFC 3339: single digits, spaces);
// the calendar arithmetic is timegm's.
std::int64_t ParseRfc3339(const std::string& text) {
  auto bad = [&]() {
    return Error(
        ErrorCode::kInvalidArgument,
        "'" + text.substr(0, 64) + "' is not an RFC 3339 time such as 2026-11-26T09:30:00Z");
  };
  int y, mo, d, h, mi, s;
  if (!Digits(text, 0, 4, &y) || text.size() < 20 || text[4] != '-' || !Digits(text, 5, 2, &mo) ||
      text[7] != '-' || !Digits(text, 8, 2, &d) || (text[10] != 'T' && text[10] != 't') ||
      !Digits(text, 11, 2, &h) || text[13] != ':' || !Digits(text, 14, 2, &mi) || text[16] != ':' ||
      !Digits(text, 17, 2, &s)) {
    throw bad();
  }
  static const int kDays[12] = {31, 29, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
  const bool leap = (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
  if (mo < 1 || mo > 12 || d < 1 || d > kDays[mo - 1] || (mo == 2 && d == 29 && !leap) || h > 23 ||
      mi > 59 || s > 60) {
    throw bad();
  }
  size_t i = 19;
  int millis = 0;
  if (i < text.size() && text[i] == '.') {
    ++i;
    int scale = 100, digits = 0;
    while (i < text.size() && text[i] >= '0' && text[i] <= '9') {
      millis += (text[i] - '0') * scale;
      scale /= 10;
      ++i;
      ++digits;
    }
    if (digits == 0) throw bad();
  }
  int offset_min = 0;
  if (i < text.size() && (text[i] == 'Z' || text[i] == 'z')) {
    ++i;
  } else if (i < text.size() && (text[i] == '+' || text[i] == '-')) {
    int oh, om;
    if (!Digits(text, i + 1, 2, &oh) || i + 3 >= text.size() || text[i + 3] != ':' ||
        !Digits(text, i + 4, 2, &om) || oh > 23 || om > 59) {
      throw bad();
    }
    offset_min = (text[i] == '+' ? 1 : -1) * (oh * 60 + om);
    i += 6;
  } else {
    throw bad();
  }
  if (i != text.size()) throw bad();
  std::tm tm{};
  tm.tm_year = y - 1900;
  tm.tm_mon = mo - 1;
  tm.tm_mday = d;
  tm.tm_hour = h;
  tm.tm_min = mi;
  tm.tm_sec = s == 60 ? 59 : s;  // a leap second reads as the second before it
  const std::int64_t secs = static_cast<std::int64_t>(timegm(&tm)) - std::int64_t{offset_min} * 60;
  return secs * 1000 + millis;
}

std::string FormatRfc3339(std::int64_t ms) {
  std::int64_t secs = ms / 1000;
  int millis = static_cast<int>(ms % 1000);
  if (millis < 0) {
    millis += 1000;
    --secs;
  }
  const std::time_t t = static_cast<std::time_t>(secs);
  std::tm tm{};
  if (gmtime_r(&t, &tm) == nullptr) {
    throw Error(ErrorCode::kInvalidArgument, "time out of range: " + std::to_string(ms) + " ms");
  }
  char buf[48];
  std::snprintf(buf, sizeof buf, "%04d-%02d-%02dT%02d:%02d:%02d.%03dZ", tm.tm_year + 1900,
                tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec, millis);
  return buf;
}

}  // namespace skintrack::pipeline
