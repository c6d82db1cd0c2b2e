// Subcommands of the `skintrack` binary. Each lives in its own cmd_*.cpp and registers itself
// with a static SKINTRACK_COMMAND(...) object, so adding a command touches no shared file.
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
};

// Registers a command; returns true so that it can initialise a static. Duplicate names abort.
bool RegisterCommand(Command command);
const std::vector<Command>& Commands();

}  // namespace skintrack::cli
