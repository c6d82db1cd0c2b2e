// `skintrack db migrate --from DIR --to URL`: a single-node data directory into a cluster's
// PostgreSQL database, verified (storage/migrate.h, docs/storage.md).
#include <nlohmann/json.hpp>
#include <ostream>

#include "db_migrate.h"
#include "skintrack/core/error.h"
#include "skintrack/storage/migrate.h"

namespace skintrack::cli {

const char kDbMigrateSynopsis[] =
    "       skintrack db migrate --from DIR --to postgresql://... [--verify-only] [--json]\n";
const char kDbMigrateHelp[] =
    "  migrate copies DIR's database into an empty PostgreSQL database (ids kept), then compares\n"
    "          row counts and content hashes of every table and of the blob references, and\n"
    "          commits only if all agree (one transaction: the target is left empty or complete).\n"
    "          The blobs stay in DIR/blobs, which every node must mount. No server may run on\n"
    "          DIR meanwhile. --verify-only compares an already migrated target, read-only.\n";

namespace {

nlohmann::json ToJson(const storage::TableVerification& t) {
  return {{"table", t.table},
          {"source_rows", t.source_rows},
          {"target_rows", t.target_rows},
          {"source_sha256", t.source_sha256},
          {"target_sha256", t.target_sha256},
          {"ok", t.ok()}};
}

nlohmann::json ToJson(const storage::MigrationReport& r) {
  nlohmann::json tables = nlohmann::json::array();
  for (const auto& t : r.tables) tables.push_back(ToJson(t));
  return {{"from", r.source},
          {"to", r.target},
          {"source_schema", r.source_schema},
          {"target_schema", r.target_schema},
          {"tables", tables},
          {"blob_references", ToJson(r.blob_references)},
          {"missing_blobs", r.missing_blobs},
          {"missing_blob_examples", r.missing_blob_examples},
          {"ok", r.ok()},
          {"committed", r.committed},
          {"seconds", r.seconds}};
}

void PrintText(const storage::MigrationReport& r, bool verify_only, std::ostream& out) {
  out << (verify_only ? "verified " : "migrated ") << r.source << " (schema " << r.source_schema
      << ") -> " << r.target << " (schema " << r.target_schema << ") in " << r.seconds << " s\n";
  auto line = [&](const storage::TableVerification& t) {
    out << "  " << (t.ok() ? "ok      " : "DIFFERS ") << t.table << ": " << t.source_rows
        << " rows";
    if (t.source_rows != t.target_rows)
      out << " in the source, " << t.target_rows << " in the target";
    if (t.source_rows == t.target_rows && t.source_sha256 != t.target_sha256) {
      out << ", content differs";
    }
    out << "\n";
  };
  for (const auto& t : r.tables) line(t);
  line(r.blob_references);
  if (r.missing_blobs > 0) {
    out << "  MISSING " << r.missing_blobs << " referenced blob(s) absent from " << r.source
        << "/blobs, e.g. " << r.missing_blob_examples.front() << "\n";
  }
  if (!verify_only) {
    out << (r.committed ? "committed: the target holds the data directory's rows\n"
                        : "verification failed: rolled back, the target is unchanged\n");
  } else {
    out << (r.ok() ? "both sides agree\n" : "the two sides differ\n");
  }
}

}  // namespace

int RunDbMigrate(Args& args, std::ostream& out) {
  if (args.positional().size() != 1) {
    throw Error(ErrorCode::kInvalidArgument, "unexpected argument '" + args.positional()[1] + "'");
  }
  storage::MigrationOptions options;
  const std::string from = args.Require("from");
  const std::string to = args.Require("to");
  options.verify_only = args.Flag("verify-only");
  const bool json = args.Flag("json");
  args.CheckNoneLeft();
  const storage::MigrationReport report = storage::MigrateToPostgres(from, to, options);
  if (json) {
    out << ToJson(report).dump(2) << "\n";
  } else {
    PrintText(report, options.verify_only, out);
  }
  return report.ok() ? 0 : 1;
}

}  // namespace skintrack::cli
