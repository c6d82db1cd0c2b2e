// `db migrate` (migrate.h): a data directory's SQLite database copied into PostgreSQL in one
// transaction, verified inside it before the commit.
#include <SQLiteCpp/Database.h>
#include <SQLiteCpp/Statement.h>
#include <fcntl.h>
#include <sqlite3.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include <chrono>
#include <fstream>
#include <functional>
#include <map>
#include <set>
#include <sstream>
#include <system_error>

#include "migrate_internal.h"
#include "migrate_tables.h"
#include "migrated_marker.h"
#include "pg_internal.h"
#include "pg_repository.h"
#include "skintrack/storage/blob_store.h"
#include "skintrack/storage/migrate.h"
#include "skintrack/storage/sha256.h"

namespace skintrack::storage {
namespace {

using migrate::Cell;
using migrate::Table;
using migrate::Type;
using pg::Params;
using pg::PgConnection;
using pg::PgError;
using pg::PgResult;

constexpr std::size_t kCopyChunkBytes = std::size_t{1} << 20;
constexpr int kFetchRows = 5000;

// Holds DIR/LOCK (as a serving Store does) so that no server writes to the source during the
// copy: a capture acknowledged after it would exist only in SQLite.
class DirLock {
 public:
  explicit DirLock(const std::string& dir) {
    const std::string path = dir + "/LOCK";
    fd_ = ::open(path.c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0640);
    if (fd_ < 0)
      throw Error(ErrorCode::kIo, "cannot open " + path + ": " +
                                      std::error_code(errno, std::generic_category()).message());
    if (::flock(fd_, LOCK_EX | LOCK_NB) != 0) {
      ::close(fd_);
      throw Error(ErrorCode::kConflict, "data directory " + dir +
                                            " is in use by another skintrack process: stop its "
                                            "server before migrating it");
    }
  }
  ~DirLock() { ::close(fd_); }
  DirLock(const DirLock&) = delete;
  DirLock& operator=(const DirLock&) = delete;

 private:
  int fd_ = -1;
};

// A source value, checked against the column's type: SQLite stores whatever a writer gave it
// (its columns have affinities, not types), PostgreSQL's do not. A mismatch is a damaged row.
Cell ReadSqliteCell(const SQLite::Statement& st, int col, Type type, const Table& t) {
  const SQLite::Column c = st.getColumn(col);
  Cell cell;
  const int kind = c.getType();
  if (kind == SQLITE_NULL) return cell;
  cell.null = false;
  const bool fits = (type == Type::kInt && kind == SQLITE_INTEGER) ||
                    (type == Type::kReal && (kind == SQLITE_FLOAT || kind == SQLITE_INTEGER)) ||
                    (type == Type::kText && kind == SQLITE_TEXT);
  if (!fits) {
    throw Error(ErrorCode::kStorage,
                std::string("the source database is damaged: table ") + t.name + ", row " +
                    std::to_string(st.getColumn(0).getInt64()) + ", column " +
                    t.columns[static_cast<std::size_t>(col)].copy_as + " holds " +
                    (kind == SQLITE_TEXT   ? "text '" + c.getString().substr(0, 40) + "'"
                     : kind == SQLITE_BLOB ? std::string("a blob")
                                           : "the number " + c.getString()) +
                    " where the schema has " +
                    (type == Type::kText  ? "text"
                     : type == Type::kInt ? "an integer"
                                          : "a real"));
  }
  if (type == Type::kInt) cell.i = c.getInt64();
  if (type == Type::kReal) cell.r = c.getDouble();
  if (type == Type::kText) cell.text = c.getString();
  return cell;
}

Cell ReadPgCell(const PgResult& r, int row, int col, Type type) {
  Cell cell;
  if (r.IsNull(row, col)) return cell;
  cell.null = false;
  if (type == Type::kInt) cell.i = r.Int(row, col);
  if (type == Type::kReal) cell.r = r.Double(row, col);
  if (type == Type::kText) cell.text = r.Text(row, col);
  return cell;
}

// Rows and SHA-256 of a canonical stream.
struct Digest {
  std::int64_t rows = 0;
  std::string sha256;
};

class Canonical {
 public:
  void Row(const std::vector<Type>& types, const std::vector<Cell>& cells) {
    for (std::size_t i = 0; i < cells.size(); ++i)
      migrate::AppendCanonical(buffer_, types[i], cells[i]);
    buffer_ += '\n';
    ++rows_;
    if (buffer_.size() >= kCopyChunkBytes) Flush();
  }
  Digest Finish() {
    Flush();
    return Digest{rows_, hash_.FinalHex()};
  }

