// `storage_bench blobs`: the shared blob store trade-off, measured (issue 17): the file blob store
// on a directory against blobs as chunked bytea in PostgreSQL.
#pragma once

#include "bench_util.h"

namespace skintrack::bench {

// Options: count, size, threads, database, dir. Returns the exit code.
int RunBlobs(const Options& options);

}  // namespace skintrack::bench
