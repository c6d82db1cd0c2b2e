// `skintrack db check|info --data-dir DIR`: consistency check and summary of a data directory.
#include <nlohmann/json.hpp>
#include <ostream>

#include "command.h"
#include "db_migrate.h"
#include "skintrack/core/error.h"
#include "skintrack/storage/store.h"

namespace skintrack::cli {
namespace {

const std::string kUsage =
    std::string(
        "usage: skintrack db check --data-dir DIR [--no-hash] [--json]\n"
        "       skintrack db info --data-dir DIR [--json]\n") +
    kDbMigrateSynopsis +
    "  check   PRAGMA integrity_check, every referenced blob present (and its SHA-256 right,\n"
    "          unless --no-hash), no unreferenced blob. Exit 0 when clean, 1 when not.\n"
    "  info    schema version, patients, work-queue counts (works beside a running server).\n" +
    kDbMigrateHelp +
    "check runs start-up clean-up first, so it fails while a server holds the directory.\n";

int RunDb(Args& args, std::ostream& out) {
  if (!args.positional().empty() && args.positional()[0] == "migrate") {
    return RunDbMigrate(args, out);
  }
  if (args.positional().size() != 1 ||
      (args.positional()[0] != "check" && args.positional()[0] != "info")) {
    throw Error(ErrorCode::kInvalidArgument, "expected `db check`, `db info` or `db migrate`");
  }
  const bool check = args.positional()[0] == "check";
  const std::string dir = args.Require("data-dir");
  const bool json = args.Flag("json");
  const bool no_hash = check && args.Flag("no-hash");
  args.CheckNoneLeft();

  nlohmann::json report = {{"data_dir", dir}};
  int exit_code = 0;
  if (check) {
    // The full check needs the directory to itself (it runs start-up clean-up first).
    auto store = storage::Store::OpenDataDir(dir);
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
    exit_code = c.ok() ? 0 : 1;
  } else {
    // Metadata only: works while a server owns the directory.
    auto repo = storage::OpenDataDirRepository(dir);
    const storage::QueueCounts q = repo->CountQueue();
    report["schema_version"] = repo->SchemaVersion();
    report["patients"] = repo->ListPatients().size();
    report["captures"] = {{"queued", q.queued},
                          {"processing", q.processing},
                          {"processed", q.processed},
                          {"failed", q.failed}};
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
                     RunDb});

}  // namespace
}  // namespace skintrack::cli
