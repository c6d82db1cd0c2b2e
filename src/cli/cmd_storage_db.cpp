// `skintrack db check|info --data-dir DIR [--database URL]`: consistency check and summary of a
// data directory and its database (the directory's SQLite file, or PostgreSQL).
#include <filesystem>
#include <nlohmann/json.hpp>
#include <ostream>

#include "command.h"
#include "data_dir.h"
#include "db_migrate.h"
#include "skintrack/core/error.h"
#include "skintrack/storage/store.h"

namespace skintrack::cli {
namespace {

const std::string kUsage =
    std::string(
        "usage: skintrack db check --data-dir DIR [--database URL [--blob-dir DIR]] [--no-hash]\n"
        "                          [--json]\n"
        "       skintrack db info --data-dir DIR [--database URL] [--json]\n") +
    kDbMigrateSynopsis +
    "  check   the database's integrity (SQLite: PRAGMA integrity_check; PostgreSQL: the rule\n"
    "          triggers present and enabled, the queue counters right), every referenced blob\n"
    "          present in DIR/blobs (and its SHA-256 right, unless --no-hash), no unreferenced\n"
    "          blob. Exit 0 when clean, 1 when not.\n"
    "  info    schema version, patients, work-queue counts (works beside a running server).\n" +
    kDbMigrateHelp +
    "check runs start-up clean-up first, so it fails while a server holds the directory.\n"
    "  --database URL  the PostgreSQL database DIR's node uses (postgresql://user@host:port/db,\n"
    "                  as `serve --database`) instead of DIR's SQLite file; check then needs an\n"
    "                  existing DIR, and reports blobs of rows other nodes have not committed yet\n"
    "                  as unreferenced: run it while no node ingests\n"
    "  --config FILE   data-dir and database from a node's configuration file (the one `serve\n"
    "                  --config` reads; its other serve keys are ignored here), also\n"
    "                  SKINTRACK_CONFIG, SKINTRACK_DATA_DIR and SKINTRACK_DATABASE. The command\n"
    "                  line wins.\n"
    "  --blob-dir DIR  with --database: the blob directory the nodes share (`serve --blob-dir`;\n"
    "                  also the configuration file's blob-dir) instead of DIR/blobs\n";

const char* BackendName(const std::string& database) {
  return database.empty() ? "sqlite" : "postgresql";
}

// The full check needs the directory to itself (it runs start-up clean-up first). On PostgreSQL
// the directory must exist, and the database is reached before the directory is opened: a wrong
// path or an unreachable server leaves nothing behind (Store::OpenDataDir creates DIR, its lock
// and node id).
int Check(const std::string& dir, const std::string& database, const std::string& blob_dir,
          bool no_hash, nlohmann::json& report) {
  storage::StoreOptions options;
  options.repository.database = database;
  options.blob_dir = blob_dir;
  options.Check();  // before anything is created: --blob-dir without --database is refused
  if (!database.empty()) {
    if (!std::filesystem::is_directory(dir)) {
      throw Error(ErrorCode::kNotFound, "no data directory " + dir);
    }
    const auto reachable = storage::OpenPostgresRepository(database, options.repository);
  }
  auto store = storage::Store::OpenDataDir(dir, options);
  const storage::RecoveryReport& recovery = store->last_recovery();
  const storage::CheckReport c = store->Check(!no_hash);
  report["schema_version"] = store->repository().SchemaVersion();
  report["startup_cleanup"] = {{"pending_markers", recovery.pending_markers},
                               {"orphan_blobs_removed", recovery.orphan_blobs_removed},
                               {"requeued_captures", recovery.requeued_captures}};
  report["ok"] = c.ok();
  report["integrity"] = c.integrity;
  report["referenced_blobs"] = c.referenced_blobs;
  report["stored_blobs"] = c.stored_blobs;
  report["hashes_verified"] = !no_hash;
  report["missing"] = c.missing;
  report["corrupt"] = c.corrupt;
  report["unreferenced"] = c.unreferenced;
  return c.ok() ? 0 : 1;
}

// Metadata only: works while a server owns the directory.
void Info(const std::string& dir, const std::string& database, nlohmann::json& report) {
  auto repo = OpenExistingMetadata(dir, database);
  const storage::QueueCounts q = repo->CountQueue();
  report["schema_version"] = repo->SchemaVersion();
  report["patients"] = repo->ListPatients().size();
  report["captures"] = {{"queued", q.queued},
                        {"processing", q.processing},
                        {"processed", q.processed},
                        {"failed", q.failed}};
}

int RunDb(Args& args, std::ostream& out) {
  ShareNodeConfigFile(args);
  if (!args.positional().empty() && args.positional()[0] == "migrate") {
    return RunDbMigrate(args, out);
  }
  if (args.positional().size() != 1 ||
      (args.positional()[0] != "check" && args.positional()[0] != "info")) {
    throw Error(ErrorCode::kInvalidArgument, "expected `db check`, `db info` or `db migrate`");
  }
  const bool check = args.positional()[0] == "check";
  const std::string dir = args.Require("data-dir");
  const std::string database = DatabaseOption(args);
  const std::string blob_dir = check ? args.Get("blob-dir").value_or("") : "";
  const bool json = args.Flag("json");
  const bool no_hash = check && args.Flag("no-hash");
  args.CheckNoneLeft();

  nlohmann::json report = {{"data_dir", dir}, {"database", BackendName(database)}};
  int exit_code = 0;
  if (check) {
    exit_code = Check(dir, database, blob_dir, no_hash, report);
  } else {
    Info(dir, database, report);
  }
  if (json) {
    out << report.dump(2) << "\n";
  } else {
    for (const auto& [key, value] : report.items()) out << key << ": " << value.dump() << "\n";
  }
  return exit_code;
}

const bool kRegistered =
    RegisterCommand({"db",
                     "check or summarise a data directory (integrity, blobs, queue)",
                     kUsage,
                     {"json", "no-hash", "verify-only"},
                     RunDb,
                     /*config_layers=*/true});

}  // namespace
}  // namespace skintrack::cli
