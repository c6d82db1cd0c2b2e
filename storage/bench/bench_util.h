// Helpers shared by the storage benchmarks: options, percentiles, timing, scratch directories.
#pragma once

#include <time.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <filesystem>
#include <map>
#include <set>
#include <stdexcept>
#include <string>
#include <vector>

namespace skintrack::bench {

namespace fs = std::filesystem;
using Clock = std::chrono::steady_clock;

inline double Ms(Clock::duration d) { return std::chrono::duration<double, std::milli>(d).count(); }

inline double Percentile(std::vector<double> v, double p) {
  if (v.empty()) return 0;
  std::sort(v.begin(), v.end());
  const auto nearest = std::lround(p * static_cast<double>(v.size() - 1));
  const std::size_t i = std::min(v.size() - 1, static_cast<std::size_t>(nearest));
  return v[i];
}

inline double ThreadCpuMs() {
  timespec ts{};
  ::clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
  return static_cast<double>(ts.tv_sec) * 1e3 + static_cast<double>(ts.tv_nsec) / 1e6;
}

inline std::uintmax_t FileSize(const fs::path& p) {
  std::error_code ec;
  const auto size = fs::file_size(p, ec);
  return ec ? 0 : size;
}

inline std::uintmax_t DirBytes(const fs::path& dir, std::uintmax_t* files) {
  std::uintmax_t total = 0;
  *files = 0;
  for (const auto& e : fs::recursive_directory_iterator(dir)) {
    if (e.is_regular_file()) {
      total += e.file_size();
      ++*files;
    }
  }
  return total;
}

// `--name value` pairs of one subcommand. Unknown names and values that are not numbers where a
// number is expected are refused with the option's name (std::invalid_argument).
class Options {
 public:
  Options(int argc, char** argv, int first, const std::set<std::string>& known) {
    for (int i = first; i < argc; i += 2) {
      const std::string name = argv[i];
      if (name.rfind("--", 0) != 0 || known.count(name.substr(2)) == 0) {
        throw std::invalid_argument("unknown option " + name);
      }
      if (i + 1 >= argc) throw std::invalid_argument(name + " needs a value");
      values_[name.substr(2)] = argv[i + 1];
    }
  }
  // A positive integer (or `fallback` when absent).
  long long Int(const std::string& name, long long fallback) const {
    auto it = values_.find(name);
    if (it == values_.end()) return fallback;
    std::size_t used = 0;
    long long v = 0;
    try {
      v = std::stoll(it->second, &used);
    } catch (const std::exception&) {
      used = 0;
    }
    if (used != it->second.size() || v <= 0) {
      throw std::invalid_argument("--" + name + " must be a positive integer, not '" + it->second +
                                  "'");
    }
    return v;
  }
  std::string Str(const std::string& name) const {
    auto it = values_.find(name);
    return it == values_.end() ? "" : it->second;
  }

 private:
  std::map<std::string, std::string> values_;
};

// `given`, or a fresh directory under /tmp removed afterwards.
class WorkDir {
 public:
  explicit WorkDir(const std::string& given) {
    if (given.empty()) {
      path_ = fs::temp_directory_path() / ("skintrack-bench-" + std::to_string(::getpid()));
      owned_ = true;
      fs::remove_all(path_);
    } else {
      path_ = given;
    }
    fs::create_directories(path_);
  }
  ~WorkDir() {
    std::error_code ec;
    if (owned_) fs::remove_all(path_, ec);
  }
  WorkDir(const WorkDir&) = delete;
  WorkDir& operator=(const WorkDir&) = delete;
  const fs::path& path() const { return path_; }

 private:
  fs::path path_;
  bool owned_ = false;
};

}  // namespace skintrack::bench
