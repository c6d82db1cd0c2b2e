// Storage benchmarks (not part of ctest). Prints figures; asserts nothing.
//
//   storage_bench ingest [--count N] [--size BYTES] [--threads T] [--dir DIR]
//       Ingest rate of small captures through Store::IngestCapture (blob fsyncs + row commit),
//       per-capture latency p50/p99, database and blob bytes per capture.
//   storage_bench series [--captures N] [--patients P] [--queries Q] [--dir DIR]
//       Builds a database of N captures (each with one score result) for P patients through a
//       bulk path (one transaction, indexes rebuilt afterwards), then times the service queries
//       for one patient: time series (all sites / one site / no score), the latest results of one
//       capture, queue counts.
//
// Without --dir a fresh directory under /tmp is used and removed afterwards.
#include <SQLiteCpp/Database.h>
#include <SQLiteCpp/Statement.h>
#include <time.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <filesystem>
#include <iostream>
#include <map>
#include <random>
#include <string>
#include <thread>
#include <vector>

#include "skintrack/core/error.h"
#include "skintrack/storage/sha256.h"
#include "skintrack/storage/store.h"

namespace {

using namespace skintrack::storage;
using Clock = std::chrono::steady_clock;
namespace fs = std::filesystem;

double Ms(Clock::duration d) { return std::chrono::duration<double, std::milli>(d).count(); }

double Percentile(std::vector<double> v, double p) {
  if (v.empty()) return 0;
  std::sort(v.begin(), v.end());
  const auto nearest = std::lround(p * static_cast<double>(v.size() - 1));
  const std::size_t i = std::min(v.size() - 1, static_cast<std::size_t>(nearest));
  return v[i];
}

std::uintmax_t FileSize(const fs::path& p) {
  std::error_code ec;
  const auto size = fs::file_size(p, ec);
  return ec ? 0 : size;
}

std::uintmax_t DirBytes(const fs::path& dir, std::uintmax_t* files) {
  std::uintmax_t total = 0;
  *files = 0;
  for (const auto& e : fs::recursive_directory_iterator(dir)) {
    if (e.is_regular_file()) {
      total += e.file_size();
      ++*files;
    }
  }
  return total;
}

struct Options {
  std::map<std::string, std::string> values;
  long long Int(const std::string& name, long long fallback) const {
    auto it = values.find(name);
    return it == values.end() ? fallback : std::stoll(it->second);
  }
  std::string Str(const std::string& name) const {
    auto it = values.find(name);
    return it == values.end() ? "" : it->second;
  }
};

class WorkDir {
 public:
  explicit WorkDir(const std::string& given) {
    if (given.empty()) {
      path_ = fs::temp_directory_path() / ("skintrack-bench-" + std::to_string(::getpid()));
      owned_ = true;
    } else {
      path_ = given;
    }
    if (owned_) fs::remove_all(path_);
    fs::create_directories(path_);
  }
  ~WorkDir() {
    std::error_code ec;
    if (owned_) fs::remove_all(path_, ec);
  }
  const fs::path& path() const { return path_; }

