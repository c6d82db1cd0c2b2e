// `skintrack db migrate` (cmd_db_migrate.cpp), dispatched from `skintrack db` (cmd_storage_db.cpp).
#pragma once

#include <iosfwd>

#include "args.h"

namespace skintrack::cli {

// The synopsis line and the description of `db migrate`, for `db`'s usage.
extern const char kDbMigrateSynopsis[];
extern const char kDbMigrateHelp[];

// Runs `db migrate` (positional()[0] == "migrate"). Exit 0 when the copy is committed (or, with
// --verify-only, both sides agree), 1 when verification found a difference. Throws Error on bad
// input, a non-empty or other-schema target, a server on the directory, a damaged source row.
int RunDbMigrate(Args& args, std::ostream& out);

}  // namespace skintrack::cli
