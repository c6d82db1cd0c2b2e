#include "args.h"

#include <cerrno>
#include <cmath>
#include <cstdlib>

#include "skintrack/core/error.h"

namespace skintrack::cli {

Args::Args(const std::vector<std::string>& argv, const std::set<std::string>& flags) {
  for (const std::string& a : argv) {
    if (a == "--help" || a == "-h") {
      help_requested_ = true;
      return;
    }
  }
  for (size_t i = 0; i < argv.size(); ++i) {
    const std::string& a = argv[i];
    if (a.size() > 2 && a.compare(0, 2, "--") == 0) {
      std::string name = a.substr(2);
      const size_t eq = name.find('=');
      if (eq != std::string::npos) {
        options_.emplace_back(name.substr(0, eq), name.substr(eq + 1));
      } else if (flags.count(name) != 0) {
        flags_given_.insert(name);
      } else {
        if (i + 1 >= argv.size()) {
          throw Error(ErrorCode::kInvalidArgument, "option --" + name + " needs a value");
        }
        options_.emplace_back(name, argv[++i]);
      }
    } else {
      positional_.push_back(a);
    }
  }
}

std::optional<std::string> Args::Get(const std::string& name) {
  used_.insert(name);
  std::optional<std::string> value;
  for (const auto& [key, v] : options_) {
    if (key != name) continue;
    if (value) throw Error(ErrorCode::kInvalidArgument, "option --" + name + " given twice");
    value = v;
  }
  return value;
}

std::string Args::Require(const std::string& name) {
  auto v = Get(name);
  if (!v) throw Error(ErrorCode::kInvalidArgument, "missing required option --" + name);
  return *v;
}

bool Args::Flag(const std::string& name) {
  used_.insert(name);
  return flags_given_.count(name) != 0;
}

long long Args::GetInt(const std::string& name, long long fallback, long long lo, long long hi) {
  auto v = Get(name);
  if (!v) return fallback;
  const long long x = ParseInt(*v, "--" + name);
  if (x < lo || x > hi) {
    throw Error(ErrorCode::kInvalidArgument, "--" + name + " must be between " +
                                                 std::to_string(lo) + " and " + std::to_string(hi) +
                                                 ", got " + *v);
  }
  return x;
}

double Args::GetDouble(const std::string& name, double fallback, double lo, double hi) {
  auto v = Get(name);
  if (!v) return fallback;
  const double x = ParseDouble(*v, "--" + name);
  if (x < lo || x > hi) {
    throw Error(ErrorCode::kInvalidArgument, "--" + name + " must be between " +
                                                 std::to_string(lo) + " and " + std::to_string(hi) +
                                                 ", got " + *v);
  }
  return x;
}

void Args::CheckNoneLeft() const {
  for (const auto& [key, v] : options_) {
    if (used_.count(key) == 0) throw Error(ErrorCode::kInvalidArgument, "unknown option --" + key);
  }
  for (const auto& f : flags_given_) {
    if (used_.count(f) == 0) throw Error(ErrorCode::kInvalidArgument, "unknown option --" + f);
  }
}

long long ParseInt(const std::string& text, const std::string& what) {
  errno = 0;
  char* end = nullptr;
  const long long x = std::strtoll(text.c_str(), &end, 10);
  if (text.empty() || end != text.c_str() + text.size() || errno == ERANGE) {
    throw Error(ErrorCode::kInvalidArgument, what + " must be a whole number, got '" + text + "'");
  }
  return x;
}

double ParseDouble(const std::string& text, const std::string& what) {
  errno = 0;
  char* end = nullptr;
  const double x = std::strtod(text.c_str(), &end);
  if (text.empty() || end != text.c_str() + text.size() || errno == ERANGE || !std::isfinite(x)) {
    throw Error(ErrorCode::kInvalidArgument, what + " must be a number, got '" + text + "'");
  }
  return x;
}

}  // namespace skintrack::cli