 private:
  fs::path path_;
  bool owned_ = false;
};

int RunIngest(const Options& o) {
  const long long count = o.Int("count", 2000);
  const long long size = o.Int("size", 4096);
  const int threads = static_cast<int>(o.Int("threads", 1));
  WorkDir dir(o.Str("dir"));
  const std::string data = (dir.path() / "data").string();
  auto store = Store::OpenDataDir(data);
  for (int t = 0; t < threads; ++t) {
    PatientInfo p;
    p.id = "B" + std::to_string(t);
    if (!store->repository().FindPatient(p.id)) store->repository().CreatePatient(p, "bench");
  }
  std::vector<std::vector<double>> latencies(static_cast<std::size_t>(threads));
  const auto start = Clock::now();
  std::vector<std::thread> pool;
  pool.reserve(static_cast<std::size_t>(threads));
  for (int t = 0; t < threads; ++t) {
    pool.emplace_back([&, t] {
      std::mt19937_64 rng(static_cast<std::uint64_t>(t) * 1000003u + 17u);
      std::string bytes(static_cast<std::size_t>(size), '\0');
      const char* sites[] = {"scalp", "left-forearm", "trunk-anterior", "left-thigh"};
      for (long long i = t; i < count; i += threads) {
        for (char& c : bytes) c = static_cast<char>(rng());
        NewCapture c;
        c.patient_id = "B" + std::to_string(t);
        c.site = sites[i % 4];
        c.captured_at = 1700000000000 + i * 60000;
        c.width = 64;
        c.height = 64;
        c.media_type = "image/jpeg";
        const auto t0 = Clock::now();
        store->IngestCapture(c, bytes, "bench");
        latencies[static_cast<std::size_t>(t)].push_back(Ms(Clock::now() - t0));
      }
    });
  }
  for (auto& th : pool) th.join();
  const double seconds = Ms(Clock::now() - start) / 1000.0;
  std::vector<double> all;
  for (const auto& l : latencies) all.insert(all.end(), l.begin(), l.end());
  store.reset();  // closes the database: the WAL is checkpointed into skintrack.db

  std::uintmax_t blob_files = 0;
  const std::uintmax_t blob_bytes = DirBytes(fs::path(data) / "blobs", &blob_files);
  const std::uintmax_t db_bytes =
      FileSize(fs::path(data) / "skintrack.db") + FileSize(fs::path(data) / "skintrack.db-wal");
  std::printf("ingest: %lld captures of %lld bytes, %d thread(s)\n", count, size, threads);
  std::printf("  rate            %.1f captures/s (%.2f s)\n", count / seconds, seconds);
  std::printf("  latency         p50 %.2f ms, p99 %.2f ms, max %.2f ms\n", Percentile(all, 0.5),
              Percentile(all, 0.99), Percentile(all, 1.0));
  std::printf("  database        %.0f bytes per capture (%ju bytes, incl. audit rows)\n",
              static_cast<double>(db_bytes) / static_cast<double>(count), db_bytes);
  std::printf("  blobs           %ju files, %.0f bytes per capture\n", blob_files,
              static_cast<double>(blob_bytes) / static_cast<double>(count));
  return 0;
}

// The bulk path: plain INSERTs of synthetic rows in one transaction on a database created by the
// real migrations, with the secondary indexes dropped during the load and rebuilt afterwards
// (sorting once is far cheaper than 1M random B-tree inserts). Blobs are not written: the
// benchmark measures queries, and the hashes are synthetic.
void BulkLoad(const std::string& db_path, long long captures, long long patients,
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

double ThreadCpuMs() {
  timespec ts{};
  ::clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
  return static_cast<double>(ts.tv_sec) * 1e3 + static_cast<double>(ts.tv_nsec) / 1e6;
}

// Wall-clock latency is what a client sees; CPU time of the querying thread shows the cost
// without the waits for a core on a shared machine.
template <typename F>
void Time(const char* name, int queries, F&& query) {
  std::vector<double> ms;
  std::vector<double> cpu;
  const auto c0 = Clock::now();
  std::size_t rows = query();
  const double cold = Ms(Clock::now() - c0);
  for (int i = 0; i < queries; ++i) {
    const double cpu0 = ThreadCpuMs();
    const auto t0 = Clock::now();
    rows = query();
    ms.push_back(Ms(Clock::now() - t0));
    cpu.push_back(ThreadCpuMs() - cpu0);
  }
  std::printf(
      "  %-34s %5zu rows  wall p50 %6.3f p99 %6.3f ms  cpu p50 %6.3f p99 %6.3f ms  "
      "(first %.3f ms)\n",
      name, rows, Percentile(ms, 0.5), Percentile(ms, 0.99), Percentile(cpu, 0.5),
      Percentile(cpu, 0.99), cold);
}

int RunSeries(const Options& o) {
  const long long captures = o.Int("captures", 1000000);
  const long long patients = o.Int("patients", 1000);
  const int queries = static_cast<int>(o.Int("queries", 1000));
  const long long target = std::min(captures, 1000LL);
  WorkDir dir(o.Str("dir"));
  const std::string data = (dir.path() / "data").string();
  const std::string db_path = data + "/skintrack.db";
  bool fresh = true;
  {
    auto store = Store::OpenDataDir(data);
    fresh = store->repository().ListPatients().empty();
  }
  if (fresh) {
    const auto t0 = Clock::now();
    BulkLoad(db_path, captures, patients, target);
    const double s = Ms(Clock::now() - t0) / 1000.0;
    std::printf(
        "bulk load: %lld captures + %lld score results for %lld patients in %.1f s "
        "(%.0f captures/s)\n",
        captures, captures, patients, s, captures / s);
  } else {
    std::printf("reusing the database in %s\n", data.c_str());
  }
  const std::uintmax_t db_bytes = FileSize(db_path);
  std::printf(
      "database: %ju bytes, %.0f bytes per capture (capture row + one score result + "
      "indexes)\n",
      db_bytes, static_cast<double>(db_bytes) / static_cast<double>(captures));

  auto store = Store::OpenDataDir(data);
  Repository& repo = store->repository();
  std::printf("queries for patient S1 (%lld captures) in a database of %lld captures, %d runs:\n",
              target, captures, queries);
  SeriesQuery all{"S1", std::nullopt, std::nullopt, "pasi_site", 0, kMaxTimeMs};
  Time("time series, all sites + score", queries, [&] { return repo.TimeSeries(all).size(); });
  const std::string site = repo.TimeSeries(all).front().capture.site;
  SeriesQuery one = all;
  one.site = site;
  one.condition = skintrack::Condition::kPsoriasis;
  Time("time series, one site + score", queries, [&] { return repo.TimeSeries(one).size(); });
  SeriesQuery bare = all;
  bare.score_name.clear();
  Time("time series, all sites, no score", queries, [&] { return repo.TimeSeries(bare).size(); });
  const std::int64_t first_capture = repo.TimeSeries(all).front().capture.id;
  Time("latest results of one capture", queries,
       [&] { return repo.LatestResults(first_capture).size(); });
  Time("queue counts (whole database)", 10, [&] {
    const QueueCounts q = repo.CountQueue();
    return static_cast<std::size_t>(q.queued + q.processing + q.processed + q.failed);
  });
  // A patient in the middle of the id range, with the common number of captures.
  const std::string mid = "S" + std::to_string(patients / 2);
  SeriesQuery other{mid, std::nullopt, std::nullopt, "pasi_site", 0, kMaxTimeMs};
  Time(("time series of " + mid + ", all sites").c_str(), queries,
       [&] { return repo.TimeSeries(other).size(); });
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  if (argc < 2 || (std::string(argv[1]) != "ingest" && std::string(argv[1]) != "series")) {
    std::cerr << "usage: storage_bench ingest [--count N] [--size BYTES] [--threads T] [--dir D]\n"
                 "       storage_bench series [--captures N] [--patients P] [--queries Q] "
                 "[--dir D]\n";
    return 2;
  }
  Options o;
  for (int i = 2; i + 1 < argc; i += 2) {
    std::string name = argv[i];
    if (name.rfind("--", 0) != 0) {
      std::cerr << "bad option " << name << "\n";
      return 2;
    }
    o.values[name.substr(2)] = argv[i + 1];
  }
  try {
    return std::string(argv[1]) == "ingest" ? RunIngest(o) : RunSeries(o);
  } catch (const std::exception& e) {
    std::cerr << "storage_bench: " << e.what() << "\n";
    return 1;
  }
}
