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

// The audit order lock (transaction-level advisory lock): every audited write takes it shared just
// before its audit insert, ListAudit exclusive before its snapshot, so that paging by id never
// passes an id committed late (PgRepository::Audit; docs/storage.md "Audit ids in commit order").
// The migration lock's key ("skintrk" in ASCII) + 1; other programs using advisory locks on the
// same database must not use it.
constexpr std::int64_t kAuditOrderLockKey = 8388068707562604;

// Runs `sql` (several statements allowed, no transaction of its own) on the database at `url`.
// Throws Error (kConflict for a constraint or trigger refusal, kStorage otherwise).
void ExecPostgres(const std::string& url, const std::string& sql);

}  // namespace skintrack::storage::internal
