#include <gtest/gtest.h>

#include <algorithm>
#include <cctype>
#include <fstream>
#include <nlohmann/json.hpp>
#include <set>
#include <sstream>
#include <string>
#include <vector>

#include "../support/run_cli.h"

namespace skintrack {
namespace {

using skintrack::testing::RunCli;

TEST(Cli, NoCommandPrintsUsageAndFails) {
  auto r = RunCli("");
  EXPECT_EQ(r.exit_code, 2);
  EXPECT_NE(r.err.find("usage: skintrack"), std::string::npos);
}

TEST(Cli, UnknownCommandFails) {
  auto r = RunCli("frobnicate");
  EXPECT_EQ(r.exit_code, 2);
  EXPECT_NE(r.err.find("unknown command 'frobnicate'"), std::string::npos);
}

TEST(Cli, UnknownOptionIsAnError) {
  auto r = RunCli("sites --colour red");
  EXPECT_EQ(r.exit_code, 2);
  EXPECT_NE(r.err.find("unknown option --colour"), std::string::npos) << r.err;
}

TEST(Cli, SitesJsonListsCatalogue) {
  auto r = RunCli("sites --json");
  ASSERT_EQ(r.exit_code, 0) << r.err;
  auto j = nlohmann::json::parse(r.out);
  ASSERT_TRUE(j.is_array());
  bool face = false;
  for (const auto& s : j) face = face || (s["name"] == "face" && s["face"] == true);
  EXPECT_TRUE(face);
}

// The commands `skintrack help` lists, and for each the subcommands its usage names
// ("usage: skintrack token create ...", "       skintrack token list ..."), with the usage.
struct CommandLine {
  std::vector<std::string> words;
  std::string usage;
};

// Every lower-case word ([a-z][a-z-]*, ending at a non-word character) that directly follows
// `prefix` in `text`. Written out instead of std::regex: GCC 12 warns inside <regex> under the
// sanitizers (-Wmaybe-uninitialized, a false positive) and the build uses -Werror.
std::vector<std::string> WordsAfter(const std::string& text, const std::string& prefix) {
  std::vector<std::string> out;
  for (size_t at = text.find(prefix); at != std::string::npos; at = text.find(prefix, at + 1)) {
    size_t end = at + prefix.size();
    if (end >= text.size() || text[end] < 'a' || text[end] > 'z') continue;
    while (end < text.size() && ((text[end] >= 'a' && text[end] <= 'z') || text[end] == '-')) {
      ++end;
    }
    if (end < text.size() &&
        (std::isalnum(static_cast<unsigned char>(text[end])) != 0 || text[end] == '_')) {
      continue;
    }
    out.push_back(text.substr(at + prefix.size(), end - at - prefix.size()));
  }
  return out;
}

std::vector<CommandLine> EveryCommandLine() {
  const auto help = RunCli("help");
  EXPECT_EQ(help.exit_code, 0);
  std::vector<CommandLine> lines;
  std::istringstream list(help.out.substr(help.out.find("commands:")));
  std::string line;
  std::getline(list, line);
  while (std::getline(list, line) && line.rfind("  ", 0) == 0) {
    const std::string name = line.substr(2, line.find(' ', 2) - 2);
    const std::string usage = RunCli("help " + name).out;
    lines.push_back({{name}, usage});
    std::set<std::string> subs;
    for (const std::string& word : WordsAfter(usage, "skintrack " + name + " ")) subs.insert(word);
    for (const std::string& s : subs) lines.push_back({{name, s}, usage});
  }
  return lines;
}

TEST(Cli, EveryCommandAndSubcommandAnswersHelp) {
  const auto lines = EveryCommandLine();
  int subcommands = 0;
  for (const CommandLine& c : lines) {
    std::string line;
    for (const std::string& w : c.words) line += w + " ";
    std::vector<std::string> asks = {line + "--help"};
    if (c.words.size() == 2) {
      ++subcommands;
      // -h, and --help where a value is due ("option --help needs a value" before).
      asks.push_back(line + "-h");
      asks.push_back(line + "--data-dir x --label --help");
    }
    for (const std::string& ask : asks) {
      const auto r = RunCli(ask);
      EXPECT_EQ(r.exit_code, 0) << ask << ": " << r.err;
      EXPECT_EQ(r.out, c.usage) << ask;
      EXPECT_EQ(r.out.rfind("usage: skintrack " + c.words[0], 0), 0u) << ask << ": " << r.out;
    }
  }
  // The ones the issue named, so that a change of the usage text cannot empty the list.
  for (const std::vector<std::string>& named : {std::vector<std::string>{"token", "create"},
                                                {"token", "list"},
                                                {"token", "revoke"},
                                                {"patient", "add"},
                                                {"patient", "list"},
                                                {"db", "check"},
                                                {"model", "train"}}) {
    EXPECT_TRUE(std::any_of(lines.begin(), lines.end(),
                            [&](const CommandLine& c) { return c.words == named; }))
        << named[0] << " " << named[1];
  }
  EXPECT_GE(subcommands, 10);
}

TEST(Cli, VersionPrintsTheProjectVersion) {
  std::ifstream cmake(std::string(SKINTRACK_SOURCE_DIR) + "/CMakeLists.txt");
  std::stringstream text;
  text << cmake.rdbuf();
  const std::string cmake_text = text.str();
  const std::string key = "project(skintrack VERSION ";
  const size_t at = cmake_text.find(key);
  ASSERT_NE(at, std::string::npos);
  const size_t start = at + key.size();
  const std::string version =
      cmake_text.substr(start, cmake_text.find_first_not_of("0123456789.", start) - start);
  ASSERT_FALSE(version.empty());
  const auto r = RunCli("--version");
  EXPECT_EQ(r.exit_code, 0) << r.err;
  EXPECT_EQ(r.out.rfind("skintrack " + version + " ", 0), 0u) << r.out;
}

}  // namespace
}  // namespace skintrack
