// The PostgreSQL bulk path of `storage_bench series` (pg_bulk.cpp).
#pragma once

#include "bench_pg.h"

namespace skintrack::bench {

// Fills a database that holds the skintrack schema (created by OpenPostgresRepository) and no
// patients with the rows SqliteBulkLoad writes: `patients` patients, `captures` captures (patient
// 1 gets `target_patient_captures`, the others share the rest) in time order across patients, ten
// sites, one score result per capture. Needs a superuser (the load turns triggers off).
void PgBulkLoad(PgClient& db, long long captures, long long patients,
                long long target_patient_captures);

}  // namespace skintrack::bench
