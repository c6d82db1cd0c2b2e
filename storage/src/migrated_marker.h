// Private to storage/src: DIR/MIGRATED, left by a committed `skintrack db migrate` in the data
// directory it copied into PostgreSQL. The directory's skintrack.db stays as the pre-migration
// copy; a node started on the directory without --database would serve that copy while the
// cluster goes on without it (captures acknowledged there would never reach the cluster), so the
// marker makes every opening of the directory's own database refuse (docs/storage.md).
#pragma once

#include <string>

namespace skintrack::storage::detail {

// Writes DIR/MIGRATED (the redacted target URL, the UTC time; temporary file, fsync, rename,
// fsync of the directory). Error(kIo) naming the file when it cannot be written.
void WriteMigratedMarker(const std::string& dir, const std::string& target);

// Error(kConflict) naming the marker, the target and what to do when DIR/MIGRATED exists; for
// openings of the directory's SQLite database (no --database given).
void RefuseIfMigrated(const std::string& dir);

}  // namespace skintrack::storage::detail