 private:
  void Flush() {
    hash_.Update(buffer_);
    buffer_.clear();
  }
  Sha256 hash_;
  std::string buffer_;
  std::int64_t rows_ = 0;
};

std::vector<Type> TypesOf(const Table& t) {
  std::vector<Type> types;
  types.reserve(t.columns.size());
  for (const auto& c : t.columns) types.push_back(c.type);
  return types;
}

// Every row of `sql` on the source, as cells.
void ForEachSqliteRow(SQLite::Database& db, const std::string& sql, const Table& t,
                      const std::function<void(const std::vector<Cell>&)>& fn) {
  SQLite::Statement st(db, sql);
  std::vector<Cell> cells(t.columns.size());
  while (st.executeStep()) {
    for (std::size_t i = 0; i < cells.size(); ++i) {
      cells[i] = ReadSqliteCell(st, static_cast<int>(i), t.columns[i].type, t);
    }
    fn(cells);
  }
}

// Every row of `sql` on the target, through a cursor (a million rows are not held in memory).
void ForEachPgRow(PgConnection& c, const std::string& sql, const std::vector<Type>& types,
                  const std::function<void(const std::vector<Cell>&)>& fn) {
  c.Exec("DECLARE skintrack_migrate NO SCROLL CURSOR FOR " + sql);
  std::vector<Cell> cells(types.size());
  for (;;) {
    const PgResult r =
        c.Exec("FETCH FORWARD " + std::to_string(kFetchRows) + " FROM skintrack_migrate");
    for (int row = 0; row < r.rows(); ++row) {
      for (std::size_t i = 0; i < cells.size(); ++i) {
        cells[i] = ReadPgCell(r, row, static_cast<int>(i), types[i]);
      }
      fn(cells);
    }
    if (r.rows() < kFetchRows) break;
  }
  c.Exec("CLOSE skintrack_migrate");
}

const Table& BlobReferenceTable() {
  static const Table kTable{
      "blob references",
      {migrate::Column{"sha", "sha", Type::kText}, migrate::Column{"size", "size", Type::kInt}},
      "sha",
      nullptr,
      false};
  return kTable;
}

TableVerification Compare(SQLite::Database& source, PgConnection& target, const Table& t,
                          const std::string& source_sql, const std::string& target_sql) {
  const std::vector<Type> types = TypesOf(t);
  Canonical s;
  ForEachSqliteRow(source, source_sql, t, [&](const std::vector<Cell>& row) { s.Row(types, row); });
  Canonical p;
  ForEachPgRow(target, target_sql, types, [&](const std::vector<Cell>& row) { p.Row(types, row); });
  const Digest ds = s.Finish();
  const Digest dp = p.Finish();
  return TableVerification{t.name, ds.rows, dp.rows, ds.sha256, dp.sha256};
}

int SqliteSchemaVersion(SQLite::Database& db) {
  SQLite::Statement st(db, "SELECT COALESCE(MAX(version), 0) FROM schema_version");
  st.executeStep();
  return st.getColumn(0).getInt();
}

// "table: the columns one side has and the copy does not know, and those the copy expects
// and the side lacks", or "" when they agree.
std::string ColumnDifference(const Table& t, const std::set<std::string>& present) {
  std::set<std::string> expected;
  for (const auto& c : t.columns) expected.insert(c.copy_as);
  std::string unknown;
  std::string lacking;
  for (const auto& name : present) {
    if (expected.count(name) == 0) unknown += " " + name;
  }
  for (const auto& name : expected) {
    if (present.count(name) == 0) lacking += " " + name;
  }
  if (unknown.empty() && lacking.empty()) return "";
  return std::string(t.name) + (unknown.empty() ? "" : ": unknown columns" + unknown) +
         (lacking.empty() ? "" : ": missing columns" + lacking);
}

// A table or column that this build would not copy was added by a migration that `db migrate`
// was not taught about: refuse rather than leave data behind (and the same on the target, whose
// COPY would otherwise fill the column with its default).
void CheckShape(const std::string& side, const std::set<std::string>& tables,
                const std::function<std::set<std::string>(const std::string&)>& columns_of) {
  std::set<std::string> known;
  for (const Table& t : migrate::Tables()) known.insert(t.name);
  std::string problems;
  for (const std::string& name : tables) {
    if (known.count(name) == 0 && !migrate::IsNotCopied(name))
      problems += "; unknown table " + name;
  }
  for (const Table& t : migrate::Tables()) {
    if (tables.count(t.name) == 0) {
      problems += std::string("; no table ") + t.name;
      continue;
    }
    const std::string difference = ColumnDifference(t, columns_of(t.name));
    if (!difference.empty()) problems += "; " + difference;
  }
  if (!problems.empty()) {
    throw Error(ErrorCode::kInternal, "db migrate does not know the " + side +
                                          " database's schema (" + problems.substr(2) +
                                          "): nothing was copied");
  }
}

void CheckSourceShape(SQLite::Database& db) {
  std::set<std::string> tables;
  SQLite::Statement st(db,
                       "SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE "
                       "'sqlite_%'");
  while (st.executeStep()) tables.insert(st.getColumn(0).getString());
  CheckShape("source", tables, [&](const std::string& table) {
    std::set<std::string> columns;
    SQLite::Statement info(db, "SELECT name FROM pragma_table_info(?)");
    info.bind(1, table);
    while (info.executeStep()) columns.insert(info.getColumn(0).getString());
    return columns;
  });
}

void CheckTargetShape(PgConnection& c) {
  std::set<std::string> tables;
  const PgResult r = c.Exec(
      "SELECT table_name FROM information_schema.tables WHERE table_schema = current_schema() "
      "AND table_type = 'BASE TABLE'");
  for (int i = 0; i < r.rows(); ++i) tables.insert(r.Text(i, 0));
  CheckShape("target", tables, [&](const std::string& table) {
    std::set<std::string> columns;
    const PgResult cols = c.Exec(
        "SELECT column_name FROM information_schema.columns WHERE table_schema = "
        "current_schema() AND table_name = $1",
        Params().Add(table));
    for (int i = 0; i < cols.rows(); ++i) columns.insert(cols.Text(i, 0));
    return columns;
  });
}

// Before anything is locked or created: `dir` must be a data directory (no LOCK file is left in
// a mistyped path).
void RequireSourceDatabase(const std::string& dir) {
  struct stat st {};
  if (::stat(dir.c_str(), &st) != 0 || !S_ISDIR(st.st_mode)) {
    throw Error(ErrorCode::kNotFound, "--from " + dir + " is not a directory");
  }
  const std::string path = dir + "/skintrack.db";
  if (::stat(path.c_str(), &st) != 0 || !S_ISREG(st.st_mode)) {
    throw Error(ErrorCode::kNotFound,
                "no skintrack database in " + dir + " (expected " + path + ")");
  }
}

std::unique_ptr<SQLite::Database> OpenSource(const std::string& dir, int* version) {
  const std::string path = dir + "/skintrack.db";
  auto db = std::make_unique<SQLite::Database>(path, SQLite::OPEN_READONLY, 10000);
  // One read transaction: every table is read from the same snapshot.
  db->exec("BEGIN");
  *version = SqliteSchemaVersion(*db);
  if (*version != LatestSchemaVersion()) {
    throw Error(ErrorCode::kConflict,
                "the data directory has schema version " + std::to_string(*version) +
                    (*version < LatestSchemaVersion()
                         ? ", older than this build's " + std::to_string(LatestSchemaVersion()) +
                               ": upgrade it first (`skintrack db check --data-dir DIR` applies "
                               "the migrations)"
                         : ", newer than this build's " + std::to_string(LatestSchemaVersion()) +
                               ": use the skintrack that wrote it"));
  }
  CheckSourceShape(*db);
  SQLite::Statement check(*db, "PRAGMA quick_check");
  check.executeStep();
  const std::string integrity = check.getColumn(0).getString();
  if (integrity != "ok") {
    throw Error(ErrorCode::kStorage,
                "the source database is damaged (PRAGMA quick_check: " + integrity + ")");
  }
  return db;
}

// 0 when the target has no skintrack schema yet.
int TargetSchemaVersion(PgConnection& c) {
  const PgResult exists = c.Exec("SELECT to_regclass('schema_version') IS NOT NULL");
  if (exists.Text(0, 0) != "t") return 0;
  return static_cast<int>(c.Exec("SELECT COALESCE(MAX(version), 0) FROM schema_version").Int(0, 0));
}

void CheckTargetSchema(int version, int latest, bool verify_only) {
  if (version == latest) return;
  if (version == 0 && !verify_only) return;  // migrate creates the schema
  throw Error(ErrorCode::kConflict,
              version == 0
                  ? std::string("the target database has no skintrack schema")
                  : "the target database has PostgreSQL schema version " + std::to_string(version) +
                        ", " + (version < latest ? "older" : "newer") + " than this build's " +
                        std::to_string(latest) +
                        ": migrate into an empty database created for this build");
}

void CheckTargetEmpty(PgConnection& c) {
  std::string holding;
  for (const Table& t : migrate::Tables()) {
    const PgResult r = c.Exec(std::string("SELECT EXISTS (SELECT 1 FROM ") + t.name + ")");
    if (r.Text(0, 0) == "t") holding += (holding.empty() ? "" : ", ") + std::string(t.name);
  }
  if (!holding.empty()) {
    throw Error(ErrorCode::kConflict,
                "the target database is not empty (rows in " + holding +
                    "): db migrate copies into an empty database only, and changed nothing");
  }
}

std::map<std::string, std::int64_t> TargetSites(PgConnection& c) {
  std::map<std::string, std::int64_t> sites;
  const PgResult r = c.Exec("SELECT name, id FROM body_sites");
  for (int i = 0; i < r.rows(); ++i) sites[r.Text(i, 0)] = r.Int(i, 1);
  return sites;
}

std::int64_t CopyTable(SQLite::Database& source, PgConnection& target, const Table& t,
                       const std::map<std::string, std::int64_t>& sites) {
  SQLite::Statement st(source, migrate::SelectSql(t, false, true));
  bool more = true;  // SQLiteCpp refuses a step after the last row
  return target.CopyIn(migrate::CopySql(t), [&](std::string& chunk) {
    while (more && chunk.size() < kCopyChunkBytes && (more = st.executeStep())) {
      for (std::size_t i = 0; i < t.columns.size(); ++i) {
        if (i > 0) chunk += '\t';
        Cell cell = ReadSqliteCell(st, static_cast<int>(i), t.columns[i].type, t);
        if (t.columns[i].site && !cell.null) {
          const auto it = sites.find(cell.text);
          if (it == sites.end()) {
            throw Error(ErrorCode::kConflict, "the target's catalogue has no body site " +
                                                  cell.text + " (a newer source?)");
          }
          migrate::AppendCopyText(chunk, Type::kInt, Cell{false, it->second, 0, ""});
        } else {
          migrate::AppendCopyText(chunk, t.columns[i].type, cell);
        }
      }
      chunk += '\n';
    }
    return !chunk.empty();
  });
}

// Each identity sequence continues after the larger of the copied maximum and SQLite's
// id_sequences entry (ids of erased rows are never handed out again, migration 0006).
void AdvanceSequences(SQLite::Database& source, PgConnection& target) {
  std::map<std::string, std::int64_t> used;
  SQLite::Statement st(source, "SELECT name, last_id FROM id_sequences");
  while (st.executeStep()) used[st.getColumn(0).getString()] = st.getColumn(1).getInt64();
  for (const Table& t : migrate::Tables()) {
    if (!t.identity) continue;
    const std::int64_t max_id =
        target.Exec(std::string("SELECT COALESCE(MAX(id), 0) FROM ") + t.name).Int(0, 0);
    const std::int64_t last = std::max(max_id, used.count(t.name) ? used[t.name] : 0);
    if (last < 1) continue;
    target.Exec("SELECT setval(pg_get_serial_sequence($1, 'id'), $2)",
                Params().Add(std::string(t.name)).Add(last));
  }
}

// The directory's pseudonym.key text (empty when it has none), which becomes the cluster's
// shared "pseudonym_key" (pipeline::LoadOrCreatePseudonymKey): the subject ids that coordinators
// and exported datasets already use stay the same after the migration.
std::string ReadPseudonymKeyFile(const std::string& dir) {
  std::ifstream in(dir + "/pseudonym.key", std::ios::binary);
  std::ostringstream text;
  if (in) text << in.rdbuf();
  return text.str();
}

void CopyPseudonymKey(const std::string& dir, PgConnection& target) {
  const std::string key = ReadPseudonymKeyFile(dir);
  // A row here means a node has already started on the target and made its own key.
  if (target
          .Exec("SELECT EXISTS (SELECT 1 FROM shared_settings WHERE name = $1)",
                Params().Add(std::string(kPseudonymKeySetting)))
          .Text(0, 0) == "t") {
    throw Error(ErrorCode::kConflict,
                "the target database already has a pseudonym key (a node has started on it): "
                "the directory's subject ids would change; migrate into a database no node has "
                "used. Nothing was changed");
  }
  if (key.empty()) return;
  ValidateSharedSetting(kPseudonymKeySetting, key);
  target.Exec("INSERT INTO shared_settings (name, value, created_at) VALUES ($1, $2, $3)",
              Params().Add(std::string(kPseudonymKeySetting)).Add(key).Add(NowMs()));
}

// The key file against the target's shared key, as a one-row "table" of the report.
TableVerification VerifyPseudonymKey(const std::string& dir, PgConnection& target) {
  const std::string key = ReadPseudonymKeyFile(dir);
  const PgResult r = target.Exec("SELECT value FROM shared_settings WHERE name = $1",
                                 Params().Add(std::string(kPseudonymKeySetting)));
  const std::string copied = r.rows() == 1 ? r.Text(0, 0) : "";
  return TableVerification{"pseudonym key", key.empty() ? 0 : 1, r.rows(),
                           key.empty() ? "" : Sha256Hex(key),
                           copied.empty() ? "" : Sha256Hex(copied)};
}

void CopyAll(SQLite::Database& source, PgConnection& target) {
  const auto sites = TargetSites(target);
  for (const Table& t : migrate::Tables()) {
    // The queue-count trigger would update one of 64 counter rows per copied capture (a million
    // versions of the same rows in one transaction); the counts are set once afterwards. The
    // DDL is part of the transaction: the trigger is never seen disabled by another session.
    const bool captures = std::string(t.name) == "captures";
    if (captures) target.Exec("ALTER TABLE captures DISABLE TRIGGER captures_count");
    try {
      CopyTable(source, target, t, sites);
    } catch (const PgError& e) {
      throw Error(detail::TranslatePg(e).code(),
                  std::string("copying table ") + t.name + ": " + e.what());
    }
    if (captures) {
      target.Exec("ALTER TABLE captures ENABLE TRIGGER captures_count");
      target.Exec(
          "UPDATE capture_status_counts k SET n = k.n + x.n FROM (SELECT status, (id % 16)::int "
          "AS shard, COUNT(*) AS n FROM captures GROUP BY 1, 2) x "
          "WHERE k.status = x.status AND k.shard = x.shard");
    }
  }
  AdvanceSequences(source, target);
}

void Verify(SQLite::Database& source, PgConnection& target, const std::string& dir,
            const MigrationOptions& options, MigrationReport& report) {
  for (const Table& t : migrate::Tables()) {
    report.tables.push_back(Compare(source, target, t, migrate::SelectSql(t, false, false),
                                    migrate::SelectSql(t, true, false)));
  }
  report.tables.push_back(VerifyPseudonymKey(dir, target));
  report.blob_references =
      Compare(source, target, BlobReferenceTable(), migrate::BlobReferencesSql(false),
              migrate::BlobReferencesSql(true));
  if (!options.check_blobs) return;
  const auto blobs = OpenFileBlobStore(dir + "/blobs");
  SQLite::Statement st(source, migrate::BlobReferencesSql(false));
  while (st.executeStep()) {
    const std::string sha = st.getColumn(0).getString();
    if (blobs->Exists(sha)) continue;
    if (++report.missing_blobs <= 20) report.missing_blob_examples.push_back(sha);
  }
}

void Rollback(PgConnection& c) {
  if (!c.healthy()) return;
  try {
    c.Exec("ROLLBACK");
  } catch (const PgError&) {  // the error that got here matters more
  }
}

}  // namespace

bool MigrationReport::ok() const {
  if (missing_blobs != 0 || !blob_references.ok() || tables.empty()) return false;
  for (const auto& t : tables) {
    if (!t.ok()) return false;
  }
  return true;
}

std::string RedactedUrl(const std::string& url) {
  std::string out = url;
  const std::size_t scheme = out.find("://");
  if (scheme != std::string::npos) {
    const std::size_t start = scheme + 3;
    const std::size_t at = out.find('@', start);
    const std::size_t slash = out.find('/', start);
    if (at != std::string::npos && (slash == std::string::npos || at < slash)) {
      const std::size_t colon = out.find(':', start);
      if (colon != std::string::npos && colon < at) out.replace(colon + 1, at - colon - 1, "***");
    }
  }
  for (std::size_t p = out.find("password="); p != std::string::npos;
       p = out.find("password=", p + 1)) {
    const std::size_t end = out.find('&', p);
    out.replace(p + 9, (end == std::string::npos ? out.size() : end) - p - 9, "***");
  }
  return out;
}

namespace internal {

MigrationReport MigrateToPostgres(const std::string& dir, const std::string& url,
                                  const MigrationOptions& options,
                                  const std::function<void(const MigrateExec&)>& before_verify) {
  const auto started = std::chrono::steady_clock::now();
  if (!IsPostgresUrl(url)) {
    throw Error(ErrorCode::kInvalidArgument,
                "the target is given as postgresql://[user@]host[:port]/dbname");
  }
  MigrationReport report;
  report.source = dir;
  report.target = RedactedUrl(url);
  RequireSourceDatabase(dir);
  std::unique_ptr<DirLock> lock;
  if (!options.verify_only) lock = std::make_unique<DirLock>(dir);
  try {
    auto source = OpenSource(dir, &report.source_schema);
    const int latest = static_cast<int>(PgMigrations().size());
    PgConnection target(url);
    CheckTargetSchema(TargetSchemaVersion(target), latest, options.verify_only);
    // The schema and the catalogue as every node creates them (committed on their own: a
    // migration that fails after this leaves a database with the schema and no rows).
    if (!options.verify_only) OpenPostgresRepository(url);
    report.target_schema = latest;
    CheckTargetShape(target);
    try {
      target.Exec(options.verify_only ? "BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY"
                                      : "BEGIN ISOLATION LEVEL READ COMMITTED");
      if (!options.verify_only) {
        // No node may write while the copy runs; one that holds a lock makes this fail in 10 s.
        target.Exec("SET LOCAL lock_timeout = '10s'");
        std::string tables;
        for (const Table& t : migrate::Tables())
          tables += (tables.empty() ? "" : ", ") + std::string(t.name);
        // shared_settings too: a node starting meanwhile would store a key of its own.
        target.Exec("LOCK TABLE " + tables + ", shared_settings IN EXCLUSIVE MODE");
        CheckTargetEmpty(target);
        CopyPseudonymKey(dir, target);  // first: it may refuse the target, before any copying
        CopyAll(*source, target);
        if (before_verify) before_verify([&](const std::string& sql) { target.ExecScript(sql); });
      }
      Verify(*source, target, dir, options, report);
      if (!options.verify_only && report.ok()) {
        target.Exec("COMMIT");
        report.committed = true;
      } else {
        Rollback(target);
      }
    } catch (...) {
      Rollback(target);
      throw;
    }
  } catch (const PgError& e) {
    throw detail::TranslatePg(e);
  } catch (const SQLite::Exception& e) {
    throw Error(ErrorCode::kStorage, std::string("reading the source database: ") + e.what());
  }
  // Still under the directory lock: no node opens the old copy between the commit and this.
  if (report.committed) {
    try {
      detail::WriteMigratedMarker(dir, report.target);
    } catch (const Error& e) {
      throw Error(e.code(), std::string("the migration is committed, but ") + e.what() +
                                ": do not start a node on " + dir + " without --database");
    }
  }
  report.seconds =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count();
  return report;
}

}  // namespace internal

MigrationReport MigrateToPostgres(const std::string& dir, const std::string& url,
                                  const MigrationOptions& options) {
  return internal::MigrateToPostgres(dir, url, options, {});
}

}  // namespace skintrack::storage
