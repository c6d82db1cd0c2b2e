#include "skintrack/pipeline/time_format.h"

#include <gtest/gtest.h>

#include "skintrack/core/error.h"

namespace skintrack::pipeline {
namespace {

TEST(Rfc3339, ParsesFormatsAndRejects) {
  EXPECT_EQ(ParseRfc3339("1970-01-01T00:00:00Z"), 0);
  EXPECT_EQ(ParseRfc3339("2026-11-26T09:30:00.250Z"), 1795685400250);
  EXPECT_EQ(ParseRfc3339("2026-11-26T10:30:00+01:00"), ParseRfc3339("2026-11-26T09:30:00Z"));
  EXPECT_EQ(FormatRfc3339(1795685400250), "2026-11-26T09:30:00.250Z");
  EXPECT_EQ(ParseRfc3339(FormatRfc3339(1234567890123)), 1234567890123);
  EXPECT_EQ(ParseRfc3339("2024-02-29T00:00:00Z") + 86400000, ParseRfc3339("2024-03-01T00:00:00Z"));
  for (const char* bad :
       {"2026-11-26", "2026-13-01T00:00:00Z", "2025-02-29T00:00:00Z", "2026-11-26T24:00:00Z",
        "2026-11-26T09:30:00", "yesterday", "2026-11-26T09:30:00Zjunk", "2026-11-26T09:30:00.Z"}) {
    EXPECT_THROW(ParseRfc3339(bad), Error) << bad;
  }
}

TEST(Rfc3339, KeepsMillisecondsAndTimesBeforeTheEpoch) {
  EXPECT_EQ(FormatRfc3339(-1), "1969-12-31T23:59:59.999Z");
  EXPECT_EQ(ParseRfc3339("1969-12-31T23:59:59.999Z"), -1);
  EXPECT_EQ(ParseRfc3339("2026-11-26t09:30:00.25z"), 1795685400250);
  EXPECT_EQ(FormatRfc3339(ParseRfc3339("0001-01-01T00:00:00Z")), "0001-01-01T00:00:00.000Z");
  EXPECT_EQ(FormatRfc3339(ParseRfc3339("9999-12-31T23:59:59.999Z")), "9999-12-31T23:59:59.999Z");
  // A leap second reads as the second before it.
  EXPECT_EQ(ParseRfc3339("2016-12-31T23:59:60Z"), ParseRfc3339("2016-12-31T23:59:59Z"));
}

}  // namespace
}  // namespace skintrack::pipeline
