// Test support: the storage backends the storage suites run on, colmap-style (one suite per
// backend): a private in-memory store, a data directory (SQLite file + file blobs), and a data
// directory whose metadata lives in a fresh PostgreSQL database (issue 17; pg_cluster.h). A test
// file instantiates its TEST_P suites over AllBackends(); ctest runs the PostgreSQL instances as
// separate tests (label postgres) that need the cluster fixture (tests/CMakeLists.txt).
#pragma once

#include <memory>
#include <ostream>
#include <string>
#include <vector>

#include "pg_cluster.h"
#include "run_cli.h"
#include "skintrack/storage/store.h"

namespace skintrack::testing {

enum class Backend { kMemory, kFiles, kPostgres };

inline const char* BackendName(Backend b) {
  switch (b) {
    case Backend::kMemory:
      return "Memory";
    case Backend::kFiles:
      return "Files";
    case Backend::kPostgres:
      return "Postgres";
  }
  return "Unknown";
}

// Test names and gtest's messages print the name (not the enum's bytes).
inline void PrintTo(Backend b, std::ostream* os) { *os << BackendName(b); }

// For INSTANTIATE_TEST_SUITE_P's name generator.
struct BackendParamName {
  template <typename Info>
  std::string operator()(const Info& info) const {
    return BackendName(info.param);
  }
};

// Opens stores of one backend for one test; reopening keeps the data (the same directory, the
// same database), as a restart would.
class BackendFactory {
 public:
  explicit BackendFactory(Backend backend, const std::string& tag = "storage")
      : backend_(backend), dir_(tag) {}
  // Creates the PostgreSQL database; false when PostgreSQL is unavailable (skip the test).
  bool Prepare() {
    if (backend_ != Backend::kPostgres) return true;
    url_ = FreshPostgresDatabase();
    return !url_.empty();
  }
  std::string SkipReason() const { return PgCluster::Get().why_unavailable(); }
  std::unique_ptr<storage::Store> Open(storage::StoreOptions options) const {
    switch (backend_) {
      case Backend::kMemory:
        return storage::Store::OpenInMemory(options);
      case Backend::kFiles:
        return storage::Store::OpenDataDir(dir_.str(), options);
      case Backend::kPostgres:
        options.repository.database = url_;
        return storage::Store::OpenDataDir(dir_.str(), options);
    }
    return nullptr;
  }
  Backend backend() const { return backend_; }
  const TempDir& dir() const { return dir_; }
  const std::string& database_url() const { return url_; }

 private:
  Backend backend_;
  TempDir dir_;
  std::string url_;
};

}  // namespace skintrack::testing
