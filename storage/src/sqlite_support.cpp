// SQLite repository helpers: connection errors, row readers, tokens' randomness, pragmas,
// migrations and opening a database.
#include <SQLiteCpp/Database.h>
#include <SQLiteCpp/Exception.h>
#include <SQLiteCpp/Statement.h>
#include <sqlite3.h>
#include <sys/random.h>

#include <algorithm>
#include <cerrno>
#include <map>
#include <nlohmann/json.hpp>

#include "migrations.h"
#include "skintrack/core/error.h"
#include "skintrack/storage/sha256.h"
#include "sqlite_repository.h"

namespace skintrack::storage {
namespace detail {

bool IsBusy(const SQLite::Exception& e) {
  const int code = e.getErrorCode() & 0xff;
  return code == SQLITE_BUSY || code == SQLITE_LOCKED;
}

Error Translate(const SQLite::Exception& e) {
  const int code = e.getErrorCode() & 0xff;
  if (code == SQLITE_CONSTRAINT) {
    return Error(ErrorCode::kConflict, std::string("storage constraint: ") + e.what());
  }
  if (code == SQLITE_BUSY || code == SQLITE_LOCKED) {
    return Error(ErrorCode::kStorage, "the database stayed busy too long; retry later");
  }
  // ENOSPC on the database, its WAL or its temporary files (SQLite's unix VFS reports it as
  // SQLITE_FULL; other write errors stay I/O errors); also a full max_page_count.
  if (code == SQLITE_FULL) {
    return Error(ErrorCode::kStorageFull,
                 std::string("no room to write the database: ") + e.what());
  }
  return Error(ErrorCode::kStorage, std::string("database error: ") + e.what());
}

std::optional<std::int64_t> OptionalInt(const SQLite::Column& c) {
  if (c.isNull()) return std::nullopt;
  return c.getInt64();
}

Capture ReadCapture(SQLite::Statement& st, int i) {
  Capture c;
  c.id = st.getColumn(i + 0).getInt64();
  c.patient_id = st.getColumn(i + 1).getString();
  c.site = st.getColumn(i + 2).getString();
  c.condition = ParseCondition(st.getColumn(i + 3).getString());
  c.captured_at = st.getColumn(i + 4).getInt64();
  c.received_at = st.getColumn(i + 5).getInt64();
  c.device = st.getColumn(i + 6).getString();
  c.visit = st.getColumn(i + 7).getString();
  c.media_type = st.getColumn(i + 8).getString();
  c.blob.sha256 = st.getColumn(i + 9).getString();
  c.blob.size = st.getColumn(i + 10).getInt64();
  c.width = st.getColumn(i + 11).getInt();
  c.height = st.getColumn(i + 12).getInt();
  c.status = ParseCaptureStatus(st.getColumn(i + 13).getString());
  c.attempts = st.getColumn(i + 14).getInt();
  c.last_error = st.getColumn(i + 15).getString();
  c.orientation = st.getColumn(i + 16).getInt();
  return c;
}

Result ReadResult(SQLite::Statement& st, int i) {
  Result r;
  r.id = st.getColumn(i + 0).getInt64();
  r.capture_id = st.getColumn(i + 1).getInt64();
  r.kind = ParseResultKind(st.getColumn(i + 2).getString());
  r.name = st.getColumn(i + 3).getString();
  r.version = st.getColumn(i + 4).getInt();
  r.source = ParseResultSource(st.getColumn(i + 5).getString());
  r.algorithm = st.getColumn(i + 6).getString();
  r.algorithm_version = st.getColumn(i + 7).getString();
  if (!st.getColumn(i + 8).isNull()) r.value = st.getColumn(i + 8).getDouble();
  r.payload_json = st.getColumn(i + 9).getString();
  r.inputs_json = st.getColumn(i + 10).getString();
  r.provenance_json = st.getColumn(i + 11).getString();
  r.blob_sha256 = st.getColumn(i + 12).getString();
  r.actor = st.getColumn(i + 13).getString();
  r.created_at = st.getColumn(i + 14).getInt64();
  return r;
}

Patient ReadPatient(SQLite::Statement& st) {
  Patient p;
  p.info.id = st.getColumn(0).getString();
  if (!st.getColumn(1).isNull()) p.info.fitzpatrick = st.getColumn(1).getInt();
  p.info.age_band = st.getColumn(2).getString();
  p.info.attributes_json = st.getColumn(3).getString();
  p.created_at = st.getColumn(4).getInt64();
  return p;
}

TokenInfo ReadToken(SQLite::Statement& st) {
  TokenInfo t;
  t.id = st.getColumn(0).getString();
  t.role = ParseRole(st.getColumn(1).getString());
  for (const auto& p : nlohmann::json::parse(st.getColumn(2).getString())) {
    t.patient_scope.push_back(p.get<std::string>());
  }
  t.label = st.getColumn(3).getString();
  t.created_at = st.getColumn(4).getInt64();
  t.expires_at = OptionalInt(st.getColumn(5));
  t.revoked_at = OptionalInt(st.getColumn(6));
  return t;
}

std::string RandomHex(std::size_t bytes) {
  std::string raw(bytes, '\0');
  std::size_t got = 0;
  while (got < bytes) {
    const ssize_t n = ::getrandom(raw.data() + got, bytes - got, 0);
    if (n < 0) {
      if (errno == EINTR) continue;
      throw Error(ErrorCode::kInternal, "getrandom failed");
    }
    got += static_cast<std::size_t>(n);
  }
  static const char kHex[] = "0123456789abcdef";
  std::string hex;
  for (char c : raw) {
    const auto u = static_cast<unsigned char>(c);
    hex.push_back(kHex[u >> 4]);
    hex.push_back(kHex[u & 15]);
  }
  return hex;
}

bool IsLowerHex(std::string_view s) {
  return std::all_of(s.begin(), s.end(),
                     [](char c) { return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f'); });
}

bool ConstantTimeEqual(const std::string& a, const std::string& b) {
  if (a.size() != b.size()) return false;
  unsigned char diff = 0;
  for (std::size_t i = 0; i < a.size(); ++i) {
    diff |= static_cast<unsigned char>(a[i] ^ b[i]);
  }
  return diff == 0;
}

// Worker error messages come from anywhere (exceptions of other libraries): keep them printable
// and bounded instead of rejecting them.
std::string SanitiseError(const std::string& error) {
  std::string out;
  for (char c : error.substr(0, kMaxTextLength)) {
    const auto u = static_cast<unsigned char>(c);
    out.push_back((u < 0x20 && c != '\n' && c != '\t') || u == 0x7f ? '?' : c);
  }
  return out;
}

void CheckBlob(const BlobRef& blob) {
  if (!IsSha256Hex(blob.sha256) || blob.size <= 0) {
    throw Error(ErrorCode::kInvalidArgument, "invalid blob reference");
  }
}

void ApplyPragmas(SQLite::Database& db, bool file, bool writer) {
  if (file && writer) db.exec("PRAGMA journal_mode = WAL");
  // FULL: a commit is on disk when COMMIT returns, which is what acknowledging a capture means.
  db.exec("PRAGMA synchronous = FULL");
  db.exec("PRAGMA foreign_keys = ON");
  db.exec("PRAGMA temp_store = MEMORY");
  if (file) {
    // Time-series reads touch one page per capture (a patient's rows are spread over the file in
    // arrival order): memory-mapped reads avoid a system call and a copy per page, and a larger
    // page cache keeps the hot patients' pages. Memory use: see docs/storage.md.
    db.exec("PRAGMA mmap_size = 1073741824");
    db.exec("PRAGMA cache_size = -16384");
  }
  if (!writer) db.exec("PRAGMA query_only = 1");
}

// Applies migrations above the current version up to `target`, all in one transaction.
// Foreign keys are off while migrating (a table rebuild drops the old table, which must not
// cascade or fail), and checked with foreign_key_check before the commit, as SQLite's documented
// procedure for schema changes prescribes. The pragma cannot change inside a transaction.
int Migrate(SQLite::Database& db, int target) {
  db.exec("PRAGMA foreign_keys = OFF");
  struct RestoreForeignKeys {
    SQLite::Database& db;
    ~RestoreForeignKeys() {
      try {
        db.exec("PRAGMA foreign_keys = ON");
      } catch (...) {  // only fails with the database already unusable
      }
    }
  } restore{db};
  const auto& migrations = internal::Migrations();
  db.exec("BEGIN IMMEDIATE");
  try {
    db.exec(
        "CREATE TABLE IF NOT EXISTS schema_version (version INTEGER PRIMARY KEY, name TEXT NOT "
        "NULL, applied_at INTEGER NOT NULL)");
    std::map<int, std::string> applied;
    {
      SQLite::Statement st(db, "SELECT version, name FROM schema_version ORDER BY version");
      while (st.executeStep()) applied[st.getColumn(0).getInt()] = st.getColumn(1).getString();
    }
    const int current = applied.empty() ? 0 : applied.rbegin()->first;
    if (current > LatestSchemaVersion()) {
      throw Error(ErrorCode::kConflict,
                  "the database has schema version " + std::to_string(current) +
                      ", newer than this skintrack build understands (" +
                      std::to_string(LatestSchemaVersion()) +
                      "); it was written by a newer skintrack: upgrade skintrack, do not "
                      "downgrade the data");
    }
    for (const auto& [version, name] : applied) {
      if (version < 1 || name != migrations[static_cast<std::size_t>(version - 1)].name) {
        throw Error(ErrorCode::kConflict, "the database records migration " +
                                              std::to_string(version) + " as '" + name +
                                              "', which this build does not have: not a "
                                              "skintrack database of this lineage");
      }
    }
    for (const auto& m : migrations) {
      if (m.version <= current || m.version > target) continue;
      db.exec(m.sql);
      SQLite::Statement st(db,
                           "INSERT INTO schema_version (version, name, applied_at) "
                           "VALUES (?, ?, ?)");
      st.bind(1, m.version);
      st.bind(2, m.name);
      st.bind(3, NowMs());
      st.exec();
    }
    {
      SQLite::Statement check(db, "PRAGMA foreign_key_check");
      if (check.executeStep()) {
        throw Error(ErrorCode::kStorage, "migration left a dangling reference in table " +
                                             check.getColumn(0).getString());
      }
    }
    db.exec("COMMIT");
    return std::max(current, target);
  } catch (...) {
    try {
      db.exec("ROLLBACK");
    } catch (...) {  // the original error matters more
    }
    throw;
  }
}

std::unique_ptr<SQLite::Database> OpenDatabase(const std::string& path, bool writer,
                                               int busy_timeout_ms) {
  const int flags = writer ? SQLite::OPEN_READWRITE | SQLite::OPEN_CREATE : SQLite::OPEN_READONLY;
  auto db = std::make_unique<SQLite::Database>(path, flags | SQLITE_OPEN_NOMUTEX, busy_timeout_ms);
  ApplyPragmas(*db, path != ":memory:", writer);
  return db;
}

}  // namespace detail
}  // namespace skintrack::storage
