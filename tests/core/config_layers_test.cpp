// Options from the command line, SKINTRACK_* variables and a `key = value` file (src/cli/args.h):
// the precedence, the errors naming FILE:LINE, and `skintrack serve --check-config` end to end.
#include <gtest/gtest.h>

#include <cstdlib>
#include <fstream>
#include <map>
#include <string>
#include <vector>

#include "../../src/cli/args.h"
#include "../support/run_cli.h"
#include "skintrack/core/error.h"

namespace skintrack {
namespace {

using cli::Args;
using testing::RunCli;
using testing::TempDir;

std::string WriteFile(const TempDir& dir, const std::string& text) {
  std::string path = (dir.path() / "skintrack.conf").string();
  std::ofstream(path) << text;
  return path;
}

// The message of the Error that `f` throws ("" when it throws none).
template <typename F>
std::string ErrorOf(F&& f) {
  try {
    f();
  } catch (const Error& e) {
    return e.what();
  }
  return "";
}

TEST(ConfigLayers, FlagsWinOverEnvironmentWhichWinsOverTheFile) {
  TempDir dir("conf");
  const std::string file = WriteFile(dir, "port = 1111\nbind = 10.0.0.1\ndata-dir = /from/file\n");
  Args args({"--config", file, "--port", "3333"}, {});
  args.UseConfigLayers({{"SKINTRACK_PORT", "2222"}, {"SKINTRACK_BIND", "127.0.0.2"}});
  EXPECT_EQ(args.GetInt("port", 8080, 0, 65535), 3333);        // flag
  EXPECT_EQ(args.Get("bind").value_or(""), "127.0.0.2");       // environment
  EXPECT_EQ(args.Get("data-dir").value_or(""), "/from/file");  // file
  EXPECT_EQ(args.GetInt("workers", 7, 0, 64), 7);              // default
  EXPECT_EQ(args.resolved().at("bind").origin, "SKINTRACK_BIND");
  EXPECT_EQ(args.resolved().at("data-dir").origin, file + ":3");
  EXPECT_NO_THROW(args.CheckNoneLeft());
}

TEST(ConfigLayers, ConfigFileFromTheEnvironmentAndCommentsAndBlankLines) {
  TempDir dir("conf");
  const std::string file =
      WriteFile(dir, "# defaults\n\n   # indented comment\r\n  workers   =   3  \r\nquiet = yes\n");
  Args args({}, {"quiet"});
  args.UseConfigLayers({{"SKINTRACK_CONFIG", file}});
  EXPECT_EQ(args.GetInt("workers", 1, 0, 64), 3);
  EXPECT_TRUE(args.Flag("quiet"));
  EXPECT_NO_THROW(args.CheckNoneLeft());
}

TEST(ConfigLayers, ABooleanFlagCanBeTurnedOffOnTheCommandLine) {
  TempDir dir("conf");
  const std::string file = WriteFile(dir, "quiet = true\n");
  Args off({"--config", file, "--quiet=false"}, {"quiet"});
  off.UseConfigLayers({});
  EXPECT_FALSE(off.Flag("quiet"));
  Args env({}, {"quiet"});
  env.UseConfigLayers({{"SKINTRACK_QUIET", "0"}, {"SKINTRACK_CONFIG", file}});
  EXPECT_FALSE(env.Flag("quiet"));
  Args bad({}, {"quiet"});
  bad.UseConfigLayers({{"SKINTRACK_QUIET", "maybe"}});
  EXPECT_NE(ErrorOf([&] { bad.Flag("quiet"); }).find("SKINTRACK_QUIET must be true or false"),
            std::string::npos);
}

TEST(ConfigLayers, AnEmptyVariableCountsAsUnset) {
  Args args({}, {});
  args.UseConfigLayers({{"SKINTRACK_PORT", ""}});
  EXPECT_EQ(args.GetInt("port", 8080, 0, 65535), 8080);
}

TEST(ConfigLayers, UnknownFileKeyNamesTheKeyAndFileLine) {
  TempDir dir("conf");
  const std::string file = WriteFile(dir, "port = 1\n# x\ncolour = red\n");
  Args args({"--config", file}, {});
  args.UseConfigLayers({});
  args.GetInt("port", 0, 0, 65535);
  const std::string message = ErrorOf([&] { args.CheckNoneLeft(); });
  EXPECT_NE(message.find("unknown key 'colour' at " + file + ":3"), std::string::npos) << message;
}

TEST(ConfigLayers, UnknownEnvironmentVariablesAreNotErrors) {
  Args args({}, {});
  args.UseConfigLayers({{"SKINTRACK_BUILD_DIR", "/tmp/b"}});
  EXPECT_NO_THROW(args.CheckNoneLeft());
}

TEST(ConfigLayers, MalformedLinesAreErrorsWithFileLine) {
  TempDir dir("conf");
  const std::vector<std::pair<std::string, std::string>> cases = {
      {"port 8080\n", ":1: expected `key = value`"},
      {"\n--port = 1\n", ":2: '--port' is not an option name"},
      {"Port = 1\n", ":1: 'Port' is not an option name"},
      {"port =\n", ":1: port has no value"},
      {"port = 1\nport = 2\n",
       ":2: port given twice (first at " + (dir.path() / "skintrack.conf").string() + ":1)"},
  };
  for (const auto& [text, expected] : cases) {
    const std::string file = WriteFile(dir, text);
    Args args({"--config", file}, {});
    const std::string message = ErrorOf([&] { args.UseConfigLayers({}); });
    EXPECT_NE(message.find(file + expected), std::string::npos) << text << " -> " << message;
  }
}

TEST(ConfigLayers, BadValuesNameWhereTheyCameFrom) {
  TempDir dir("conf");
  const std::string file = WriteFile(dir, "\nport = 99999\n");
  Args from_file({"--config", file}, {});
  from_file.UseConfigLayers({});
  EXPECT_NE(ErrorOf([&] {
              from_file.GetInt("port", 0, 0, 65535);
            }).find(file + ":2 must be between 0 and 65535"),
            std::string::npos);
  Args from_env({}, {});
  from_env.UseConfigLayers({{"SKINTRACK_PORT", "eighty"}});
  EXPECT_NE(ErrorOf([&] {
              from_env.GetInt("port", 0, 0, 65535);
            }).find("SKINTRACK_PORT must be a whole number"),
            std::string::npos);
}

TEST(ConfigLayers, AMissingFileIsAnError) {
  Args args({"--config", "/nonexistent/skintrack.conf"}, {});
  EXPECT_NE(ErrorOf([&] { args.UseConfigLayers({}); }).find("/nonexistent/skintrack.conf"),
            std::string::npos);
}

TEST(ConfigLayers, WithoutLayersEnvironmentAndConfigAreIgnored) {
  Args args({"--config", "x"}, {});
  EXPECT_EQ(args.Get("port"), std::nullopt);
  EXPECT_NE(ErrorOf([&] { args.CheckNoneLeft(); }).find("unknown option --config"),
            std::string::npos);
}

TEST(ConfigLayers, EnvironmentNames) {
  EXPECT_EQ(cli::EnvironmentName("data-dir"), "SKINTRACK_DATA_DIR");
  EXPECT_EQ(cli::EnvironmentName("max-json-body-kb"), "SKINTRACK_MAX_JSON_BODY_KB");
}

// --- the binary: `skintrack serve --check-config` resolves without opening the data directory.

TEST(ServeConfig, CheckConfigShowsTheWinningLayer) {
  TempDir dir("conf");
  const std::string file =
      WriteFile(dir, "data-dir = /from/file\nport = 1111\nworkers = 2\nbind = 127.0.0.3\n");
  const auto r = RunCli("serve --config " + file + " --check-config --port 3333");
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_NE(r.out.find("# from --port\nport = 3333\n"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("# from " + file + ":1\ndata-dir = /from/file\n"), std::string::npos)
      << r.out;
  // RunCli puts the binary first on its line: variables go through env(1) here.
  const std::string command = "env SKINTRACK_WORKERS=5 SKINTRACK_CONFIG=" + file + " " +
                              std::string(SKINTRACK_BINARY) + " serve --check-config";
  FILE* pipe = popen(command.c_str(), "r");
  ASSERT_NE(pipe, nullptr);
  std::string out;
  char buffer[4096];
  while (const size_t n = fread(buffer, 1, sizeof buffer, pipe)) out.append(buffer, n);
  ASSERT_EQ(pclose(pipe), 0);
  EXPECT_NE(out.find("# from SKINTRACK_WORKERS\nworkers = 5\n"), std::string::npos) << out;
  EXPECT_NE(out.find("# from " + file + ":2\nport = 1111\n"), std::string::npos) << out;
  EXPECT_NE(out.find("# from " + file + ":4\nbind = 127.0.0.3\n"), std::string::npos) << out;
}

TEST(ServeConfig, UnknownKeyFailsWithExitCode2) {
  TempDir dir("conf");
  const std::string file = WriteFile(dir, "port = 0\nworkerz = 2\n");
  const auto r = RunCli("serve --config " + file + " --data-dir " + dir.str() + "/d");
  EXPECT_EQ(r.exit_code, 2);
  EXPECT_NE(r.err.find("unknown key 'workerz' at " + file + ":2"), std::string::npos) << r.err;
  EXPECT_FALSE(std::filesystem::exists(dir.path() / "d"));  // failed before opening anything
}

TEST(ServeConfig, OtherCommandsDoNotTakeConfigFiles) {
  const auto r = RunCli("sites --config /etc/skintrack/skintrack.conf");
  EXPECT_EQ(r.exit_code, 2);
  EXPECT_NE(r.err.find("unknown option --config"), std::string::npos) << r.err;
}

}  // namespace
}  // namespace skintrack
