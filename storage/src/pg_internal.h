// Private to storage/ and tests/storage/: the compiled-in PostgreSQL migrations
// (storage/migrations-pg/NNNN_name.sql) and a test hook.
#pragma once

#include <string>
#include <vector>

#include "migrations.h"

namespace skintrack::storage::internal {

// In order, numbered 1, 2, ... without gaps (checked by CMake), independent of SQLite's.
const std::vector<Migration>& PgMigrations();

// Runs `sql` (several statements allowed, no transaction of its own) on the database at `url`.
// Throws Error (kConflict for a constraint or trigger refusal, kStorage otherwise).
void ExecPostgres(const std::string& url, const std::string& sql);

}  // namespace skintrack::storage::internal
