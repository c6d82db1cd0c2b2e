#include "time_format.h"

#include <cstdio>

#include "skintrack/core/error.h"

namespace skintrack::service {
namespace {

// Days since 1970-01-01 of a proleptic Gregorian date (era-based, valid for years 0..9999).
std::int64_t DaysFromCivil(int y, unsigned m, unsigned d) {
  y -= m <= 2 ? 1 : 0;
  const int era = y / 400;
  const unsigned yoe = static_cast<unsigned>(y - era * 400);
  const unsigned doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1;
  const unsigned doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
  return static_cast<std::int64_t>(era) * 146097 + static_cast<std::int64_t>(doe) - 719468;
}

void CivilFromDays(std::int64_t z, int* y, unsigned* m, unsigned* d) {
  z += 719468;
  const std::int64_t era = (z >= 0 ? z : z - 146096) / 146097;
  const unsigned doe = static_cast<unsigned>(z - era * 146097);
  const unsigned yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
  const unsigned doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
  const unsigned mp = (5 * doy + 2) / 153;
  *d = doy - (153 * mp + 2) / 5 + 1;
  *m = mp < 10 ? mp + 3 : mp - 9;
  *y = static_cast<int>(yoe) + static_cast<int>(era) * 400 + (*m <= 2 ? 1 : 0);
}

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
  const std::int64_t days = DaysFromCivil(y, static_cast<unsigned>(mo), static_cast<unsigned>(d));
  const std::int64_t secs = days * 86400 + h * 3600 + mi * 60 + std::min(s, 59) - offset_min * 60;
  return secs * 1000 + millis;
}

std::string FormatRfc3339(std::int64_t ms) {
  std::int64_t secs = ms / 1000;
  int millis = static_cast<int>(ms % 1000);
  if (millis < 0) {
    millis += 1000;
    --secs;
  }
  std::int64_t days = secs / 86400;
  std::int64_t rem = secs % 86400;
  if (rem < 0) {
    rem += 86400;
    --days;
  }
  int y;
  unsigned m, d;
  CivilFromDays(days, &y, &m, &d);
  char buf[40];
  std::snprintf(buf, sizeof buf, "%04d-%02u-%02uT%02d:%02d:%02d.%03dZ", y, m, d,
                static_cast<int>(rem / 3600), static_cast<int>(rem / 60 % 60),
                static_cast<int>(rem % 60), millis);
  return buf;
}

}  // namespace skintrack::service
