// Runs the built `skintrack` binary as a child process and captures its exit code, standard
// output and standard error. For CLI contract tests (exit codes, messages, JSON).
#pragma once

#include <sys/wait.h>
#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>

namespace skintrack::testing {

struct CliResult {
  int exit_code = -1;
  std::string out;
  std::string err;
};

// `args` is passed to /bin/sh after the binary path, so quote paths with spaces yourself.
inline CliResult RunCli(const std::string& args) {
  namespace fs = std::filesystem;
  static int counter = 0;
  const fs::path dir = fs::temp_directory_path() / ("skintrack-cli-" + std::to_string(::getpid()) +
                                                    "-" + std::to_string(counter++));
  fs::create_directories(dir);
  const std::string out_file = (dir / "out").string();
  const std::string err_file = (dir / "err").string();
  const std::string command = std::string(SKINTRACK_BINARY) + " " + args + " >" + out_file + " 2>" +
                              err_file + " </dev/null";
  // std::system is not thread-safe (signal dispositions); the tests call it from one thread.
  const int status = std::system(command.c_str());  // NOLINT(concurrency-mt-unsafe)
  CliResult r;
  r.exit_code = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
  auto slurp = [](const std::string& path) {
    std::ifstream in(path, std::ios::binary);
    std::stringstream ss;
    ss << in.rdbuf();
    return ss.str();
  };
  r.out = slurp(out_file);
  r.err = slurp(err_file);
  fs::remove_all(dir);
  return r;
}

// A fresh empty directory under the system temp dir, removed by the destructor.
class TempDir {
 public:
  explicit TempDir(const std::string& tag = "t") {
    static int counter = 0;
    path_ =
        std::filesystem::temp_directory_path() /
        ("skintrack-" + tag + "-" + std::to_string(::getpid()) + "-" + std::to_string(counter++));
    std::filesystem::remove_all(path_);
    std::filesystem::create_directories(path_);
  }
  ~TempDir() {
    std::error_code ec;
    std::filesystem::remove_all(path_, ec);
  }
  TempDir(const TempDir&) = delete;
  TempDir& operator=(const TempDir&) = delete;
  const std::filesystem::path& path() const { return path_; }
  std::string str() const { return path_.string(); }

 private:
  std::filesystem::path path_;
};

}  // namespace skintrack::testing
