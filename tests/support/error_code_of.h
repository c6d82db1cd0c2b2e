// The code of the skintrack::Error that `f` throws; a test failure (and kInternal) when it throws
// none. For the storage tests, which check error codes, not messages.
#pragma once

#include <gtest/gtest.h>

#include "skintrack/core/error.h"

namespace skintrack::testing {

template <typename F>
ErrorCode CodeOf(F&& f) {
  try {
    f();
  } catch (const Error& e) {
    return e.code();
  }
  ADD_FAILURE() << "no skintrack::Error thrown";
  return ErrorCode::kInternal;
}

}  // namespace skintrack::testing
