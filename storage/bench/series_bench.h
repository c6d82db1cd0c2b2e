// `storage_bench series`: time-series query latency at scale, on SQLite and PostgreSQL.
#pragma once

#include "bench_util.h"

namespace skintrack::bench {

// Options: captures, patients, queries, dir, database, backends. Returns the exit code.
int RunSeries(const Options& options);

}  // namespace skintrack::bench
