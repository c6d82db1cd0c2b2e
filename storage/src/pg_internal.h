// Private to storage/ and tests/storage/: the compiled-in PostgreSQL migrations
// (storage/migrations-pg/NNNN_name.sql) and a test hook.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "migrations.h"

namespace skintrack::storage::internal {

// In order, numbered 1, 2, ... without gaps (checked by CMake), independent of SQLite's.
const std::vector<Migration>& PgMigrations();

// The transaction-level advisory lock every audited write takes just before its audit insert, so
// that audit ids become visible in id order (PgRepository::Audit; docs/storage.md "Audit ids in
// commit order"): the migration lock's key ("skintrk" in ASCII) + 1. Other programs using
// advisory locks on the same database must not use it.
constexpr std::int64_t kAuditOrderLockKey = 8388068707562604;

// Runs `sql` (several statements allowed, no transaction of its own) on the database at `url`.
// Throws Error (kConflict for a constraint or trigger refusal, kStorage otherwise).
void ExecPostgres(const std::string& url, const std::string& sql);

}  // namespace skintrack::storage::internal
