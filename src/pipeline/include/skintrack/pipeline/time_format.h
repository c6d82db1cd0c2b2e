// RFC 3339 timestamps <-> milliseconds since the Unix epoch (UTC).
#pragma once

#include <cstdint>
#include <string>

namespace skintrack::pipeline {

// "2026-11-26T09:30:00Z", "2026-11-26T09:30:00.250+01:00", ... Throws Error(kInvalidArgument)
// naming the value for anything else (including impossible dates).
std::int64_t ParseRfc3339(const std::string& text);
// "2026-11-26T09:30:00.250Z" (always UTC, milliseconds). Error(kInvalidArgument) beyond the
// years gmtime_r can represent.
std::string FormatRfc3339(std::int64_t ms);

}  // namespace skintrack::pipeline
