// `storage_bench series` (series_bench.h): builds a database of N captures on each backend asked
// for through a bulk path, then times the same repository calls on each, in one process one
// after the other, and prints them side by side.
#include "series_bench.h"

#include <SQLiteCpp/Database.h>
#include <SQLiteCpp/Statement.h>

#include <cstdio>
#include <fstream>
#include <functional>
#include <memory>
#include <random>
#include <sstream>

#include "pg_bulk.h"
#include "skintrack/storage/sha256.h"
#include "skintrack/storage/store.h"

namespace skintrack::bench {
namespace {

using namespace skintrack::storage;

// The bulk path: plain INSERTs of synthetic rows in one transaction on a database created by the
// real migrations, with the secondary indexes dropped during the load and rebuilt afterwards
// (sorting once is far cheaper than 1M random B-tree inserts). Blobs are not written: the
// benchmark measures queries, and the hashes are synthetic.
void SqliteBulkLoad(const std::string& db_path, long long captures, long long patients,
                    long long target_patient_captures) {
  SQLite::Database db(db_path, SQLite::OPEN_READWRITE);
  db.exec("PRAGMA cache_size = -262144");
  db.exec("PRAGMA synchronous = OFF");
  std::vector<std::string> index_sql;
  {
    SQLite::Statement st(db,
                         "SELECT sql FROM sqlite_master WHERE type = 'index' AND sql IS NOT NULL "
                         "AND tbl_name IN ('captures', 'results')");
    while (st.executeStep()) index_sql.push_back(st.getColumn(0).getString());
  }
  std::map<std::string, long long> site_ids;
  {
    SQLite::Statement st(db, "SELECT name, id FROM body_sites");
    while (st.executeStep()) site_ids[st.getColumn(0).getString()] = st.getColumn(1).getInt64();
  }
  std::vector<long long> sites;
  sites.reserve(site_ids.size());
  for (const auto& [name, id] : site_ids) sites.push_back(id);
  // Ten sites per patient, like a whole-body follow-up.
  sites.resize(std::min<std::size_t>(10, sites.size()));

  db.exec("BEGIN");
  {
    SQLite::Statement drop(db,
                           "SELECT name FROM sqlite_master WHERE type = 'index' AND sql IS "
                           "NOT NULL AND tbl_name IN ('captures', 'results')");
    std::vector<std::string> names;
    while (drop.executeStep()) names.push_back(drop.getColumn(0).getString());
    for (const auto& n : names) db.exec("DROP INDEX " + n);
  }
  SQLite::Statement patient(db,
                            "INSERT INTO patients (id, pseudonym, created_at) VALUES (?, ?, 0)");
  for (long long p = 1; p <= patients; ++p) {
    patient.reset();
    patient.bind(1, static_cast<std::int64_t>(p));
    patient.bind(2, "S" + std::to_string(p));
    patient.exec();
  }
  SQLite::Statement capture(
      db,
      "INSERT INTO captures (id, patient_id, site_id, condition, captured_at, received_at, "
      "device, media_type, blob_sha256, byte_size, width, height, status) VALUES (?, ?, ?, "
      "'psoriasis', ?, ?, 'mirror', 'image/jpeg', ?, 250000, 1024, 768, 'processed')");
  SQLite::Statement result(
      db,
      "INSERT INTO results (capture_id, kind, name, version, source, algorithm, "
      "algorithm_version, value, payload_json, inputs_json, provenance_json, actor, created_at, "
      "patient_id, id) "
      "VALUES (?, 'score', 'pasi_site', 1, 'automated', 'pasi', '1.0.0', ?, "
      "'{\"erythema\":2,\"induration\":1,\"desquamation\":2,\"area\":3}', ?, "
      "'{\"area\":\"measured\",\"grades\":\"measured\"}', 'worker:bench', ?, ?, ?)");
  // Patient 1 gets `target_patient_captures`; the rest share the remainder. Rows arrive in time
  // order across all patients (as a live service would write them), so one patient's rows are
  // scattered over the whole file rather than clustered.
  const long long others = captures - target_patient_captures;
  long long id = 0;
  std::mt19937_64 rng(7);
  const long long per_other = others / std::max(1LL, patients - 1);
  for (long long round = 0; round < std::max(per_other, target_patient_captures); ++round) {
    for (long long p = 1; p <= patients; ++p) {
      if (p == 1 ? round >= target_patient_captures : round >= per_other) continue;
      if (id >= captures) break;
      ++id;
      const TimeMs at = 1600000000000 + round * 3600000 + p;
      capture.reset();
      capture.bind(1, static_cast<std::int64_t>(id));
      capture.bind(2, static_cast<std::int64_t>(p));
      capture.bind(
          3, static_cast<std::int64_t>(sites[static_cast<std::size_t>(round) % sites.size()]));
      capture.bind(4, static_cast<std::int64_t>(at));
      capture.bind(5, static_cast<std::int64_t>(at + 1000));
      capture.bind(6, Sha256Hex(std::to_string(id)));
      capture.exec();
      result.reset();
      result.bind(1, static_cast<std::int64_t>(id));
      result.bind(2, static_cast<double>(rng() % 7200) / 100.0);
      result.bind(3, "{\"capture\":" + std::to_string(id) + ",\"baseline\":1}");
      result.bind(4, static_cast<std::int64_t>(at + 5000));
      result.bind(5, static_cast<std::int64_t>(p));
      result.bind(6, static_cast<std::int64_t>(id));
      result.exec();
    }
  }
  for (const auto& sql : index_sql) db.exec(sql);
  // Keep the id sequences (migration 6) ahead of the explicit ids used here.
  db.exec(
      "UPDATE id_sequences SET last_id = (SELECT COALESCE(MAX(id), 0) FROM captures) WHERE name "
      "= 'captures'; UPDATE id_sequences SET last_id = (SELECT COALESCE(MAX(id), 0) FROM results) "
      "WHERE name = 'results'");
  db.exec("COMMIT");
  db.exec("ANALYZE");
  db.exec("PRAGMA wal_checkpoint(TRUNCATE)");
}

// Latencies of one query on one backend. `server_cpu_ms` is the mean CPU time of the database
// server per run (PostgreSQL only: its work is in another process; negative when unknown).
struct Stats {
  std::string name;
  std::size_t rows = 0;
  double wall_p50 = 0, wall_p99 = 0, cpu_p50 = 0, cpu_p99 = 0, first = 0;
  double server_cpu_ms = -1;
};

// Total CPU time (ms) of the server processes serving a backend; negative when unknown.
using ServerCpu = std::function<double()>;

// Wall-clock latency is what a client sees; CPU time of the querying thread shows the cost
// without the waits for a core on a shared machine.
Stats Time(const std::string& name, int queries, const ServerCpu& server_cpu,
           const std::function<std::size_t()>& query) {
  Stats s;
  s.name = name;
  std::vector<double> ms;
  std::vector<double> cpu;
  const auto c0 = Clock::now();
  s.rows = query();
  s.first = Ms(Clock::now() - c0);
  const double server0 = server_cpu();
  for (int i = 0; i < queries; ++i) {
    const double cpu0 = ThreadCpuMs();
    const auto t0 = Clock::now();
    s.rows = query();
    ms.push_back(Ms(Clock::now() - t0));
    cpu.push_back(ThreadCpuMs() - cpu0);
  }
  const double server1 = server_cpu();
  if (server0 >= 0 && server1 >= 0) s.server_cpu_ms = (server1 - server0) / queries;
  s.wall_p50 = Percentile(ms, 0.5);
  s.wall_p99 = Percentile(ms, 0.99);
  s.cpu_p50 = Percentile(cpu, 0.5);
  s.cpu_p99 = Percentile(cpu, 0.99);
  std::printf(
      "  %-34s %5zu rows  wall p50 %6.3f p99 %6.3f ms  cpu p50 %6.3f p99 %6.3f ms  "
      "(first %.3f ms)",
      name.c_str(), s.rows, s.wall_p50, s.wall_p99, s.cpu_p50, s.cpu_p99, s.first);
  if (s.server_cpu_ms >= 0) std::printf("  server cpu %.3f ms/run", s.server_cpu_ms);
  std::printf("\n");
  return s;
}

// The service queries for one patient, the same calls on every backend.
std::vector<Stats> RunQueries(Repository& repo, long long patients, int queries,
                              const ServerCpu& server_cpu) {
  std::vector<Stats> out;
  SeriesQuery all{"S1", std::nullopt, std::nullopt, "pasi_site", 0, kMaxTimeMs};
  out.push_back(Time("time series, all sites + score", queries, server_cpu,
                     [&] { return repo.TimeSeries(all).size(); }));
  SeriesQuery one = all;
  one.site = repo.TimeSeries(all).front().capture.site;
  one.condition = skintrack::Condition::kPsoriasis;
  out.push_back(Time("time series, one site + score", queries, server_cpu,
                     [&] { return repo.TimeSeries(one).size(); }));
  SeriesQuery bare = all;
  bare.score_name.clear();
  out.push_back(Time("time series, all sites, no score", queries, server_cpu,
                     [&] { return repo.TimeSeries(bare).size(); }));
  const std::int64_t first_capture = repo.TimeSeries(all).front().capture.id;
  out.push_back(Time("latest results of one capture", queries, server_cpu,
                     [&] { return repo.LatestResults(first_capture).size(); }));
  out.push_back(Time("queue counts (whole database)", 10, server_cpu, [&] {
    const QueueCounts q = repo.CountQueue();
    return static_cast<std::size_t>(q.queued + q.processing + q.processed + q.failed);
  }));
  // A patient in the middle of the id range, with the common number of captures.
  const std::string mid = "S" + std::to_string(std::max(1LL, patients / 2));
  SeriesQuery other{mid, std::nullopt, std::nullopt, "pasi_site", 0, kMaxTimeMs};
  out.push_back(Time("time series of " + mid + ", all sites", queries, server_cpu,
                     [&] { return repo.TimeSeries(other).size(); }));
  return out;
}

struct Scale {
  long long captures;
  long long patients;
  int queries;
  long long target;  // captures of patient S1
};

void PrintLoad(const char* backend, const Scale& n, double seconds) {
  std::printf("%s bulk load: %lld captures + %lld score results for %lld patients in %.1f s\n",
              backend, n.captures, n.captures, n.patients, seconds);
}

std::vector<Stats> RunSqlite(const std::string& dir, const Scale& n) {
  const std::string data = dir + "/data";
  const std::string db_path = data + "/skintrack.db";
  bool fresh = true;
  {
    auto store = Store::OpenDataDir(data);
    fresh = store->repository().ListPatients().empty();
  }
  if (fresh) {
    const auto t0 = Clock::now();
    SqliteBulkLoad(db_path, n.captures, n.patients, n.target);
    PrintLoad("SQLite", n, Ms(Clock::now() - t0) / 1000.0);
  } else {
    std::printf("SQLite: reusing the database in %s\n", data.c_str());
  }
  const std::uintmax_t db_bytes = FileSize(db_path);
  std::printf("SQLite database: %ju bytes, %.0f bytes per capture (row + score + indexes)\n",
              db_bytes, static_cast<double>(db_bytes) / static_cast<double>(n.captures));
  auto store = Store::OpenDataDir(data);
  std::printf("SQLite queries for patient S1 (%lld captures) of %lld captures, %d runs:\n",
              n.target, n.captures, n.queries);
  return RunQueries(store->repository(), n.patients, n.queries, [] { return -1.0; });
}

// utime + stime of process `pid` in ms, from /proc (the server must run on this machine and be
// readable: root, or the same user); negative when it cannot be read.
double ProcessCpuMs(const std::string& pid) {
  std::ifstream in("/proc/" + pid + "/stat");
  std::string line;
  if (!std::getline(in, line)) return -1;
  const auto paren = line.rfind(')');
  if (paren == std::string::npos) return -1;
  std::istringstream fields(line.substr(paren + 2));
  std::string field;
  double ticks = 0;
  for (int i = 3; i <= 15 && fields >> field; ++i) {
    if (i >= 14) ticks += std::stod(field);  // fields 14 and 15: utime, stime
  }
  return ticks * 1000.0 / static_cast<double>(::sysconf(_SC_CLK_TCK));
}

// The repository's connections are the other client backends of this database.
double BackendsCpuMs(PgClient& monitor) {
  double total = 0;
  for (const PgRow& row :
       monitor.Query("SELECT pid FROM pg_stat_activity WHERE datname = current_database() AND "
                     "backend_type = 'client backend' AND pid <> pg_backend_pid()")) {
    const double ms = ProcessCpuMs(row[0]);
    if (ms < 0) return -1;
    total += ms;
  }
  return total;
}

std::vector<Stats> RunPostgres(const std::string& url, const Scale& n) {
  bool fresh = OpenPostgresRepository(url)->ListPatients().empty();  // applies the migrations
  PgClient db(url);
  if (fresh) {
    const auto t0 = Clock::now();
    PgBulkLoad(db, n.captures, n.patients, n.target);
    PrintLoad("PostgreSQL", n, Ms(Clock::now() - t0) / 1000.0);
  } else {
    std::printf("PostgreSQL: reusing the database %s\n", url.c_str());
  }
  const double db_bytes = std::stod(db.Scalar("SELECT pg_database_size(current_database())"));
  std::printf("PostgreSQL database: %.0f bytes, %.0f bytes per capture (whole database)\n",
              db_bytes, db_bytes / static_cast<double>(n.captures));
  auto repo = OpenPostgresRepository(url);
  std::printf("PostgreSQL queries for patient S1 (%lld captures) of %lld captures, %d runs:\n",
              n.target, n.captures, n.queries);
  return RunQueries(*repo, n.patients, n.queries, [&db] { return BackendsCpuMs(db); });
}

std::string Pair(double a, double b) {
  char text[64];
  std::snprintf(text, sizeof text, "%.3f / %.3f", a, b);
  return text;
}

// One Markdown table, ready for docs/storage.md.
void PrintSideBySide(const std::vector<Stats>& lite, const std::vector<Stats>& pg) {
  std::printf(
      "\n| query | rows | SQLite wall p50 / p99 ms | SQLite CPU p50 / p99 ms | PostgreSQL wall "
      "p50 / p99 ms | PG client CPU p50 / p99 ms | PG server CPU ms/run | PG / SQLite wall p50 "
      "/ p99 |\n|---|---|---|---|---|---|---|---|\n");
  for (std::size_t i = 0; i < lite.size() && i < pg.size(); ++i) {
    const Stats& a = lite[i];
    const Stats& b = pg[i];
    char ratio[64];
    std::snprintf(ratio, sizeof ratio, "%.1f / %.1f", b.wall_p50 / a.wall_p50,
                  b.wall_p99 / a.wall_p99);
    char server[32] = "n/a";
    if (b.server_cpu_ms >= 0) std::snprintf(server, sizeof server, "%.3f", b.server_cpu_ms);
    std::printf("| %s | %zu | %s | %s | %s | %s | %s | %s |\n", a.name.c_str(), a.rows,
                Pair(a.wall_p50, a.wall_p99).c_str(), Pair(a.cpu_p50, a.cpu_p99).c_str(),
                Pair(b.wall_p50, b.wall_p99).c_str(), Pair(b.cpu_p50, b.cpu_p99).c_str(), server,
                ratio);
  }
}

struct Backends {
  bool sqlite = false;
  bool postgres = false;
};

// --backends sqlite,postgres (default: sqlite, and postgres too when --database is given).
Backends ParseBackends(const Options& o) {
  const std::string url = o.Str("database");
  std::string list = o.Str("backends");
  if (list.empty()) list = url.empty() ? "sqlite" : "sqlite,postgres";
  Backends b;
  std::stringstream in(list);
  std::string name;
  while (std::getline(in, name, ',')) {
    if (name == "sqlite") {
      b.sqlite = true;
    } else if (name == "postgres") {
      b.postgres = true;
    } else {
      throw std::invalid_argument("--backends: unknown backend '" + name + "' (sqlite, postgres)");
    }
  }
  if (b.postgres && !IsPostgresUrl(url)) {
    throw std::invalid_argument("the postgres backend needs --database postgresql://...");
  }
  if (!b.postgres && !url.empty()) {
    throw std::invalid_argument("--database given but --backends does not include postgres");
  }
  return b;
}

}  // namespace

int RunSeries(const Options& o) {
  Scale n;
  n.captures = o.Int("captures", 1000000);
  n.patients = std::min(o.Int("patients", 1000), n.captures);
  n.queries = static_cast<int>(o.Int("queries", 1000));
  n.target = std::min(n.captures, 1000LL);
  const Backends backends = ParseBackends(o);
  WorkDir dir(o.Str("dir"));
  std::vector<Stats> lite;
  std::vector<Stats> pg;
  if (backends.sqlite) lite = RunSqlite(dir.path().string(), n);
  if (backends.postgres) pg = RunPostgres(o.Str("database"), n);
  if (backends.sqlite && backends.postgres) PrintSideBySide(lite, pg);
  return 0;
}

}  // namespace skintrack::bench
