// Subcommands of the `skintrack` binary. Each lives in its own cmd_*.cpp (src/CMakeLists.txt
// globs them) and registers itself from a namespace-scope initialiser,
//   const bool kRegistered = RegisterCommand({"name", "summary", kUsage, {flags}, RunName});
// so adding a command touches no shared file. The registry is a function-local static, so it
// exists before the first of these initialisers runs, whatever the order of the files.
#pragma once

#include <functional>
#include <iosfwd>
#include <set>
#include <string>
#include <vector>

#include "args.h"

namespace skintrack::cli {

struct Command {
  std::string name;             // e.g. "phantom"
  std::string summary;          // one line for `skintrack help`
  std::string usage;            // the synopsis and option list for `skintrack help NAME`
  std::set<std::string> flags;  // options that take no value
  // Runs the command; returns the process exit code. Throws skintrack::Error on bad input.
  std::function<int(Args& args, std::ostream& out)> run;
  // Takes options from SKINTRACK_* variables and a --config file too (Args::UseConfigLayers).
  // Off by default: a one-shot command should not change behaviour with the shell's environment,
  // and a service's configuration file holds keys that other commands do not take. The metadata
  // commands (token, patient, db) opt in to read a node's data-dir and database, and tolerate
  // serve's other keys in its file (ShareNodeConfigFile, data_dir.h).
  bool config_layers = false;
};

// Registers a command; returns true so that it can initialise a static. Duplicate names abort.
bool RegisterCommand(Command command);
const std::vector<Command>& Commands();

}  // namespace skintrack::cli
