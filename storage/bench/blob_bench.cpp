// `storage_bench blobs` (blob_bench.h). Writes the same N random (incompressible, like JPEG)
// blobs through (A) OpenFileBlobStore and (B) a bench-only PostgreSQL table of 1 MiB bytea
// chunks, one transaction per blob, reads them back, deletes every other one (an erasure's
// pattern: one patient's blobs are scattered in time) and reports latency, throughput and the
// bytes each side keeps and writes.
#include "blob_bench.h"

#include <sys/stat.h>

#include <cstdio>
#include <cstring>
#include <functional>
#include <memory>
#include <random>
#include <thread>

#include "bench_pg.h"
#include "skintrack/storage/blob_store.h"
#include "skintrack/storage/sha256.h"

namespace skintrack::bench {
namespace {

using namespace skintrack::storage;

constexpr std::size_t kChunk = std::size_t{1} << 20;
// The blobs are generated before the timed phases and kept in memory.
constexpr double kMaxBytes = 4e9;

struct Scale {
  long long count = 0;
  std::size_t size = 0;
  int threads = 1;
};

struct Blob {
  std::string bytes;
  std::string sha256;
};

// Random bytes (incompressible, as JPEG), different in every run so that nothing deduplicates
// against an earlier run.
std::vector<Blob> MakeBlobs(const Scale& n) {
  std::mt19937_64 rng(static_cast<std::uint64_t>(Clock::now().time_since_epoch().count()));
  std::vector<Blob> blobs(static_cast<std::size_t>(n.count));
  for (Blob& b : blobs) {
    b.bytes.resize(n.size);
    for (std::size_t k = 0; k < n.size; k += 8) {
      const std::uint64_t v = rng();
      std::memcpy(&b.bytes[k], &v, std::min<std::size_t>(8, n.size - k));
    }
    b.sha256 = Sha256Hex(b.bytes);
  }
  return blobs;
}

// Runs `op(thread, i)` for i in [0, count) (only the odd i with `odd_only`) on `threads` threads;
// each call returns the latency of its timed part in ms. `total_s` receives the wall time of the
// whole phase.
std::vector<double> Phase(const Scale& n, bool odd_only, double* total_s,
                          const std::function<double(int thread, std::size_t i)>& op) {
  std::vector<std::vector<double>> per(static_cast<std::size_t>(n.threads));
  const auto start = Clock::now();
  std::vector<std::thread> pool;
  pool.reserve(per.size());
  for (int t = 0; t < n.threads; ++t) {
    pool.emplace_back([&, t] {
      for (long long i = t; i < n.count; i += n.threads) {
        if (odd_only && i % 2 == 0) continue;
        per[static_cast<std::size_t>(t)].push_back(op(t, static_cast<std::size_t>(i)));
      }
    });
  }
  for (auto& th : pool) th.join();
  *total_s = Ms(Clock::now() - start) / 1000.0;
  std::vector<double> all;
  for (const auto& p : per) all.insert(all.end(), p.begin(), p.end());
  return all;
}

template <typename F>
double Timed(F&& f) {
  const auto t0 = Clock::now();
  f();
  return Ms(Clock::now() - t0);
}

// One store's figures; negative = not applicable.
struct Figures {
  double write_p50 = 0, write_p99 = 0, write_mb_s = 0;
  double read_p50 = 0, read_p99 = 0, read_mb_s = 0;
  double delete_p50 = 0, delete_p99 = 0;
  double stored_bytes = 0;         // after the writes
  double stored_after_delete = 0;  // after deleting every other blob (and VACUUM for B)
  double wal_bytes = -1;           // WAL written by the writes
  double wal_delete_bytes = -1;    // WAL written by the deletes and the VACUUM
  double checkpoint_s = -1;        // CHECKPOINT right after the writes (the heap's own write)
  double vacuum_s = -1;            // VACUUM after the deletes
};

double MbPerS(const Scale& n, double total_s) {
  return static_cast<double>(n.count) * static_cast<double>(n.size) / 1e6 / total_s;
}

void SetWrite(Figures& f, const Scale& n, const std::vector<double>& ms, double total_s) {
  f.write_p50 = Percentile(ms, 0.5);
  f.write_p99 = Percentile(ms, 0.99);
  f.write_mb_s = MbPerS(n, total_s);
}

void SetRead(Figures& f, const Scale& n, const std::vector<double>& ms, double total_s) {
  f.read_p50 = Percentile(ms, 0.5);
  f.read_p99 = Percentile(ms, 0.99);
  f.read_mb_s = MbPerS(n, total_s);
}

void SetDelete(Figures& f, const std::vector<double>& ms) {
  f.delete_p50 = Percentile(ms, 0.5);
  f.delete_p99 = Percentile(ms, 0.99);
}

// Allocated bytes of the regular files under `dir` (what the disk holds, not apparent sizes).
double AllocatedBytes(const fs::path& dir) {
  double total = 0;
  for (const auto& e : fs::recursive_directory_iterator(dir)) {
    struct stat st {};
    if (e.is_regular_file() && ::stat(e.path().c_str(), &st) == 0) {
      total += static_cast<double>(st.st_blocks) * 512.0;
    }
  }
  return total;
}

void CheckSame(const std::string& got, const Blob& want, const char* store) {
  if (got != want.bytes) {
    throw std::runtime_error(std::string(store) + ": blob " + want.sha256 +
                             " read back differently");
  }
}

// (A) The file blob store. A write is Put + ClearPending: what an ingest pays for the blob (the
// row's commit comes between the two).
Figures RunFiles(const Scale& n, const fs::path& root, const std::vector<Blob>& blobs) {
  Figures f;
  auto store = OpenFileBlobStore(root.string());
  double total = 0;
  auto ms = Phase(n, false, &total, [&](int, std::size_t i) {
    return Timed([&] { store->ClearPending(store->Put(blobs[i].bytes).pending); });
  });
  SetWrite(f, n, ms, total);
  f.stored_bytes = AllocatedBytes(root);
  ms = Phase(n, false, &total, [&](int, std::size_t i) {
    std::string got;
    const double t = Timed([&] { got = store->Get(blobs[i].sha256); });
    CheckSame(got, blobs[i], "files");
    return t;
  });
  SetRead(f, n, ms, total);
  ms = Phase(n, true, &total,
             [&](int, std::size_t i) { return Timed([&] { store->Remove(blobs[i].sha256); }); });
  SetDelete(f, ms);
  f.stored_after_delete = AllocatedBytes(root);
  return f;
}

// (B) Blobs in PostgreSQL: content hash and chunk number as key, 1 MiB bytea chunks stored
// EXTERNAL (out of line in the TOAST table, not compressed: JPEGs do not compress).
void CreateBlobTable(PgClient& db) {
  db.Script(
      "DROP TABLE IF EXISTS bench_blobs; CREATE TABLE bench_blobs (sha256 TEXT NOT NULL, chunk "
      "INTEGER NOT NULL, bytes BYTEA NOT NULL, PRIMARY KEY (sha256, chunk)); ALTER TABLE "
      "bench_blobs ALTER COLUMN bytes SET STORAGE EXTERNAL");
}

// One transaction per blob, as a Put that is durable on return; the hash is computed here as
// the file store's Put computes it.
void PgPut(PgClient& db, const std::string& bytes) {
  const std::string sha = Sha256Hex(bytes);
  db.Script("BEGIN");
  for (std::size_t off = 0, chunk = 0; off < bytes.size(); off += kChunk, ++chunk) {
    const std::string number = std::to_string(chunk);
    const std::string_view part = std::string_view(bytes).substr(off, kChunk);
    db.Query(
        "INSERT INTO bench_blobs (sha256, chunk, bytes) VALUES ($1, $2, $3) ON CONFLICT DO "
        "NOTHING",
        {PgParam{sha}, PgParam{number}, PgParam{part, true}});
  }
  db.Script("COMMIT");
}

std::string PgGet(PgClient& db, const std::string& sha) {
  std::string out;
  for (const PgRow& row : db.Query("SELECT bytes FROM bench_blobs WHERE sha256 = $1 ORDER BY chunk",
                                   {PgParam{sha}}, true)) {
    out += row[0];
  }
  return out;
}

double WalLsnDiff(PgClient& db, const std::string& from) {
  return std::stod(db.Scalar("SELECT pg_wal_lsn_diff(pg_current_wal_lsn(), '" + from + "')"));
}

double TableBytes(PgClient& db) {
  return std::stod(db.Scalar("SELECT pg_total_relation_size('bench_blobs')"));
}

Figures RunPostgres(const Scale& n, const std::string& url, const std::vector<Blob>& blobs) {
  Figures f;
  std::vector<std::unique_ptr<PgClient>> conns;
  conns.reserve(static_cast<std::size_t>(n.threads));
  for (int t = 0; t < n.threads; ++t) conns.push_back(std::make_unique<PgClient>(url));
  PgClient& admin = *conns[0];
  CreateBlobTable(admin);
  admin.Script("CHECKPOINT");
  std::string lsn = admin.Scalar("SELECT pg_current_wal_lsn()");
  double total = 0;
  auto ms = Phase(n, false, &total, [&](int t, std::size_t i) {
    return Timed([&] { PgPut(*conns[static_cast<std::size_t>(t)], blobs[i].bytes); });
  });
  SetWrite(f, n, ms, total);
  f.wal_bytes = WalLsnDiff(admin, lsn);
  f.stored_bytes = TableBytes(admin);
  f.checkpoint_s = Timed([&] { admin.Script("CHECKPOINT"); }) / 1000.0;
  ms = Phase(n, false, &total, [&](int t, std::size_t i) {
    std::string got;
    const double time =
        Timed([&] { got = PgGet(*conns[static_cast<std::size_t>(t)], blobs[i].sha256); });
    CheckSame(got, blobs[i], "PostgreSQL");
    return time;
  });
  SetRead(f, n, ms, total);
  lsn = admin.Scalar("SELECT pg_current_wal_lsn()");
  ms = Phase(n, true, &total, [&](int t, std::size_t i) {
    return Timed([&] {
      conns[static_cast<std::size_t>(t)]->Query("DELETE FROM bench_blobs WHERE sha256 = $1",
                                                {PgParam{blobs[i].sha256}});
    });
  });
  SetDelete(f, ms);
  f.vacuum_s = Timed([&] { admin.Script("VACUUM bench_blobs"); }) / 1000.0;
  f.wal_delete_bytes = WalLsnDiff(admin, lsn);
  f.stored_after_delete = TableBytes(admin);
  admin.Script("DROP TABLE bench_blobs");
  return f;
}

std::string Cell(double v, const char* format) {
  if (v < 0) return "-";
  char text[64];
  std::snprintf(text, sizeof text, format, v);
  return text;
}

void Row(const char* what, double a, double b, const char* format) {
  const std::string ratio = a > 0 && b >= 0 ? Cell(b / a, "%.2f") : "-";
  std::printf("| %s | %s | %s | %s |\n", what, Cell(a, format).c_str(), Cell(b, format).c_str(),
              ratio.c_str());
}

// One Markdown table, ready for docs/storage.md.
void PrintTable(const Scale& n, const Figures& a, const Figures& b) {
  const double total = static_cast<double>(n.count) * static_cast<double>(n.size);
  std::printf("\n%lld blobs of %zu bytes (%.0f MB), %d thread(s)\n\n", n.count, n.size, total / 1e6,
              n.threads);
  std::printf("| | A: files | B: PostgreSQL | B / A |\n|---|---|---|---|\n");
  Row("write p50 ms", a.write_p50, b.write_p50, "%.2f");
  Row("write p99 ms", a.write_p99, b.write_p99, "%.2f");
  Row("write MB/s", a.write_mb_s, b.write_mb_s, "%.1f");
  Row("read p50 ms", a.read_p50, b.read_p50, "%.2f");
  Row("read p99 ms", a.read_p99, b.read_p99, "%.2f");
  Row("read MB/s", a.read_mb_s, b.read_mb_s, "%.1f");
  Row("bytes stored / blob bytes", a.stored_bytes / total, b.stored_bytes / total, "%.3f");
  Row("WAL written by the writes / blob bytes", -1, b.wal_bytes / total, "%.3f");
  Row("CHECKPOINT after the writes s", -1, b.checkpoint_s, "%.2f");
  Row("delete p50 ms (every other blob)", a.delete_p50, b.delete_p50, "%.2f");
  Row("delete p99 ms", a.delete_p99, b.delete_p99, "%.2f");
  Row("VACUUM after the deletes s", -1, b.vacuum_s, "%.2f");
  Row("WAL of deletes + VACUUM / deleted bytes", -1, b.wal_delete_bytes / (total / 2), "%.3f");
  Row("bytes stored after deleting half / blob bytes", a.stored_after_delete / total,
      b.stored_after_delete / total, "%.3f");
}

}  // namespace

int RunBlobs(const Options& o) {
  Scale n;
  n.count = o.Int("count", 100);
  n.size = static_cast<std::size_t>(o.Int("size", 1 << 20));
  n.threads = static_cast<int>(std::min(o.Int("threads", 1), n.count));
  if (static_cast<double>(n.count) * static_cast<double>(n.size) > kMaxBytes) {
    throw std::invalid_argument(
        "--count x --size must stay below 4 GB (the blobs are kept in "
        "memory)");
  }
  const std::string url = o.Str("database");
  if (url.rfind("postgresql://", 0) != 0 && url.rfind("postgres://", 0) != 0) {
    throw std::invalid_argument(
        "blobs needs --database postgresql://... (a superuser's: it runs CHECKPOINT)");
  }
  WorkDir dir(o.Str("dir"));
  const fs::path root = dir.path() / "bench-blobs";
  fs::remove_all(root);
  std::printf("generating %lld blobs of %zu bytes...\n", n.count, n.size);
  const std::vector<Blob> blobs = MakeBlobs(n);
  std::printf("(A) files in %s\n", root.string().c_str());
  const Figures a = RunFiles(n, root, blobs);
  fs::remove_all(root);
  std::printf("(B) PostgreSQL %s\n", url.c_str());
  const Figures b = RunPostgres(n, url, blobs);
  PrintTable(n, a, b);
  return 0;
}

}  // namespace skintrack::bench
