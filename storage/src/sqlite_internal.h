// Test hooks of the SQLite repository (private to storage/ and tests/storage/): build databases
// as an older binary would have left them, or damage them on purpose.
#pragma once

#include <string>

namespace skintrack::storage::internal {

// Creates or upgrades the database at `path` to exactly `version` (0 = empty file) using the
// compiled-in migrations, without the catalogue sync or any other start-up work.
void MigrateSqliteTo(const std::string& path, int version);

// Runs `sql` (several statements allowed) on the database at `path`. Throws Error(kStorage).
void ExecSqlite(const std::string& path, const std::string& sql);

}  // namespace skintrack::storage::internal
