// SQLite implementation of Repository: construction, transactions and the connection pool, and
// the entry points. The shared declarations are in sqlite_repository.h; the methods by area are in
// sqlite_captures.cpp, sqlite_results.cpp and sqlite_tokens_audit.cpp.
#include "sqlite_repository.h"

#include <SQLiteCpp/Database.h>
#include <SQLiteCpp/Exception.h>
#include <SQLiteCpp/Statement.h>
#include <sqlite3.h>

#include <algorithm>
#include <chrono>
#include <mutex>
#include <thread>

#include "migrations.h"
#include "skintrack/core/error.h"
#include "skintrack/storage/repository.h"
#include "sqlite_internal.h"

namespace skintrack::storage {
namespace detail {

SqliteRepository::SqliteRepository(const std::string& path, const RepositoryOptions& options)
    : path_(path), memory_(path == ":memory:"), options_(options) {
  if (!options_.clock) options_.clock = NowMs;
  // SQLite's own busy handler waits in short slices; Write()/Read() retry up to the deadline.
  slice_ms_ = std::min(options_.busy_timeout_ms, 1000);
  writer_.db = OpenDatabase(path_, true, slice_ms_);
  version_ = Migrate(*writer_.db, LatestSchemaVersion());
  SyncCatalogue();
}

// Runs `fn` in a write transaction (BEGIN IMMEDIATE), retrying the whole transaction while the
// database is busy, up to busy_timeout_ms. skintrack::Error thrown by `fn` rolls back and
// propagates unchanged.
void SqliteRepository::Write(const std::function<void(Connection&)>& fn) {
  std::lock_guard<std::mutex> lock(writer_mutex_);
  Retry([&] {
    writer_.db->exec("BEGIN IMMEDIATE");
    try {
      fn(writer_);
      writer_.db->exec("COMMIT");
    } catch (...) {
      RollbackQuietly(writer_);
      throw;
    }
  });
}

// Runs `fn` in a read transaction (one consistent snapshot) on a pooled read connection.
void SqliteRepository::Read(const std::function<void(Connection&)>& fn) {
  if (memory_) {
    std::lock_guard<std::mutex> lock(writer_mutex_);
    RunRead(writer_, fn);
    return;
  }
  std::unique_ptr<Connection> conn = AcquireReader();
  try {
    RunRead(*conn, fn);
  } catch (...) {
    ReleaseReader(std::move(conn));
    throw;
  }
  ReleaseReader(std::move(conn));
}

void SqliteRepository::RunRead(Connection& conn, const std::function<void(Connection&)>& fn) {
  Retry([&] {
    conn.db->exec("BEGIN");
    try {
      fn(conn);
      conn.db->exec("COMMIT");
    } catch (...) {
      RollbackQuietly(conn);
      throw;
    }
  });
}

void SqliteRepository::RollbackQuietly(Connection& conn) {
  try {
    if (!sqlite3_get_autocommit(conn.db->getHandle())) conn.db->exec("ROLLBACK");
  } catch (...) {  // the error that got us here is the one to report
  }
}

void SqliteRepository::Retry(const std::function<void()>& attempt) {
  const auto deadline = Clock::now() + std::chrono::milliseconds(options_.busy_timeout_ms);
  auto pause = std::chrono::milliseconds(1);
  for (;;) {
    try {
      attempt();
      return;
    } catch (const SQLite::Exception& e) {
      if (!IsBusy(e) || Clock::now() >= deadline) throw Translate(e);
    }
    std::this_thread::sleep_for(pause);
    pause = std::min(pause * 2, std::chrono::milliseconds(50));
  }
}

std::unique_ptr<Connection> SqliteRepository::AcquireReader() {
  std::unique_lock<std::mutex> lock(pool_mutex_);
  pool_cv_.wait(
      lock, [&] { return !idle_readers_.empty() || open_readers_ < options_.read_connections; });
  if (!idle_readers_.empty()) {
    auto conn = std::move(idle_readers_.back());
    idle_readers_.pop_back();
    return conn;
  }
  ++open_readers_;
  lock.unlock();
  try {
    auto conn = std::make_unique<Connection>();
    conn->db = OpenDatabase(path_, false, slice_ms_);
    return conn;
  } catch (const SQLite::Exception& e) {
    std::lock_guard<std::mutex> relock(pool_mutex_);
    --open_readers_;
    pool_cv_.notify_one();
    throw Translate(e);
  }
}

void SqliteRepository::ReleaseReader(std::unique_ptr<Connection> conn) {
  std::lock_guard<std::mutex> lock(pool_mutex_);
  idle_readers_.push_back(std::move(conn));
  pool_cv_.notify_one();
}

void SqliteRepository::SyncCatalogue() {
  Write([&](Connection& c) {
    SQLite::Statement insert(*c.db,
                             "INSERT OR IGNORE INTO body_sites (name, pasi_region, "
                             "vasi_region, bsa_percent, is_face) VALUES (?, ?, ?, ?, ?)");
    for (const BodySite& s : BodySiteCatalogue()) {
      insert.reset();
      insert.bind(1, s.name);
      insert.bind(2, PasiRegionName(s.pasi_region));
      insert.bind(3, VasiRegionName(s.vasi_region));
      insert.bind(4, s.bsa_percent);
      insert.bind(5, s.is_face ? 1 : 0);
      insert.exec();
    }
    SQLite::Statement all(*c.db, "SELECT name, id FROM body_sites");
    while (all.executeStep()) {
      site_keys_[all.getColumn(0).getString()] = all.getColumn(1).getInt64();
      site_names_[all.getColumn(1).getInt64()] = all.getColumn(0).getString();
    }
  });
}

std::int64_t SqliteRepository::SiteKey(const std::string& site) const {
  auto it = site_keys_.find(site);
  if (it == site_keys_.end()) throw Error(ErrorCode::kNotFound, "unknown body site " + site);
  return it->second;
}

std::int64_t SqliteRepository::NextId(Connection& c, const char* table) {
  Stmt st(c.Prepare(kNextId));
  st->bind(1, table);
  if (!st->executeStep()) {
    throw Error(ErrorCode::kInternal, std::string("no id sequence for ") + table);
  }
  const std::int64_t id = st->getColumn(0).getInt64();
  // Step to the end so the UPDATE ... RETURNING statement completes before anything else.
  while (st->executeStep()) {
  }
  return id;
}

const std::string& SqliteRepository::SiteName(std::int64_t key) const {
  auto it = site_names_.find(key);
  if (it == site_names_.end()) {
    throw Error(ErrorCode::kInternal, "body site key " + std::to_string(key) + " unknown");
  }
  return it->second;
}

}  // namespace detail

int LatestSchemaVersion() noexcept { return static_cast<int>(internal::Migrations().size()); }

std::unique_ptr<Repository> OpenSqliteRepository(const std::string& path,
                                                 const RepositoryOptions& options) {
  options.Check();
  if (path.empty()) throw Error(ErrorCode::kInvalidArgument, "database path is empty");
  try {
    return std::make_unique<detail::SqliteRepository>(path, options);
  } catch (const SQLite::Exception& e) {
    throw Error(ErrorCode::kStorage, "cannot open database " + path + ": " + e.what());
  }
}

namespace internal {

void MigrateSqliteTo(const std::string& path, int version) {
  try {
    SQLite::Database db(path, SQLite::OPEN_READWRITE | SQLite::OPEN_CREATE);
    detail::ApplyPragmas(db, path != ":memory:", true);
    if (version > 0) detail::Migrate(db, version);
  } catch (const SQLite::Exception& e) {
    throw detail::Translate(e);
  }
}

void ExecSqlite(const std::string& path, const std::string& sql) {
  try {
    SQLite::Database db(path, SQLite::OPEN_READWRITE | SQLite::OPEN_CREATE);
    db.exec(sql);
  } catch (const SQLite::Exception& e) {
    throw detail::Translate(e);
  }
}

}  // namespace internal
}  // namespace skintrack::storage
