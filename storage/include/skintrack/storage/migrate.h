// `skintrack db migrate` (issue 17): copies a single-node data directory's SQLite database into a
// PostgreSQL database of a cluster, keeping every id, and verifies the copy (docs/storage.md
// "Migrating a data directory to PostgreSQL").
//
// The copy is one PostgreSQL transaction that also runs the verification: a crash, a refused row
// or a verification that fails leaves the target as it was (the schema, and no rows). The blobs
// are not copied: the data directory's blob folder is shared by the nodes.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

namespace skintrack::storage {

// One table on both sides: rows and the SHA-256 of its rows' canonical content (every column in
// a fixed order, rows in key order, internal site ids replaced by site names).
struct TableVerification {
  std::string table;
  std::int64_t source_rows = 0;
  std::int64_t target_rows = 0;
  std::string source_sha256;
  std::string target_sha256;
  bool ok() const { return source_rows == target_rows && source_sha256 == target_sha256; }
};

struct MigrationReport {
  std::string source;  // the data directory
  std::string target;  // the URL without its password
  int source_schema = 0;
  int target_schema = 0;
  std::vector<TableVerification> tables;
  // The distinct blobs the rows reference, (sha256, size) in hash order, as a table of its own.
  TableVerification blob_references;
  // Referenced blobs absent from DIR/blobs (at most 20 listed; missing_blobs counts all).
  std::vector<std::string> missing_blob_examples;
  std::int64_t missing_blobs = 0;
  bool committed = false;  // false: verification failed or verify_only; the target is unchanged
  double seconds = 0;
  bool ok() const;
};

struct MigrationOptions {
  // Compare the source with an already migrated target (read-only on both sides) instead of
  // copying.
  bool verify_only = false;
  // Stat every referenced blob in DIR/blobs (missing ones fail the migration).
  bool check_blobs = true;
};

// Copies data directory `dir` (its skintrack.db at this build's schema version; the directory's
// LOCK is held for the duration, so no server may run on it) into the PostgreSQL database at
// `url`, which must be empty (no rows; a database without tables gets the schema first). Then
// compares counts and content hashes of every table and of the blob references inside the same
// transaction and commits only when all match. Returns the report (committed = ok()).
// Error(kConflict): the directory is in use, the target holds rows, or either side has another
// schema version than this build's. Error(kNotFound): no database in `dir`. Error(kStorage): a
// source row that the schema's types do not allow (a damaged database), or PostgreSQL failed;
// nothing is written then.
MigrationReport MigrateToPostgres(const std::string& dir, const std::string& url,
                                  const MigrationOptions& options = {});

// `url` with its password (if any) replaced by "***", for messages and reports.
std::string RedactedUrl(const std::string& url);

}  // namespace skintrack::storage
