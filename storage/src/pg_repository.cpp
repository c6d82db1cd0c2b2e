// PostgreSQL implementation of Repository: the connection pool, transactions and their retries,
// migrations, the body-site catalogue, error translation and row readers.
#include "pg_repository.h"

#include <algorithm>
#include <chrono>
#include <map>
#include <thread>

#include "pg_internal.h"
#include "skintrack/core/error.h"

namespace skintrack::storage {
namespace detail {
namespace {

using Clock = std::chrono::steady_clock;

// Every node applies pending migrations at start-up; this advisory lock (an arbitrary constant,
// "skintrk" in ASCII; the audit order lock is the next key, pg_internal.h) makes the second node
// wait for the first instead of racing it.
constexpr char kMigrationLock[] = "SELECT pg_advisory_xact_lock(8388068707562603)";

bool IsRetryable(const std::string& state) {
  return state == "40001" || state == "40P01";  // serialization failure, deadlock detected
}

}  // namespace

Error TranslatePg(const PgError& e) {
  const std::string& state = e.sqlstate();
  if (state.rfind("23", 0) == 0) {
    return Error(ErrorCode::kConflict, std::string("storage constraint: ") + e.what());
  }
  if (state == "53100") {
    return Error(ErrorCode::kStorageFull,
                 std::string("no room to write the database: ") + e.what());
  }
  if (e.connection_lost()) {
    return Error(ErrorCode::kStorage, std::string("PostgreSQL unavailable: ") + e.what());
  }
  if (IsRetryable(state) || state == "55P03") {
    return Error(ErrorCode::kStorage, "the database stayed busy too long; retry later");
  }
  return Error(ErrorCode::kStorage, std::string("database error: ") + e.what());
}

Capture ReadPgCapture(const PgResult& r, int row) {
  Capture c;
  c.id = r.Int(row, 0);
  c.patient_id = r.Text(row, 1);
  c.site = r.Text(row, 2);
  c.condition = ParseCondition(r.Text(row, 3));
  c.captured_at = r.Int(row, 4);
  c.received_at = r.Int(row, 5);
  c.device = r.Text(row, 6);
  c.visit = r.Text(row, 7);
  c.media_type = r.Text(row, 8);
  c.blob.sha256 = r.Text(row, 9);
  c.blob.size = r.Int(row, 10);
  c.width = static_cast<int>(r.Int(row, 11));
  c.height = static_cast<int>(r.Int(row, 12));
  c.status = ParseCaptureStatus(r.Text(row, 13));
  c.attempts = static_cast<int>(r.Int(row, 14));
  c.last_error = r.Text(row, 15);
  c.orientation = static_cast<int>(r.Int(row, 16));
  return c;
}

Result ReadPgResult(const PgResult& r, int row) {
  Result out;
  out.id = r.Int(row, 0);
  out.capture_id = r.Int(row, 1);
  out.kind = ParseResultKind(r.Text(row, 2));
  out.name = r.Text(row, 3);
  out.version = static_cast<int>(r.Int(row, 4));
  out.source = ParseResultSource(r.Text(row, 5));
  out.algorithm = r.Text(row, 6);
  out.algorithm_version = r.Text(row, 7);
  if (!r.IsNull(row, 8)) out.value = r.Double(row, 8);
  out.payload_json = r.Text(row, 9);
  out.inputs_json = r.Text(row, 10);
  out.provenance_json = r.Text(row, 11);
  out.blob_sha256 = r.Text(row, 12);
  out.actor = r.Text(row, 13);
  out.created_at = r.Int(row, 14);
  return out;
}

PgRepository::PgRepository(const std::string& url, const RepositoryOptions& options)
    : url_(url), options_(options), database_clock_(!options.clock) {
  if (!options_.clock) options_.clock = NowMs;
  // One connection per concurrent call: the readers SQLite would pool plus the writer.
  max_connections_ = std::max(2, options_.read_connections + 1);
  {
    std::unique_ptr<PgConnection> c = Connect();
    version_ = Migrate(*c);
    Release(std::move(c));
  }
  SyncCatalogue();
}

TimeMs PgRepository::QueueNow(PgConnection& c) const {
  if (!database_clock_) return Now();
  // clock_timestamp(), not now(): a retried or long transaction must not judge leases by the
  // time it began.
  return c.Exec("SELECT (EXTRACT(EPOCH FROM clock_timestamp()) * 1000)::BIGINT").Int(0, 0);
}

std::unique_ptr<PgConnection> PgRepository::Connect() {
  auto c = std::make_unique<PgConnection>(url_);
  // Bounds a wait for a row lock (a stuck node's transaction) like SQLite's busy timeout.
  c->Exec("SET lock_timeout = " + std::to_string(options_.busy_timeout_ms));
  c->Exec("SET application_name = 'skintrack'");
  return c;
}

std::unique_ptr<PgConnection> PgRepository::Acquire() {
  {
    std::unique_lock<std::mutex> lock(pool_mutex_);
    pool_cv_.wait(lock, [&] { return !idle_.empty() || open_ < max_connections_; });
    if (!idle_.empty()) {
      auto c = std::move(idle_.back());
      idle_.pop_back();
      return c;
    }
    ++open_;
  }
  try {
    return Connect();
  } catch (...) {
    std::lock_guard<std::mutex> relock(pool_mutex_);
    --open_;
    pool_cv_.notify_one();
    throw;
  }
}

// A broken connection is dropped (the next Acquire opens a new one).
void PgRepository::Release(std::unique_ptr<PgConnection> conn) {
  std::lock_guard<std::mutex> lock(pool_mutex_);
  if (conn && conn->healthy()) {
    idle_.push_back(std::move(conn));
  } else {
    --open_;
  }
  pool_cv_.notify_one();
}

void PgRepository::Write(const std::function<void(PgConnection&)>& fn) {
  Transaction("BEGIN ISOLATION LEVEL READ COMMITTED", fn);
}

void PgRepository::Read(const std::function<void(PgConnection&)>& fn) {
  Transaction("BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY", fn);
}

// Retries the whole transaction on a serialization failure, a deadlock, a lost connection
// before COMMIT was sent, and (three times) on a unique violation from a concurrent insert. A
// connection lost during COMMIT is not retried: the transaction may have committed.
void PgRepository::Transaction(const char* begin, const std::function<void(PgConnection&)>& fn) {
  const auto deadline = Clock::now() + std::chrono::milliseconds(options_.busy_timeout_ms);
  auto pause = std::chrono::milliseconds(1);
  int unique_retries = 0;
  for (;;) {
    std::unique_ptr<PgConnection> conn;
    bool committing = false;
    try {
      conn = Acquire();
      conn->Exec(begin);
      fn(*conn);
      committing = true;
      conn->Exec("COMMIT");
      Release(std::move(conn));
      return;
    } catch (const PgError& e) {
      if (conn && conn->healthy()) {
        try {
          conn->Exec("ROLLBACK");
        } catch (const PgError&) {  // the error that got us here is the one to report
        }
      }
      Release(std::move(conn));
      if (committing && e.connection_lost()) {
        throw Error(ErrorCode::kStorage,
                    std::string("the connection to PostgreSQL broke during COMMIT; the change "
                                "may or may not be stored: ") +
                        e.what());
      }
      const bool retry = IsRetryable(e.sqlstate()) || e.connection_lost() ||
                         (e.sqlstate() == "23505" && ++unique_retries <= 3);
      if (!retry || Clock::now() >= deadline) throw TranslatePg(e);
    } catch (...) {
      if (conn && conn->healthy()) {
        try {
          conn->Exec("ROLLBACK");
        } catch (const PgError&) {  // the original error matters more
        }
      }
      Release(std::move(conn));
      throw;
    }
    std::this_thread::sleep_for(pause);
    pause = std::min(pause * 2, std::chrono::milliseconds(50));
  }
}

// Applies the migrations above the database's version in one transaction (PostgreSQL's DDL is
// transactional: a failed migration leaves the schema as it was).
int PgRepository::Migrate(PgConnection& c) {
  const auto& migrations = internal::PgMigrations();
  const int latest = static_cast<int>(migrations.size());
  try {
    c.Exec("BEGIN");
    c.Exec(kMigrationLock);
    if (!options_.create_schema &&
        c.Exec("SELECT to_regclass('schema_version') IS NULL").Text(0, 0) == "t") {
      throw Error(ErrorCode::kNotFound,
                  "the PostgreSQL database has no skintrack schema (a node's first start, or a "
                  "command that writes, creates it): is the URL the cluster's?");
    }
    c.Exec(
        "CREATE TABLE IF NOT EXISTS schema_version (version INTEGER PRIMARY KEY, name TEXT NOT "
        "NULL, applied_at BIGINT NOT NULL)");
    std::map<int, std::string> applied;
    const PgResult rows = c.Exec("SELECT version, name FROM schema_version ORDER BY version");
    for (int i = 0; i < rows.rows(); ++i) {
      applied[static_cast<int>(rows.Int(i, 0))] = rows.Text(i, 1);
    }
    const int current = applied.empty() ? 0 : applied.rbegin()->first;
    if (current > latest) {
      throw Error(ErrorCode::kConflict,
                  "the PostgreSQL database has schema version " + std::to_string(current) +
                      ", newer than this skintrack build understands (" + std::to_string(latest) +
                      "); upgrade skintrack, do not downgrade the data");
    }
    for (const auto& [version, name] : applied) {
      if (version < 1 || name != migrations[static_cast<std::size_t>(version - 1)].name) {
        throw Error(ErrorCode::kConflict, "the database records migration " +
                                              std::to_string(version) + " as '" + name +
                                              "', which this build does not have: not a "
                                              "skintrack PostgreSQL database of this lineage");
      }
    }
    for (const auto& m : migrations) {
      if (m.version <= current) continue;
      c.ExecScript(m.sql);
      c.Exec("INSERT INTO schema_version (version, name, applied_at) VALUES ($1, $2, $3)",
             Params().Add(m.version).Add(m.name).Add(NowMs()));
    }
    c.Exec("COMMIT");
    return latest;
  } catch (const PgError& e) {
    if (c.healthy()) {
      try {
        c.Exec("ROLLBACK");
      } catch (const PgError&) {  // the migration's error matters more
      }
    }
    throw TranslatePg(e);
  } catch (...) {
    if (c.healthy()) {
      try {
        c.Exec("ROLLBACK");
      } catch (const PgError&) {  // the original error matters more
      }
    }
    throw;
  }
}

void PgRepository::SyncCatalogue() {
  Write([&](PgConnection& c) {
    for (const BodySite& s : BodySiteCatalogue()) {
      c.Exec(
          "INSERT INTO body_sites (name, pasi_region, vasi_region, bsa_percent, is_face) "
          "VALUES ($1, $2, $3, $4, $5) ON CONFLICT (name) DO NOTHING",
          Params()
              .Add(s.name)
              .Add(PasiRegionName(s.pasi_region))
              .Add(VasiRegionName(s.vasi_region))
              .Add(s.bsa_percent)
              .Add(s.is_face ? 1 : 0));
    }
    const PgResult all = c.Exec("SELECT name, id FROM body_sites");
    site_keys_.clear();
    site_names_.clear();
    for (int i = 0; i < all.rows(); ++i) {
      site_keys_[all.Text(i, 0)] = all.Int(i, 1);
      site_names_[all.Int(i, 1)] = all.Text(i, 0);
    }
  });
}

std::int64_t PgRepository::SiteKey(const std::string& site) const {
  auto it = site_keys_.find(site);
  if (it == site_keys_.end()) throw Error(ErrorCode::kNotFound, "unknown body site " + site);
  return it->second;
}

const std::string& PgRepository::SiteName(std::int64_t key) const {
  auto it = site_names_.find(key);
  if (it == site_names_.end()) {
    throw Error(ErrorCode::kInternal, "body site key " + std::to_string(key) + " unknown");
  }
  return it->second;
}

// Audit ids must become visible in id order, or a reader paging by id (ListAudit after_id) can
// see id 12, page on, and never see id 11 that another node committed a moment later. The id is
// drawn under the audit order lock in SHARED mode, held to the commit (PostgreSQL releases a
// transaction's locks only after its commit is visible to new snapshots); ListAudit takes the
// lock EXCLUSIVE before its snapshot, so that snapshot falls where no drawn id is uncommitted:
// every id below one it sees is visible or was rolled back, and later ids are larger. Writers do
// not wait for each other (their commits still share WAL flushes); a page read waits for the
// audited commits in flight and holds new ones back for its query (docs/storage.md "Audit ids in
// commit order"). Every caller makes the audit insert its last statement before COMMIT
// (RequeueProcessed collects its entries for that), so a holder waits for no row lock and the
// lock closes no deadlock cycle.
void PgRepository::Audit(PgConnection& c, const std::string& actor, const std::string& action,
                         const std::string& object, const std::string& before,
                         const std::string& after, const std::string& details) {
  c.Exec("SELECT pg_advisory_xact_lock_shared($1)", Params().Add(internal::kAuditOrderLockKey));
  c.Exec(
      "INSERT INTO audit_log (at, actor, action, object, before_ref, after_ref, details_json) "
      "VALUES ($1, $2, $3, $4, $5, $6, $7)",
      Params().Add(Now()).Add(actor).Add(action).Add(object).Add(before).Add(after).Add(details));
}

}  // namespace detail

bool IsPostgresUrl(std::string_view database) {
  return database.rfind("postgresql://", 0) == 0 || database.rfind("postgres://", 0) == 0;
}

std::unique_ptr<Repository> OpenPostgresRepository(const std::string& url,
                                                   const RepositoryOptions& options) {
  options.Check();
  if (!IsPostgresUrl(url)) {
    throw Error(ErrorCode::kInvalidArgument,
                "a PostgreSQL database is given as postgresql://[user@]host[:port]/dbname");
  }
  try {
    return std::make_unique<detail::PgRepository>(url, options);
  } catch (const pg::PgError& e) {
    throw detail::TranslatePg(e);
  }
}

namespace internal {

void ExecPostgres(const std::string& url, const std::string& sql) {
  try {
    pg::PgConnection c(url);
    c.ExecScript(sql);
  } catch (const pg::PgError& e) {
    throw detail::TranslatePg(e);
  }
}

}  // namespace internal
}  // namespace skintrack::storage
