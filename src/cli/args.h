// Command-line options of one subcommand: `--name value`, `--name=value`, boolean `--flag`s and
// positional arguments. Every accessor validates; CheckNoneLeft() rejects options nobody asked
// for, so a typo is an error instead of a silently ignored setting.
//
// A command may also take its options from the environment and a configuration file
// (UseConfigLayers; docs/service.md "Configuration file and environment"): for an option not given
// on the command line, SKINTRACK_<NAME> (upper case, '-' as '_'), then the `key = value` file named
// by --config (or SKINTRACK_CONFIG), then the command's default. The file's keys are the long
// option names; a key no accessor asked for is an error naming it and its file:line.
#pragma once

#include <map>
#include <optional>
#include <set>
#include <string>
#include <vector>

namespace skintrack::cli {

// One option's value and where it came from: "--port", "SKINTRACK_PORT" or "FILE:LINE".
struct OptionValue {
  std::string text;
  std::string origin;
};

class Args {
 public:
  // `argv` excludes the program and subcommand names. `flags` are the options that take no value.
  // `--help` or `-h` anywhere on the line asks for the command's usage (help_requested()) and
  // nothing else is parsed: `token create --help` must not fail on a missing value.
  // Throws Error(kInvalidArgument) on a value-taking option at the end of the line.
  Args(const std::vector<std::string>& argv, const std::set<std::string>& flags);

  bool help_requested() const { return help_requested_; }

  // Adds the layers below the command line: `environment` holds the process's SKINTRACK_*
  // variables (name -> value); the file is --config's value, else SKINTRACK_CONFIG's, else none.
  // Throws Error(kInvalidArgument) naming FILE:LINE for a line that is not `key = value`, a key
  // that is not an option name, a key given twice or an empty value; Error(kIo) for an unreadable
  // file. Call once, before any accessor.
  void UseConfigLayers(const std::map<std::string, std::string>& environment);

  std::optional<std::string> Get(const std::string& name);
  // As Get, with the value's origin (for messages that name where a bad value came from).
  std::optional<OptionValue> GetWithOrigin(const std::string& name);
  std::string Require(const std::string& name);
  // A flag given as `--name` (or `--name=true|false`), else its environment variable or file key
  // with a value true/false/yes/no/on/off/1/0; Error(kInvalidArgument) for any other value.
  bool Flag(const std::string& name);
  // Integer or real values, checked to lie within [lo, hi].
  long long GetInt(const std::string& name, long long fallback, long long lo, long long hi);
  double GetDouble(const std::string& name, double fallback, double lo, double hi);
  const std::vector<std::string>& positional() const { return positional_; }

  // The options read so far that had a value (from any layer), by name: what a command would
  // run with, for `--check-config`.
  const std::map<std::string, OptionValue>& resolved() const { return resolved_; }

  // Configuration file keys that another command reading the same file takes (a node's file,
  // shared by `serve` and the metadata commands): CheckNoneLeft does not refuse them unread. Only
  // the file's keys: such an option on the command line stays an error.
  void TolerateFileKeys(const std::set<std::string>& keys) { tolerated_file_keys_ = keys; }

  // Throws Error(kInvalidArgument) naming the first option that was given but never read, or the
  // first configuration file key never read (with its FILE:LINE) and not tolerated.
  void CheckNoneLeft() const;

 private:
  struct FileEntry {
    std::string value;
    std::string origin;  // FILE:LINE
  };
  void ReadConfigFile(const std::string& path);
  // One trimmed line of the file; `origin` is FILE:LINE.
  void AddConfigLine(const std::string& text, const std::string& origin);

  std::vector<std::pair<std::string, std::string>> options_;  // name without "--", value
  std::set<std::string> flags_given_;
  std::set<std::string> used_;
  std::vector<std::string> positional_;
  bool help_requested_ = false;
  bool layered_ = false;
  std::map<std::string, std::string> environment_;  // SKINTRACK_* variables
  std::map<std::string, FileEntry> file_;           // key -> value, origin
  std::map<std::string, OptionValue> resolved_;
  std::set<std::string> tolerated_file_keys_;
};

// The environment variable of option `name`: SKINTRACK_ + upper case, '-' as '_'.
std::string EnvironmentName(const std::string& name);
// Parses a whole decimal integer / real number; throws Error(kInvalidArgument) naming `what`.
long long ParseInt(const std::string& text, const std::string& what);
double ParseDouble(const std::string& text, const std::string& what);

}  // namespace skintrack::cli
