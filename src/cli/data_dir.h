// Opening a data directory from a CLI command that only touches metadata (tokens, patients).
#pragma once

#include <filesystem>
#include <memory>
#include <string>

#include "skintrack/storage/store.h"

namespace skintrack::cli {

// The repository of `dir`, usable while a server holds the directory (metadata only, see
// OpenDataDirRepository). A directory without a database yet is created through the Store.
struct MetadataAccess {
  std::unique_ptr<storage::Store> store;            // set when the directory was created here
  std::unique_ptr<storage::Repository> repository;  // set otherwise
  storage::Repository& get() { return store ? store->repository() : *repository; }
};

// `database`: empty for the data directory's SQLite file, or a PostgreSQL URL (--database).
inline MetadataAccess OpenMetadata(const std::string& dir, const std::string& database = "") {
  MetadataAccess access;
  if (!database.empty()) {
    access.repository = storage::OpenPostgresRepository(database);
  } else if (std::filesystem::exists(std::filesystem::path(dir) / "skintrack.db")) {
    access.repository = storage::OpenDataDirRepository(dir);
  } else {
    access.store = storage::Store::OpenDataDir(dir);
  }
  return access;
}

}  // namespace skintrack::cli
