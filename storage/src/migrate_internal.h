// Private to storage/ and tests/storage/: the test hook of `db migrate` (migrate.h).
#pragma once

#include <functional>
#include <string>

#include "skintrack/storage/migrate.h"

namespace skintrack::storage::internal {

// Runs SQL inside the migration's transaction.
using MigrateExec = std::function<void(const std::string& sql)>;

// MigrateToPostgres with `before_verify` called after the copy, before the verification, inside
// the transaction: tests change a copied row there to see the verification catch it.
MigrationReport MigrateToPostgres(const std::string& dir, const std::string& url,
                                  const MigrationOptions& options,
                                  const std::function<void(const MigrateExec&)>& before_verify);

}  // namespace skintrack::storage::internal
