// A concrete request path for a route pattern of the router's table, shared by the tests that
// walk every route (the gate test and the OpenAPI contract test).
#pragma once

#include <string>

namespace skintrack::service {

// Every {placeholder} becomes "1": an unknown id, which the handler answers with 404 or 400 after
// authorising and which changes nothing; the gate looks at the role only.
inline std::string PathFor(const std::string& pattern) {
  std::string out;
  for (size_t i = 0; i < pattern.size(); ++i) {
    if (pattern[i] == '{') {
      out += "1";
      i = pattern.find('}', i);
    } else {
      out += pattern[i];
    }
  }
  return out;
}

}  // namespace skintrack::service
