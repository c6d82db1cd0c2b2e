// Opening a data directory from a CLI command that only touches metadata (tokens, patients, db).
#pragma once

#include <filesystem>
#include <memory>
#include <set>
#include <sstream>
#include <string>

#include "args.h"
#include "command.h"
#include "skintrack/core/error.h"
#include "skintrack/storage/store.h"

namespace skintrack::cli {

// The option names of `serve`, read from its usage text (the lines "  --name ..."), so that a new
// serve option needs no second list here. Empty if no serve command is registered.
inline std::set<std::string> ServeOptionNames() {
  std::set<std::string> names;
  for (const Command& c : Commands()) {
    if (c.name != "serve") continue;
    std::istringstream lines(c.usage);
    for (std::string line; std::getline(lines, line);) {
      if (line.rfind("  --", 0) != 0) continue;
      const std::size_t end = line.find(' ', 4);
      names.insert(line.substr(4, end == std::string::npos ? std::string::npos : end - 4));
    }
  }
  return names;
}

// The metadata commands (token, patient, db) take a node's configuration file, the one its
// `serve --config` reads, for its data-dir and database: the file's other keys are serve's
// (port, workers, ...) and not errors here. A key that is an option of neither stays an error,
// so a misspelt `databse` is not silently ignored (which would send the command to the SQLite
// file instead of the cluster).
inline void ShareNodeConfigFile(Args& args) { args.TolerateFileKeys(ServeOptionNames()); }

// --database (also SKINTRACK_DATABASE, or the config file's `database`): empty for the data
// directory's SQLite file, else a PostgreSQL URL. Error(kInvalidArgument) naming where a value
// that is not postgresql://... came from, before anything is opened or created. The URL itself
// is not repeated: it may hold a password.
inline std::string DatabaseOption(Args& args) {
  const auto value = args.GetWithOrigin("database");
  if (!value || value->text.empty()) return "";
  if (!storage::IsPostgresUrl(value->text)) {
    throw Error(ErrorCode::kInvalidArgument,
                value->origin +
                    " must be a PostgreSQL URL, postgresql://[user@]host[:port]/dbname (without "
                    "it the data directory's SQLite file is used)");
  }
  return value->text;
}

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

// The repository of an existing database only: Error(kNotFound) for a data directory without
// one or a PostgreSQL database without the skintrack schema (nothing is created), the
// PostgreSQL database when `database` is set.
inline std::unique_ptr<storage::Repository> OpenExistingMetadata(const std::string& dir,
                                                                 const std::string& database) {
  storage::RepositoryOptions options;
  options.database = database;
  options.create_schema = false;  // a wrong URL must not get a skintrack schema
  return storage::OpenDataDirRepository(dir, options);
}

}  // namespace skintrack::cli
