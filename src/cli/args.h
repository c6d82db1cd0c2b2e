// Command-line options of one subcommand: `--name value`, `--name=value`, boolean `--flag`s and
// positional arguments. Every accessor validates; CheckNoneLeft() rejects options nobody asked
// for, so a typo is an error instead of a silently ignored setting.
#pragma once

#include <optional>
#include <set>
#include <string>
#include <vector>

namespace skintrack::cli {

class Args {
 public:
  // `argv` excludes the program and subcommand names. `flags` are the options that take no value.
  // `--help` or `-h` anywhere on the line asks for the command's usage (help_requested()) and
  // nothing else is parsed: `token create --help` must not fail on a missing value.
  // Throws Error(kInvalidArgument) on a value-taking option at the end of the line.
  Args(const std::vector<std::string>& argv, const std::set<std::string>& flags);

  bool help_requested() const { return help_requested_; }

  std::optional<std::string> Get(const std::string& name);
  std::string Require(const std::string& name);
  bool Flag(const std::string& name);
  // Integer or real values, checked to lie within [lo, hi].
  long long GetInt(const std::string& name, long long fallback, long long lo, long long hi);
  double GetDouble(const std::string& name, double fallback, double lo, double hi);
  const std::vector<std::string>& positional() const { return positional_; }

  // Throws Error(kInvalidArgument) naming the first option that was given but never read.
  void CheckNoneLeft() const;

 private:
  std::vector<std::pair<std::string, std::string>> options_;  // name without "--", value
  std::set<std::string> flags_given_;
  std::set<std::string> used_;
  std::vector<std::string> positional_;
  bool help_requested_ = false;
};

// Parses a whole decimal integer / real number; throws Error(kInvalidArgument) naming `what`.
long long ParseInt(const std::string& text, const std::string& what);
double ParseDouble(const std::string& text, const std::string& what);

}  // namespace skintrack::cli
