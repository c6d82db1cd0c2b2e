// Storage benchmarks (not part of ctest). Prints figures; asserts nothing.
//
//   storage_bench ingest [--count N] [--size BYTES] [--threads T] [--dir DIR]
//       Ingest rate of small captures through Store::IngestCapture (blob fsyncs + row commit),
//       per-capture latency p50/p99, database and blob bytes per capture.
//   storage_bench series [--captures N] [--patients P] [--queries Q] [--dir DIR]
//                        [--database postgresql://...] [--backends sqlite,postgres]
//       Builds a database of N captures (each with one score result) for P patients through a
//       bulk path on each backend (SQLite in DIR; PostgreSQL in the database of the URL, which
//       must be a superuser's), then times the service queries for one patient on each, one
//       after the other in this process, and prints them side by side (series_bench.cpp).
//   storage_bench blobs [--count N] [--size BYTES] [--threads T] --database postgresql://...
//                       [--dir DIR]
//       The shared blob store trade-off: the same N blobs through the file blob store in DIR
//       and through chunked bytea in PostgreSQL (blob_bench.cpp).
//
// Without --dir a fresh directory under /tmp is used and removed afterwards.
#include <cstdio>
#include <iostream>
#include <random>
#include <string>
#include <thread>
#include <vector>

#include "bench_util.h"
#include "blob_bench.h"
#include "series_bench.h"
#include "skintrack/storage/store.h"

namespace skintrack::bench {
namespace {

int RunIngest(const Options& o) {
  const long long count = o.Int("count", 2000);
  const long long size = o.Int("size", 4096);
  const int threads = static_cast<int>(o.Int("threads", 1));
  WorkDir dir(o.Str("dir"));
  const std::string data = (dir.path() / "data").string();
  auto store = storage::Store::OpenDataDir(data);
  for (int t = 0; t < threads; ++t) {
    storage::PatientInfo p;
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
        storage::NewCapture c;
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

}  // namespace
}  // namespace skintrack::bench

int main(int argc, char** argv) {
  using namespace skintrack::bench;
  const std::string mode = argc >= 2 ? argv[1] : "";
  const std::map<std::string, std::set<std::string>> known = {
      {"ingest", {"count", "size", "threads", "dir"}},
      {"series", {"captures", "patients", "queries", "dir", "database", "backends"}},
      {"blobs", {"count", "size", "threads", "database", "dir"}}};
  if (known.count(mode) == 0) {
    std::cerr << "usage: storage_bench ingest [--count N] [--size BYTES] [--threads T] [--dir D]\n"
                 "       storage_bench series [--captures N] [--patients P] [--queries Q] "
                 "[--dir D] [--database postgresql://...] [--backends sqlite,postgres]\n"
                 "       storage_bench blobs [--count N] [--size BYTES] [--threads T] "
                 "--database postgresql://... [--dir D]\n";
    return 2;
  }
  try {
    const Options o(argc, argv, 2, known.at(mode));
    if (mode == "ingest") return RunIngest(o);
    return mode == "series" ? RunSeries(o) : RunBlobs(o);
  } catch (const std::invalid_argument& e) {  // a bad option or value
    std::cerr << "storage_bench " << mode << ": " << e.what() << "\n";
    return 2;
  } catch (const std::exception& e) {
    std::cerr << "storage_bench " << mode << ": " << e.what() << "\n";
    return 1;
  }
}
