// skintrack: one binary, many subcommands (see command.h and the cmd_*.cpp files).
#include <malloc.h>
#include <unistd.h>  // environ

#include <exception>
#include <iostream>
#include <map>
#include <opencv2/core.hpp>
#include <string>
#include <vector>

#include "command.h"
#include "skintrack/core/error.h"
#include "skintrack/pipeline/results.h"
#include "skintrack/scoring/scores.h"
#include "skintrack/storage/repository.h"

namespace skintrack::cli {
namespace {

std::vector<Command>& Registry() {
  static std::vector<Command> registry;
  return registry;
}

void PrintHelp(std::ostream& out) {
  out << "usage: skintrack <command> [options]\n\ncommands:\n";
  for (const Command& c : Registry()) {
    out << "  " << c.name << std::string(c.name.size() < 12 ? 12 - c.name.size() : 1, ' ')
        << c.summary << "\n";
  }
  out << "\n`skintrack help <command>` or `skintrack <command> --help` shows a command's "
         "options;\n`skintrack --version` the version.\n";
}

// The process's SKINTRACK_* variables, for commands with configuration layers.
std::map<std::string, std::string> SkintrackEnvironment() {
  std::map<std::string, std::string> out;
  for (char** e = environ; e != nullptr && *e != nullptr; ++e) {
    const std::string entry(*e);
    const size_t eq = entry.find('=');
    if (eq != std::string::npos && entry.compare(0, 10, "SKINTRACK_") == 0) {
      out.emplace(entry.substr(0, eq), entry.substr(eq + 1));
    }
  }
  return out;
}

const Command* Find(const std::string& name) {
  for (const Command& c : Registry()) {
    if (c.name == name) return &c;
  }
  return nullptr;
}

}  // namespace

bool RegisterCommand(Command command) {
  if (Find(command.name) != nullptr) {
    std::cerr << "skintrack: command registered twice: " << command.name << "\n";
    std::abort();
  }
  Registry().push_back(std::move(command));
  return true;
}

const std::vector<Command>& Commands() { return Registry(); }

}  // namespace skintrack::cli

int main(int argc, char** argv) {
  using skintrack::cli::Find;
  std::vector<std::string> args(argv + 1, argv + argc);
  if (!args.empty() && (args[0] == "--version" || args[0] == "version")) {
    std::cout << "skintrack " << SKINTRACK_VERSION << " (pipeline "
              << skintrack::pipeline::kPipelineVersion << ", "
              << skintrack::scoring::kScoringVersion << ", database schema "
              << skintrack::storage::LatestSchemaVersion() << ")\n";
    return 0;
  }
  if (args.empty() || args[0] == "help" || args[0] == "--help" || args[0] == "-h") {
    if (args.size() >= 2) {
      if (const auto* c = Find(args[1])) {
        std::cout << c->usage;
        return 0;
      }
      std::cerr << "skintrack: unknown command '" << args[1] << "'\n";
      return 2;
    }
    skintrack::cli::PrintHelp(args.empty() ? std::cerr : std::cout);
    return args.empty() ? 2 : 0;
  }
  const auto* command = Find(args[0]);
  if (command == nullptr) {
    std::cerr << "skintrack: unknown command '" << args[0] << "' (try `skintrack help`)\n";
    return 2;
  }
  cv::setNumThreads(cv::getNumberOfCPUs());
  // Image work allocates and frees many buffers of tens of megabytes. glibc would hand each back
  // to the kernel (munmap) and fault every page in again on the next allocation; keeping them in
  // the heap halves the time of a 12 MP phantom (measured: docs/phantom.md).
  // mallopt is not thread-safe; no other thread exists yet.
  mallopt(M_MMAP_THRESHOLD, 256 * 1024 * 1024);  // NOLINT(concurrency-mt-unsafe)
  mallopt(M_TRIM_THRESHOLD, 512 * 1024 * 1024);  // NOLINT(concurrency-mt-unsafe)
  try {
    const std::vector<std::string> rest(args.begin() + 1, args.end());
    skintrack::cli::Args parsed(rest, command->flags);
    if (parsed.help_requested()) {
      std::cout << command->usage;
      return 0;
    }
    if (command->config_layers) parsed.UseConfigLayers(skintrack::cli::SkintrackEnvironment());
    return command->run(parsed, std::cout);
  } catch (const skintrack::Error& e) {
    std::cerr << "skintrack " << command->name << ": error (" << skintrack::ErrorCodeName(e.code())
              << "): " << e.what() << "\n";
    return e.code() == skintrack::ErrorCode::kInvalidArgument ? 2 : 1;
  } catch (const std::exception& e) {
    std::cerr << "skintrack " << command->name << ": internal error: " << e.what() << "\n";
    return 1;
  }
}
