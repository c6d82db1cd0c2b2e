// Test support (issue 17): the throw-away PostgreSQL cluster of the PostgreSQL test variants, and
// a fresh database per test. Under ctest the cluster is the fixture `skintrack_pg` (started once
// by tests/support/pg_cluster.sh, its folder in SKINTRACK_TEST_PG_DIR); a test binary run by hand
// starts a private cluster with the same script and stops it at exit. When PostgreSQL is not
// installed the tests skip with the script's reason, unless SKINTRACK_REQUIRE_POSTGRES=1 (.ci/run)
// turns that into a failure.
//
// Needs storage/src on the include path (the private hook internal::ExecPostgres).
#pragma once

#include <gtest/gtest.h>
#include <unistd.h>

#include <atomic>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <mutex>
#include <sstream>
#include <string>

#include "pg_internal.h"

namespace skintrack::testing {

class PgCluster {
 public:
  static PgCluster& Get() {
    static PgCluster cluster;
    return cluster;
  }
  bool available() const { return !base_url_.empty(); }
  const std::string& why_unavailable() const { return reason_; }

  // The URL of a new, empty database of the cluster (created here; the cluster's removal drops
  // it). available() must be true.
  std::string CreateDatabase() {
    static std::atomic<int> counter{0};
    const std::string name = "t_" + std::to_string(::getpid()) + "_" + std::to_string(counter++);
    storage::internal::ExecPostgres(base_url_, "CREATE DATABASE " + name);
    return UrlOf(name);
  }

  PgCluster(const PgCluster&) = delete;
  PgCluster& operator=(const PgCluster&) = delete;

 private:
  PgCluster() {
    // NOLINTNEXTLINE(concurrency-mt-unsafe): read before any test starts a thread
    const char* fixture = std::getenv("SKINTRACK_TEST_PG_DIR");
    if (fixture && *fixture && Load(fixture)) return;
    // No (or no started) fixture: a private cluster for this process.
    dir_ = (std::filesystem::temp_directory_path() / ("skintrack-pg-" + std::to_string(::getpid())))
               .string();
    owned_ = true;
    if (Script("start") != 0 || !Load(dir_)) {
      reason_ = "could not start a PostgreSQL cluster in " + dir_ + " (see its server.log)";
    }
  }
  ~PgCluster() {
    if (owned_) Script("stop");
  }

  int Script(const char* action) const {
    const std::string command = std::string("bash ") + SKINTRACK_SOURCE_DIR +
                                "/tests/support/pg_cluster.sh " + action + " " + dir_ +
                                " >/dev/null";
    return std::system(command.c_str());  // NOLINT(concurrency-mt-unsafe): one thread, once
  }

  // Reads DIR/url or DIR/unavailable; false when the folder holds neither.
  bool Load(const std::string& dir) {
    auto slurp = [](const std::filesystem::path& path) {
      std::ifstream in(path);
      std::stringstream s;
      s << in.rdbuf();
      std::string text = s.str();
      while (!text.empty() && text.back() == '\n') text.pop_back();
      return text;
    };
    const std::filesystem::path root(dir);
    if (std::filesystem::exists(root / "url")) {
      dir_ = dir;
      base_url_ = slurp(root / "url");
      return true;
    }
    if (std::filesystem::exists(root / "unavailable")) {
      reason_ = slurp(root / "unavailable");
      return true;
    }
    return false;
  }

  // The base URL names database `postgres`: postgresql://skintrack@/postgres?host=DIR.
  std::string UrlOf(const std::string& database) const {
    const std::size_t slash = base_url_.find("/postgres?");
    return base_url_.substr(0, slash) + "/" + database + base_url_.substr(slash + 9);
  }

  std::string dir_;
  bool owned_ = false;
  std::string base_url_;
  std::string reason_;
};

// In a fixture's SetUp: the URL of a fresh database, or skips the test (fails it when
// SKINTRACK_REQUIRE_POSTGRES=1) when the cluster is unavailable. Returns "" after skipping.
inline std::string FreshPostgresDatabase() {
  PgCluster& cluster = PgCluster::Get();
  if (!cluster.available()) {
    // NOLINTNEXTLINE(concurrency-mt-unsafe): nothing sets the environment while tests run
    const char* require = std::getenv("SKINTRACK_REQUIRE_POSTGRES");
    if (require && std::string(require) == "1") {
      ADD_FAILURE() << "PostgreSQL required (SKINTRACK_REQUIRE_POSTGRES=1): "
                    << cluster.why_unavailable();
    }
    return "";
  }
  return cluster.CreateDatabase();
}

}  // namespace skintrack::testing
