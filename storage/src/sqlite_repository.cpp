// SQLite implementation of Repository. This file and storage/bench are the only places that see
// SQLiteCpp / sqlite3.h; SQLite::Exception is translated into skintrack::Error here.
//
// Connections: one writer connection behind a mutex (SQLite allows one writer anyway; queueing in
// process is fairer than spinning on SQLITE_BUSY) plus a pool of read-only connections, which WAL
// lets run beside the writer. A ":memory:" database exists per connection, so it gets the writer
// connection only. Statements are prepared once per connection and cached.
#include <SQLiteCpp/Database.h>
#include <SQLiteCpp/Exception.h>
#include <SQLiteCpp/Statement.h>
#include <sqlite3.h>
#include <sys/random.h>

#include <algorithm>
#include <chrono>
#include <condition_variable>
#include <map>
#include <mutex>
#include <nlohmann/json.hpp>
#include <thread>
#include <unordered_map>

#include "migrations.h"
#include "skintrack/core/error.h"
#include "skintrack/storage/repository.h"
#include "skintrack/storage/sha256.h"
#include "sqlite_internal.h"

namespace skintrack::storage {
namespace {

using Clock = std::chrono::steady_clock;

// ---- SQL ------------------------------------------------------------------------------------
// Statements are cached by the address of these constants.

#define CAPTURE_COLS                                                                     \
  "c.id, p.pseudonym, s.name, c.condition, c.captured_at, c.received_at, c.device, "     \
  "COALESCE(v.label, ''), c.media_type, c.blob_sha256, c.byte_size, c.width, c.height, " \
  "c.status, c.attempts, c.last_error"
#define CAPTURE_FROM                                                                     \
  " FROM captures c JOIN patients p ON p.id = c.patient_id JOIN body_sites s ON s.id = " \
  "c.site_id LEFT JOIN visits v ON v.id = c.visit_id "
#define RESULT_COLS                                                                             \
  "r.id, r.capture_id, r.kind, r.name, r.version, r.source, r.algorithm, r.algorithm_version, " \
  "r.value, r.payload_json, r.inputs_json, r.provenance_json, COALESCE(r.blob_sha256, ''), "    \
  "r.actor, r.created_at"

constexpr char kFindPatientKey[] = "SELECT id FROM patients WHERE pseudonym = ?";
constexpr char kFindPatient[] =
    "SELECT pseudonym, fitzpatrick, age_band, attributes_json, created_at FROM patients "
    "WHERE pseudonym = ?";
constexpr char kListPatients[] =
    "SELECT pseudonym, fitzpatrick, age_band, attributes_json, created_at FROM patients "
    "ORDER BY pseudonym";
constexpr char kInsertPatient[] =
    "INSERT INTO patients (pseudonym, fitzpatrick, age_band, attributes_json, created_at) "
    "VALUES (?, ?, ?, ?, ?)";
constexpr char kInsertAudit[] =
    "INSERT INTO audit_log (at, actor, action, object, before_ref, after_ref, details_json) "
    "VALUES (?, ?, ?, ?, ?, ?, ?)";
constexpr char kFindCapture[] = "SELECT " CAPTURE_COLS CAPTURE_FROM "WHERE c.id = ?";
constexpr char kFindCaptureByBlob[] = "SELECT " CAPTURE_COLS CAPTURE_FROM
                                      "WHERE c.patient_id = ? AND c.site_id = ? AND "
                                      "c.blob_sha256 = ?";
constexpr char kInsertVisit[] =
    "INSERT OR IGNORE INTO visits (patient_id, label, created_at) VALUES (?, ?, ?)";
constexpr char kFindVisit[] = "SELECT id FROM visits WHERE patient_id = ? AND label = ?";
// Ids come from id_sequences (migration 6), never reused even after an erasure.
constexpr char kNextId[] =
    "UPDATE id_sequences SET last_id = last_id + 1 WHERE name = ? RETURNING last_id";
constexpr char kInsertCapture[] =
    "INSERT INTO captures (patient_id, site_id, condition, captured_at, received_at, device, "
    "visit_id, media_type, blob_sha256, byte_size, width, height, status, next_attempt_at, id) "
    "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, 'queued', ?, ?)";
constexpr char kNextQueued[] =
    "SELECT id, attempts FROM captures WHERE status = 'queued' AND next_attempt_at <= ? "
    "ORDER BY next_attempt_at, id LIMIT 1";
constexpr char kNextExpired[] =
    "SELECT id, attempts FROM captures WHERE status = 'processing' AND lease_expires_at < ? "
    "ORDER BY lease_expires_at, id LIMIT 1";
constexpr char kClaim[] =
    "UPDATE captures SET status = 'processing', attempts = attempts + 1, lease_owner = ?, "
    "lease_expires_at = ? WHERE id = ?";
constexpr char kGiveUp[] =
    "UPDATE captures SET status = 'failed', lease_owner = NULL, lease_expires_at = NULL, "
    "last_error = ? WHERE id = ?";
constexpr char kLease[] =
    "SELECT status, COALESCE(lease_owner, ''), attempts FROM captures "
    "WHERE id = ?";
constexpr char kComplete[] =
    "UPDATE captures SET status = 'processed', lease_owner = NULL, lease_expires_at = NULL, "
    "last_error = '' WHERE id = ?";
constexpr char kRetry[] =
    "UPDATE captures SET status = 'queued', lease_owner = NULL, lease_expires_at = NULL, "
    "next_attempt_at = ?, last_error = ? WHERE id = ?";
constexpr char kRequeue[] =
    "UPDATE captures SET status = 'queued', lease_owner = NULL, lease_expires_at = NULL, "
    "next_attempt_at = ? WHERE status = 'processing'";
constexpr char kRequeueProcessed[] =
    "UPDATE captures SET status = 'queued', attempts = 0, lease_owner = NULL, "
    "lease_expires_at = NULL, next_attempt_at = ?, last_error = '' "
    "WHERE id = ? AND status = 'processed'";
constexpr char kCountQueue[] = "SELECT status, n FROM capture_status_counts";
constexpr char kCaptureExists[] = "SELECT patient_id FROM captures WHERE id = ?";
// Results are keyed (patient_id, capture_id, kind, name, version): lookups by capture go through
// the capture's patient so that they use that key.
#define PATIENT_OF_CAPTURE "(SELECT patient_id FROM captures WHERE id = ?1)"
constexpr char kLatestVersion[] =
    "SELECT id, version FROM results WHERE patient_id = ?4 AND capture_id = ?1 AND kind = ?2 AND "
    "name = ?3 ORDER BY version DESC LIMIT 1";
constexpr char kInsertResult[] =
    "INSERT INTO results (capture_id, kind, name, version, source, algorithm, "
    "algorithm_version, value, payload_json, inputs_json, provenance_json, blob_sha256, "
    "blob_size, actor, created_at, patient_id, id) "
    "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)";
constexpr char kFindResult[] = "SELECT " RESULT_COLS " FROM results r WHERE r.id = ?";
constexpr char kResultHistory[] =
    "SELECT " RESULT_COLS " FROM results r WHERE r.patient_id = " PATIENT_OF_CAPTURE
    " AND r.capture_id = ?1 AND r.kind = ?2 AND r.name = ?3 "
    "ORDER BY r.version";
constexpr char kLatestResults[] =
    "SELECT " RESULT_COLS " FROM results r WHERE r.patient_id = " PATIENT_OF_CAPTURE
    " AND r.capture_id = ?1 AND r.version = (SELECT MAX(r2.version) FROM results r2 WHERE "
    "r2.patient_id = r.patient_id AND r2.capture_id = ?1 AND r2.kind = r.kind AND "
    "r2.name = r.name) ORDER BY r.kind, r.name";
constexpr char kLatestAssessment[] =
    "SELECT id, version FROM assessments WHERE capture_id = ? ORDER BY version DESC LIMIT 1";
constexpr char kInsertAssessment[] =
    "INSERT INTO assessments (capture_id, version, grades_json, note, mask_sha256, mask_size, "
    "actor, created_at, id) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)";
constexpr char kAssessmentCols[] =
    "SELECT id, capture_id, version, grades_json, note, COALESCE(mask_sha256, ''), actor, "
    "created_at FROM assessments WHERE capture_id = ? ORDER BY version";
// Per-patient reads are two range scans over the patient-first primary keys, merged in C++: the
// patient's name is the caller's, site names come from the in-memory catalogue, and the latest
// score of each capture is the last version seen in key order. Joins and a correlated
// subquery per row cost four B-tree descents per capture instead (measured: about twice the CPU).
#define LOCAL_CAPTURE_COLS                                                               \
  "c.id, c.patient_id, c.site_id, c.condition, c.captured_at, c.received_at, c.device, " \
  "COALESCE(v.label, ''), c.media_type, c.blob_sha256, c.byte_size, c.width, c.height, " \
  "c.status, c.attempts, c.last_error"
constexpr char kPatientCaptures[] =
    "SELECT " LOCAL_CAPTURE_COLS
    " FROM captures c LEFT JOIN visits v ON v.id = c.visit_id "
    "WHERE c.patient_id = ?1 AND (?2 IS NULL OR c.site_id = ?2) AND "
    "(?3 IS NULL OR c.condition = ?3) AND c.captured_at BETWEEN ?4 AND ?5 "
    "ORDER BY c.captured_at, c.id";
constexpr char kCaptureScore[] = "SELECT " RESULT_COLS
                                 " FROM results r WHERE r.patient_id = ?1 AND r.capture_id = ?2 "
                                 "AND r.kind = 'score' AND r.name = ?3 ORDER BY r.version DESC "
                                 "LIMIT 1";
constexpr char kPatientScores[] = "SELECT " RESULT_COLS
                                  " FROM results r WHERE r.patient_id = ?1 AND "
                                  "r.kind = 'score' AND r.name = ?2";
constexpr char kInsertToken[] =
    "INSERT INTO tokens (id, secret_sha256, role, scope_json, label, created_at, expires_at) "
    "VALUES (?, ?, ?, ?, ?, ?, ?)";
#define TOKEN_COLS "id, role, scope_json, label, created_at, expires_at, revoked_at"
constexpr char kFindToken[] = "SELECT " TOKEN_COLS ", secret_sha256 FROM tokens WHERE id = ?";
constexpr char kListTokens[] = "SELECT " TOKEN_COLS " FROM tokens ORDER BY created_at, id";
constexpr char kRevokeToken[] = "UPDATE tokens SET revoked_at = ? WHERE id = ?";
constexpr char kListAudit[] =
    "SELECT id, at, actor, action, object, before_ref, after_ref, details_json FROM audit_log "
    "WHERE (?1 = '' OR object = ?1) AND id > ?2 ORDER BY id LIMIT ?3";
constexpr char kPatientBlobs[] =
    "SELECT blob_sha256 FROM captures WHERE patient_id = ?1 UNION "
    "SELECT blob_sha256 FROM results WHERE patient_id = ?1 AND blob_sha256 IS NOT NULL UNION "
    "SELECT a.mask_sha256 FROM assessments a JOIN captures c ON c.id = a.capture_id "
    "WHERE c.patient_id = ?1 AND a.mask_sha256 IS NOT NULL";
constexpr char kBlobReferenced[] =
    "SELECT EXISTS (SELECT 1 FROM captures WHERE blob_sha256 = ?1) OR "
    "EXISTS (SELECT 1 FROM results WHERE blob_sha256 = ?1) OR "
    "EXISTS (SELECT 1 FROM assessments WHERE mask_sha256 = ?1)";
constexpr char kAllBlobRefs[] =
    "SELECT sha, MAX(size) FROM (SELECT blob_sha256 AS sha, byte_size AS size FROM captures "
    "UNION ALL SELECT blob_sha256, blob_size FROM results WHERE blob_sha256 IS NOT NULL "
    "UNION ALL SELECT mask_sha256, mask_size FROM assessments WHERE mask_sha256 IS NOT NULL) "
    "GROUP BY sha";

// ---- connections ----------------------------------------------------------------------------

// Resets a cached statement when the caller is done, so that no read transaction stays open
// (an open statement would pin the WAL and block checkpoints).
class Stmt {
 public:
  explicit Stmt(SQLite::Statement& st) : st_(st) {}
  ~Stmt() {
    try {
      st_.reset();
    } catch (...) {  // reset reports the last step's error again; it was handled there
    }
  }
  Stmt(const Stmt&) = delete;
  Stmt& operator=(const Stmt&) = delete;
  SQLite::Statement* operator->() { return &st_; }
  SQLite::Statement& operator*() { return st_; }

 private:
  SQLite::Statement& st_;
};

struct Connection {
  std::unique_ptr<SQLite::Database> db;
  std::unordered_map<const char*, std::unique_ptr<SQLite::Statement>> cache;

  SQLite::Statement& Prepare(const char* sql) {
    auto& slot = cache[sql];
    if (!slot) {
      slot = std::make_unique<SQLite::Statement>(*db, sql);
    } else {
      slot->reset();
      slot->clearBindings();
    }
    return *slot;
  }
};

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
  return Error(ErrorCode::kStorage, std::string("database error: ") + e.what());
}

// Binds an optional value as NULL when absent.
template <typename T>
void BindOptional(SQLite::Statement& st, int index, const std::optional<T>& value) {
  if (value) {
    st.bind(index, *value);
  } else {
    st.bind(index);
  }
}

std::optional<std::int64_t> OptionalInt(const SQLite::Column& c) {
  if (c.isNull()) return std::nullopt;
  return c.getInt64();
}

Capture ReadCapture(SQLite::Statement& st, int i = 0) {
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
  return c;
}

Result ReadResult(SQLite::Statement& st, int i = 0) {
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

// ---- the repository ---------------------------------------------------------------------------

class SqliteRepository final : public Repository {
 public:
  SqliteRepository(const std::string& path, const RepositoryOptions& options)
      : path_(path), memory_(path == ":memory:"), options_(options) {
    if (!options_.clock) options_.clock = NowMs;
    // SQLite's own busy handler waits in short slices; Write()/Read() retry up to the deadline.
    slice_ms_ = std::min(options_.busy_timeout_ms, 1000);
    writer_.db = OpenDatabase(path_, true, slice_ms_);
    version_ = Migrate(*writer_.db, LatestSchemaVersion());
    SyncCatalogue();
  }

  int SchemaVersion() override { return version_; }

  // --- patients ---
  Patient CreatePatient(const PatientInfo& info, const std::string& actor) override {
    info.Check();
    ValidateActor(actor);
    Write([&](Connection& c) {
      if (PatientKey(c, info.id)) {
        throw Error(ErrorCode::kAlreadyExists, "patient " + info.id + " already exists");
      }
      Stmt st(c.Prepare(kInsertPatient));
      st->bind(1, info.id);
      BindOptional(*st, 2, info.fitzpatrick);
      st->bind(3, info.age_band);
      st->bind(4, info.attributes_json);
      st->bind(5, Now());
      st->exec();
      Audit(c, actor, "patient.create", "patient:" + info.id, "", "", "{}");
    });
    return *FindPatient(info.id);
  }

  std::optional<Patient> FindPatient(const std::string& patient_id) override {
    ValidateId(patient_id, "patient id");
    std::optional<Patient> out;
    Read([&](Connection& c) {
      Stmt st(c.Prepare(kFindPatient));
      st->bind(1, patient_id);
      if (st->executeStep()) out = ReadPatient(*st);
    });
    return out;
  }

  std::vector<Patient> ListPatients() override {
    std::vector<Patient> out;
    Read([&](Connection& c) {
      Stmt st(c.Prepare(kListPatients));
      while (st->executeStep()) out.push_back(ReadPatient(*st));
    });
    return out;
  }

  // --- captures ---
  IngestResult InsertCapture(const NewCapture& capture, const BlobRef& blob,
                             const std::string& actor) override {
    capture.Check();
    CheckBlob(blob);
    ValidateActor(actor);
    const std::int64_t site = SiteKey(capture.site);
    IngestResult out;
    Write([&](Connection& c) {
      const std::int64_t patient = RequirePatient(c, capture.patient_id);
      {
        Stmt st(c.Prepare(kFindCaptureByBlob));
        st->bind(1, patient);
        st->bind(2, site);
        st->bind(3, blob.sha256);
        if (st->executeStep()) {
          out.capture = ReadCapture(*st);
          out.created = false;
          return;
        }
      }
      std::optional<std::int64_t> visit;
      const TimeMs now = Now();
      if (!capture.visit.empty()) {
        {
          Stmt st(c.Prepare(kInsertVisit));
          st->bind(1, patient);
          st->bind(2, capture.visit);
          st->bind(3, now);
          st->exec();
        }
        Stmt st(c.Prepare(kFindVisit));
        st->bind(1, patient);
        st->bind(2, capture.visit);
        if (!st->executeStep()) throw Error(ErrorCode::kInternal, "visit row vanished");
        visit = st->getColumn(0).getInt64();
      }
      const std::int64_t id = NextId(c, "captures");
      {
        Stmt st(c.Prepare(kInsertCapture));
        st->bind(1, patient);
        st->bind(2, site);
        st->bind(3, ConditionName(capture.condition));
        st->bind(4, capture.captured_at);
        st->bind(5, now);
        st->bind(6, capture.device);
        BindOptional(*st, 7, visit);
        st->bind(8, capture.media_type);
        st->bind(9, blob.sha256);
        st->bind(10, blob.size);
        st->bind(11, capture.width);
        st->bind(12, capture.height);
        st->bind(13, now);
        st->bind(14, id);
        st->exec();
      }
      Audit(c, actor, "capture.ingest", "capture:" + std::to_string(id), "", "blob:" + blob.sha256,
            nlohmann::json{{"patient", capture.patient_id}, {"site", capture.site}}.dump());
      out.capture = *LoadCapture(c, id);
      out.created = true;
    });
    return out;
  }

  std::optional<Capture> FindCapture(std::int64_t capture_id) override {
    std::optional<Capture> out;
    Read([&](Connection& c) { out = LoadCapture(c, capture_id); });
    return out;
  }

  // --- work queue ---
  std::optional<WorkItem> ClaimWork(const std::string& worker, TimeMs lease_ms) override {
    ValidateActor(worker);
    if (lease_ms < 1 || lease_ms > TimeMs{24} * 3600 * 1000) {
      throw Error(ErrorCode::kInvalidArgument, "lease must be 1 ms .. 24 h");
    }
    std::optional<WorkItem> out;
    Write([&](Connection& c) {
      const TimeMs now = Now();
      for (;;) {
        std::int64_t id = 0;
        int attempts = 0;
        for (const char* sql : {kNextQueued, kNextExpired}) {
          Stmt st(c.Prepare(sql));
          st->bind(1, now);
          if (st->executeStep()) {
            id = st->getColumn(0).getInt64();
            attempts = st->getColumn(1).getInt();
            break;
          }
        }
        if (id == 0) return;
        if (attempts >= options_.max_attempts) {
          // A capture whose processing keeps killing the worker must not loop forever.
          Stmt st(c.Prepare(kGiveUp));
          st->bind(1, "gave up after " + std::to_string(attempts) + " attempts");
          st->bind(2, id);
          st->exec();
          continue;
        }
        Stmt st(c.Prepare(kClaim));
        st->bind(1, worker);
        st->bind(2, now + lease_ms);
        st->bind(3, id);
        st->exec();
        out = WorkItem{*LoadCapture(c, id), now + lease_ms};
        return;
      }
    });
    return out;
  }

  void CompleteWork(std::int64_t capture_id, const std::string& worker) override {
    ValidateActor(worker);
    Write([&](Connection& c) {
      CheckLease(c, capture_id, worker);
      Stmt st(c.Prepare(kComplete));
      st->bind(1, capture_id);
      st->exec();
    });
  }

  CaptureStatus FailWork(std::int64_t capture_id, const std::string& worker,
                         const std::string& error, bool retryable) override {
    ValidateActor(worker);
    const std::string message = SanitiseError(error);
    CaptureStatus status = CaptureStatus::kFailed;
    Write([&](Connection& c) {
      const int attempts = CheckLease(c, capture_id, worker);
      if (retryable && attempts < options_.max_attempts) {
        TimeMs delay = options_.retry_base_ms;
        for (int i = 1; i < attempts && delay < options_.retry_max_ms; ++i) delay *= 2;
        delay = std::min(delay, options_.retry_max_ms);
        Stmt st(c.Prepare(kRetry));
        st->bind(1, Now() + delay);
        st->bind(2, message);
        st->bind(3, capture_id);
        st->exec();
        status = CaptureStatus::kQueued;
      } else {
        Stmt st(c.Prepare(kGiveUp));
        st->bind(1, message);
        st->bind(2, capture_id);
        st->exec();
        status = CaptureStatus::kFailed;
      }
    });
    return status;
  }

  int RequeueProcessed(const std::vector<std::int64_t>& capture_ids, const std::string& reason,
                       const std::string& actor) override {
    ValidateActor(actor);
    int count = 0;
    Write([&](Connection& c) {
      count = 0;
      const TimeMs now = Now();
      for (const std::int64_t id : capture_ids) {
        Stmt st(c.Prepare(kRequeueProcessed));
        st->bind(1, now);
        st->bind(2, id);
        if (st->exec() == 0) continue;  // not processed (queued, in progress, failed or unknown)
        ++count;
        Audit(c, actor, "capture.requeue", "capture:" + std::to_string(id), "", "",
              nlohmann::json{{"reason", reason}}.dump());
      }
    });
    return count;
  }

  int RequeueInterrupted() override {
    int count = 0;
    Write([&](Connection& c) {
      Stmt st(c.Prepare(kRequeue));
      st->bind(1, Now());
      count = st->exec();
    });
    return count;
  }

  QueueCounts CountQueue() override {
    QueueCounts counts;
    Read([&](Connection& c) {
      counts = {};
      Stmt st(c.Prepare(kCountQueue));
      while (st->executeStep()) {
        const std::int64_t n = st->getColumn(1).getInt64();
        switch (ParseCaptureStatus(st->getColumn(0).getString())) {
          case CaptureStatus::kQueued:
            counts.queued = n;
            break;
          case CaptureStatus::kProcessing:
            counts.processing = n;
            break;
          case CaptureStatus::kProcessed:
            counts.processed = n;
            break;
          case CaptureStatus::kFailed:
            counts.failed = n;
            break;
        }
      }
    });
    return counts;
  }

  // --- results ---
  Result AppendResult(const NewResult& result, const std::optional<BlobRef>& blob,
                      const std::string& actor) override {
    result.Check();
    if (blob) CheckBlob(*blob);
    ValidateActor(actor);
    std::int64_t id = 0;
    Write([&](Connection& c) {
      const std::int64_t patient = RequireCapture(c, result.capture_id);
      std::int64_t previous_id = 0;
      int version = 1;
      {
        Stmt st(c.Prepare(kLatestVersion));
        st->bind(1, result.capture_id);
        st->bind(2, ResultKindName(result.kind));
        st->bind(3, result.name);
        st->bind(4, patient);
        if (st->executeStep()) {
          previous_id = st->getColumn(0).getInt64();
          version = st->getColumn(1).getInt() + 1;
        }
      }
      {
        Stmt st(c.Prepare(kInsertResult));
        st->bind(1, result.capture_id);
        st->bind(2, ResultKindName(result.kind));
        st->bind(3, result.name);
        st->bind(4, version);
        st->bind(5, ResultSourceName(result.source));
        st->bind(6, result.algorithm);
        st->bind(7, result.algorithm_version);
        BindOptional(*st, 8, result.value);
        st->bind(9, result.payload_json);
        st->bind(10, result.inputs_json);
        st->bind(11, result.provenance_json);
        if (blob) {
          st->bind(12, blob->sha256);
          st->bind(13, blob->size);
        } else {
          st->bind(12);
          st->bind(13);
        }
        st->bind(14, actor);
        st->bind(15, Now());
        st->bind(16, patient);
        id = NextId(c, "results");
        st->bind(17, id);
        st->exec();
      }
      Audit(c, actor, "result.append",
            "capture:" + std::to_string(result.capture_id) + "/" + ResultKindName(result.kind) +
                "/" + result.name,
            previous_id ? "result:" + std::to_string(previous_id) : "",
            "result:" + std::to_string(id),
            nlohmann::json{{"version", version},
                           {"source", ResultSourceName(result.source)},
                           {"algorithm", result.algorithm + "@" + result.algorithm_version}}
                .dump());
    });
    return LoadResult(id);
  }

  std::vector<Result> ResultHistory(std::int64_t capture_id, ResultKind kind,
                                    const std::string& name) override {
    ValidateId(name, "result name");
    std::vector<Result> out;
    Read([&](Connection& c) {
      out.clear();
      Stmt st(c.Prepare(kResultHistory));
      st->bind(1, capture_id);
      st->bind(2, ResultKindName(kind));
      st->bind(3, name);
      while (st->executeStep()) out.push_back(ReadResult(*st));
    });
    return out;
  }

  std::vector<Result> LatestResults(std::int64_t capture_id) override {
    std::vector<Result> out;
    Read([&](Connection& c) {
      out.clear();
      Stmt st(c.Prepare(kLatestResults));
      st->bind(1, capture_id);
      while (st->executeStep()) out.push_back(ReadResult(*st));
    });
    return out;
  }

  // --- assessments ---
  Assessment AppendAssessment(const NewAssessment& assessment, const std::optional<BlobRef>& mask,
                              const std::string& actor) override {
    assessment.Check();
    if (mask) CheckBlob(*mask);
    ValidateActor(actor);
    std::int64_t id = 0;
    Write([&](Connection& c) {
      RequireCapture(c, assessment.capture_id);
      std::int64_t previous_id = 0;
      int version = 1;
      {
        Stmt st(c.Prepare(kLatestAssessment));
        st->bind(1, assessment.capture_id);
        if (st->executeStep()) {
          previous_id = st->getColumn(0).getInt64();
          version = st->getColumn(1).getInt() + 1;
        }
      }
      {
        Stmt st(c.Prepare(kInsertAssessment));
        st->bind(1, assessment.capture_id);
        st->bind(2, version);
        st->bind(3, assessment.grades_json);
        st->bind(4, assessment.note);
        if (mask) {
          st->bind(5, mask->sha256);
          st->bind(6, mask->size);
        } else {
          st->bind(5);
          st->bind(6);
        }
        st->bind(7, actor);
        st->bind(8, Now());
        id = NextId(c, "assessments");
        st->bind(9, id);
        st->exec();
      }
      Audit(c, actor, "assessment.append", "capture:" + std::to_string(assessment.capture_id),
            previous_id ? "assessment:" + std::to_string(previous_id) : "",
            "assessment:" + std::to_string(id), nlohmann::json{{"version", version}}.dump());
    });
    for (Assessment& a : AssessmentHistory(assessment.capture_id)) {
      if (a.id == id) return a;
    }
    throw Error(ErrorCode::kInternal, "appended assessment not found");
  }

  std::vector<Assessment> AssessmentHistory(std::int64_t capture_id) override {
    std::vector<Assessment> out;
    Read([&](Connection& c) {
      out.clear();
      Stmt st(c.Prepare(kAssessmentCols));
      st->bind(1, capture_id);
      while (st->executeStep()) {
        Assessment a;
        a.id = st->getColumn(0).getInt64();
        a.capture_id = st->getColumn(1).getInt64();
        a.version = st->getColumn(2).getInt();
        a.grades_json = st->getColumn(3).getString();
        a.note = st->getColumn(4).getString();
        a.mask_sha256 = st->getColumn(5).getString();
        a.actor = st->getColumn(6).getString();
        a.created_at = st->getColumn(7).getInt64();
        out.push_back(std::move(a));
      }
    });
    return out;
  }

  // --- queries ---
  std::vector<SeriesPoint> TimeSeries(const SeriesQuery& query) override {
    query.Check();
    std::optional<std::int64_t> site;
    if (query.site) site = SiteKey(*query.site);
    std::vector<SeriesPoint> out;
    Read([&](Connection& c) {
      out.clear();
      const std::int64_t patient = RequirePatient(c, query.patient_id);
      ScanPatient(c, patient, query.patient_id, site, query.condition, query.from, query.to,
                  [&](Capture&& capture) {
                    SeriesPoint point;
                    point.capture = std::move(capture);
                    out.push_back(std::move(point));
                  });
      if (query.score_name.empty() || out.empty()) return;
      // One site is about a tenth of a patient's captures: look their scores up one by one
      // rather than scanning all of the patient's scores.
      if (query.site) {
        for (SeriesPoint& point : out) {
          Stmt st(c.Prepare(kCaptureScore));
          st->bind(1, patient);
          st->bind(2, point.capture.id);
          st->bind(3, query.score_name);
          if (st->executeStep()) point.score = ReadResult(*st);
        }
        return;
      }
      std::unordered_map<std::int64_t, Result> scores = PatientScores(c, patient, query.score_name);
      for (SeriesPoint& point : out) {
        auto it = scores.find(point.capture.id);
        if (it != scores.end()) point.score = std::move(it->second);
      }
    });
    return out;
  }

  // --- tokens ---
  CreatedToken CreateToken(const NewToken& token, const std::string& actor) override {
    token.Check();
    ValidateActor(actor);
    const std::string id = RandomHex(8);
    const std::string secret = RandomHex(32);
    Write([&](Connection& c) {
      for (const std::string& p : token.patient_scope) RequirePatient(c, p);
      Stmt st(c.Prepare(kInsertToken));
      st->bind(1, id);
      st->bind(2, Sha256Hex(secret));
      st->bind(3, RoleName(token.role));
      st->bind(4, nlohmann::json(token.patient_scope).dump());
      st->bind(5, token.label);
      st->bind(6, Now());
      BindOptional(*st, 7, token.expires_at);
      st->exec();
      Audit(c, actor, "token.create", "token:" + id, "", "",
            nlohmann::json{{"role", RoleName(token.role)}, {"label", token.label}}.dump());
    });
    CreatedToken out;
    out.token = "stk_" + id + "_" + secret;
    Read([&](Connection& c) {
      Stmt st(c.Prepare(kFindToken));
      st->bind(1, id);
      if (!st->executeStep()) throw Error(ErrorCode::kInternal, "created token not found");
      out.info = ReadToken(*st);
    });
    return out;
  }

  std::optional<TokenInfo> VerifyToken(const std::string& token) override {
    // "stk_" + 16 hex id + "_" + 64 hex secret
    if (token.size() != 85 || token.compare(0, 4, "stk_") != 0 || token[20] != '_') {
      return std::nullopt;
    }
    const std::string id = token.substr(4, 16);
    const std::string secret = token.substr(21);
    if (!IsLowerHex(id) || !IsLowerHex(secret)) return std::nullopt;
    std::optional<TokenInfo> out;
    std::string stored_hash;
    Read([&](Connection& c) {
      Stmt st(c.Prepare(kFindToken));
      st->bind(1, id);
      if (st->executeStep()) {
        out = ReadToken(*st);
        stored_hash = st->getColumn(7).getString();
      }
    });
    if (!out || !ConstantTimeEqual(Sha256Hex(secret), stored_hash)) return std::nullopt;
    const TimeMs now = Now();
    if (out->revoked_at || (out->expires_at && *out->expires_at <= now)) return std::nullopt;
    return out;
  }

  void RevokeToken(const std::string& token_id, const std::string& actor) override {
    if (token_id.size() != 16 || !IsLowerHex(token_id)) {
      throw Error(ErrorCode::kInvalidArgument, "a token id is 16 lower-case hex digits");
    }
    ValidateActor(actor);
    Write([&](Connection& c) {
      std::optional<TokenInfo> info;
      {
        Stmt st(c.Prepare(kFindToken));
        st->bind(1, token_id);
        if (st->executeStep()) info = ReadToken(*st);
      }
      if (!info) throw Error(ErrorCode::kNotFound, "no token " + token_id);
      if (info->revoked_at) return;
      Stmt st(c.Prepare(kRevokeToken));
      st->bind(1, Now());
      st->bind(2, token_id);
      st->exec();
      Audit(c, actor, "token.revoke", "token:" + token_id, "", "", "{}");
    });
  }

  std::vector<TokenInfo> ListTokens() override {
    std::vector<TokenInfo> out;
    Read([&](Connection& c) {
      out.clear();
      Stmt st(c.Prepare(kListTokens));
      while (st->executeStep()) out.push_back(ReadToken(*st));
    });
    return out;
  }

  // --- audit ---
  void AppendAudit(const AuditEntry& entry) override {
    ValidateActor(entry.actor);
    ValidateId(entry.action, "audit action");
    ValidateText(entry.object, "audit object", 256);
    ValidateText(entry.before, "audit before reference", 256);
    ValidateText(entry.after, "audit after reference", 256);
    const std::string details = entry.details_json.empty() ? "{}" : entry.details_json;
    ValidateJsonObject(details, "audit details");
    if (entry.object.empty()) throw Error(ErrorCode::kInvalidArgument, "audit object is empty");
    Write([&](Connection& c) {
      Audit(c, entry.actor, entry.action, entry.object, entry.before, entry.after, details);
    });
  }

  std::vector<AuditEntry> ListAudit(const AuditQuery& query) override {
    query.Check();
    std::vector<AuditEntry> out;
    Read([&](Connection& c) {
      out.clear();
      Stmt st(c.Prepare(kListAudit));
      st->bind(1, query.object);
      st->bind(2, query.after_id);
      st->bind(3, query.limit);
      while (st->executeStep()) {
        AuditEntry e;
        e.id = st->getColumn(0).getInt64();
        e.at = st->getColumn(1).getInt64();
        e.actor = st->getColumn(2).getString();
        e.action = st->getColumn(3).getString();
        e.object = st->getColumn(4).getString();
        e.before = st->getColumn(5).getString();
        e.after = st->getColumn(6).getString();
        e.details_json = st->getColumn(7).getString();
        out.push_back(std::move(e));
      }
    });
    return out;
  }

  // --- erasure and blob references ---
  std::vector<std::string> PatientBlobs(const std::string& patient_id) override {
    ValidateId(patient_id, "patient id");
    std::vector<std::string> out;
    Read([&](Connection& c) {
      out.clear();
      const std::int64_t patient = RequirePatient(c, patient_id);
      Stmt st(c.Prepare(kPatientBlobs));
      st->bind(1, patient);
      while (st->executeStep()) out.push_back(st->getColumn(0).getString());
    });
    return out;
  }

  void ErasePatient(const std::string& patient_id, const std::string& actor) override {
    ValidateId(patient_id, "patient id");
    ValidateActor(actor);
    Write([&](Connection& c) {
      const std::int64_t patient = RequirePatient(c, patient_id);
      const std::string key = std::to_string(patient);
      const std::string captures = "(SELECT id FROM captures WHERE patient_id = " + key + ")";
      c.db->exec("INSERT INTO erasure_guard (active) VALUES (1)");
      const int results = c.db->exec("DELETE FROM results WHERE patient_id = " + key);
      const int assessments = c.db->exec("DELETE FROM assessments WHERE capture_id IN " + captures);
      const int capture_rows = c.db->exec("DELETE FROM captures WHERE patient_id = " + key);
      c.db->exec("DELETE FROM visits WHERE patient_id = " + key);
      c.db->exec("DELETE FROM patients WHERE id = " + key);
      c.db->exec("DELETE FROM erasure_guard");
      Audit(c, actor, "patient.erase", "patient:" + patient_id, "", "",
            nlohmann::json{
                {"captures", capture_rows}, {"results", results}, {"assessments", assessments}}
                .dump());
    });
  }

  bool IsBlobReferenced(const std::string& sha256) override {
    if (!IsSha256Hex(sha256)) throw Error(ErrorCode::kInvalidArgument, "invalid blob hash");
    bool referenced = false;
    Read([&](Connection& c) {
      Stmt st(c.Prepare(kBlobReferenced));
      st->bind(1, sha256);
      referenced = st->executeStep() && st->getColumn(0).getInt() != 0;
    });
    return referenced;
  }

  void ForEachBlobRef(const std::function<void(const BlobRef&)>& fn) override {
    Read([&](Connection& c) {
      Stmt st(c.Prepare(kAllBlobRefs));
      while (st->executeStep()) {
        fn(BlobRef{st->getColumn(0).getString(), st->getColumn(1).getInt64()});
      }
    });
  }

  std::string IntegrityCheck() override {
    std::string report;
    Read([&](Connection& c) {
      report.clear();
      SQLite::Statement st(*c.db, "PRAGMA integrity_check");
      while (st.executeStep()) {
        if (!report.empty()) report += "\n";
        report += st.getColumn(0).getString();
      }
    });
    return report;
  }

 private:
  TimeMs Now() const { return options_.clock(); }

  // Reads an appended result back, for the fields the database assigned.
  Result LoadResult(std::int64_t result_id) {
    std::optional<Result> out;
    Read([&](Connection& c) {
      Stmt st(c.Prepare(kFindResult));
      st->bind(1, result_id);
      if (st->executeStep()) out = ReadResult(*st);
    });
    if (!out) throw Error(ErrorCode::kInternal, "appended result not found");
    return *out;
  }

  // Runs `fn` in a write transaction (BEGIN IMMEDIATE), retrying the whole transaction while the
  // database is busy, up to busy_timeout_ms. skintrack::Error thrown by `fn` rolls back and
  // propagates unchanged.
  void Write(const std::function<void(Connection&)>& fn) {
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
  void Read(const std::function<void(Connection&)>& fn) {
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

  void RunRead(Connection& conn, const std::function<void(Connection&)>& fn) {
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

  static void RollbackQuietly(Connection& conn) {
    try {
      if (!sqlite3_get_autocommit(conn.db->getHandle())) conn.db->exec("ROLLBACK");
    } catch (...) {  // the error that got us here is the one to report
    }
  }

  void Retry(const std::function<void()>& attempt) {
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

  std::unique_ptr<Connection> AcquireReader() {
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

  void ReleaseReader(std::unique_ptr<Connection> conn) {
    std::lock_guard<std::mutex> lock(pool_mutex_);
    idle_readers_.push_back(std::move(conn));
    pool_cv_.notify_one();
  }

  void SyncCatalogue() {
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

  std::int64_t SiteKey(const std::string& site) const {
    auto it = site_keys_.find(site);
    if (it == site_keys_.end()) throw Error(ErrorCode::kNotFound, "unknown body site " + site);
    return it->second;
  }

  static std::int64_t NextId(Connection& c, const char* table) {
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

  // Latest version of score `name` of each capture of the patient, by capture id.
  static std::unordered_map<std::int64_t, Result> PatientScores(Connection& c, std::int64_t patient,
                                                                const std::string& name) {
    std::unordered_map<std::int64_t, Result> scores;
    Stmt st(c.Prepare(kPatientScores));
    st->bind(1, patient);
    st->bind(2, name);
    while (st->executeStep()) {
      Result r = ReadResult(*st);
      const std::int64_t capture = r.capture_id;
      scores[capture] = std::move(r);  // key order: a later row is a later version
    }
    return scores;
  }

  // Calls `fn` for each capture of the patient matching the filters, oldest first.
  void ScanPatient(Connection& c, std::int64_t patient, const std::string& patient_id,
                   std::optional<std::int64_t> site, std::optional<Condition> condition,
                   TimeMs from, TimeMs to, const std::function<void(Capture&&)>& fn) const {
    Stmt st(c.Prepare(kPatientCaptures));
    st->bind(1, patient);
    BindOptional(*st, 2, site);
    if (condition) {
      st->bind(3, ConditionName(*condition));
    } else {
      st->bind(3);
    }
    st->bind(4, from);
    st->bind(5, to);
    while (st->executeStep()) {
      Capture capture = ReadCapture(*st);  // columns 1 and 2 hold keys here: replace them
      capture.patient_id = patient_id;
      capture.site = SiteName(st->getColumn(2).getInt64());
      fn(std::move(capture));
    }
  }

  const std::string& SiteName(std::int64_t key) const {
    auto it = site_names_.find(key);
    if (it == site_names_.end()) {
      throw Error(ErrorCode::kInternal, "body site key " + std::to_string(key) + " unknown");
    }
    return it->second;
  }

  static std::optional<std::int64_t> PatientKey(Connection& c, const std::string& patient_id) {
    Stmt st(c.Prepare(kFindPatientKey));
    st->bind(1, patient_id);
    if (!st->executeStep()) return std::nullopt;
    return st->getColumn(0).getInt64();
  }

  static std::int64_t RequirePatient(Connection& c, const std::string& patient_id) {
    const auto key = PatientKey(c, patient_id);
    if (!key) throw Error(ErrorCode::kNotFound, "unknown patient " + patient_id);
    return *key;
  }

  // Returns the capture's patient key.
  static std::int64_t RequireCapture(Connection& c, std::int64_t capture_id) {
    Stmt st(c.Prepare(kCaptureExists));
    st->bind(1, capture_id);
    if (!st->executeStep()) {
      throw Error(ErrorCode::kNotFound, "unknown capture " + std::to_string(capture_id));
    }
    return st->getColumn(0).getInt64();
  }

  static std::optional<Capture> LoadCapture(Connection& c, std::int64_t capture_id) {
    Stmt st(c.Prepare(kFindCapture));
    st->bind(1, capture_id);
    if (!st->executeStep()) return std::nullopt;
    return ReadCapture(*st);
  }

  // Returns the attempts so far. The caller must hold the lease of a capture being processed.
  static int CheckLease(Connection& c, std::int64_t capture_id, const std::string& worker) {
    Stmt st(c.Prepare(kLease));
    st->bind(1, capture_id);
    if (!st->executeStep()) {
      throw Error(ErrorCode::kNotFound, "unknown capture " + std::to_string(capture_id));
    }
    if (st->getColumn(0).getString() != "processing" || st->getColumn(1).getString() != worker) {
      throw Error(ErrorCode::kConflict, "capture " + std::to_string(capture_id) +
                                            " is not leased to " + worker +
                                            " (the lease expired or was never taken)");
    }
    return st->getColumn(2).getInt();
  }

  void Audit(Connection& c, const std::string& actor, const std::string& action,
             const std::string& object, const std::string& before, const std::string& after,
             const std::string& details) {
    Stmt st(c.Prepare(kInsertAudit));
    st->bind(1, Now());
    st->bind(2, actor);
    st->bind(3, action);
    st->bind(4, object);
    st->bind(5, before);
    st->bind(6, after);
    st->bind(7, details);
    st->exec();
  }

  std::string path_;
  bool memory_;
  RepositoryOptions options_;
  int slice_ms_ = 1000;
  int version_ = 0;
  std::mutex writer_mutex_;
  Connection writer_;
  // Written once in the constructor, read-only afterwards.
  std::unordered_map<std::string, std::int64_t> site_keys_;
  std::unordered_map<std::int64_t, std::string> site_names_;
  std::mutex pool_mutex_;
  std::condition_variable pool_cv_;
  std::vector<std::unique_ptr<Connection>> idle_readers_;
  int open_readers_ = 0;
};

}  // namespace

int LatestSchemaVersion() noexcept { return static_cast<int>(internal::Migrations().size()); }

std::unique_ptr<Repository> OpenSqliteRepository(const std::string& path,
                                                 const RepositoryOptions& options) {
  options.Check();
  if (path.empty()) throw Error(ErrorCode::kInvalidArgument, "database path is empty");
  try {
    return std::make_unique<SqliteRepository>(path, options);
  } catch (const SQLite::Exception& e) {
    throw Error(ErrorCode::kStorage, "cannot open database " + path + ": " + e.what());
  }
}

namespace internal {

void MigrateSqliteTo(const std::string& path, int version) {
  try {
    SQLite::Database db(path, SQLite::OPEN_READWRITE | SQLite::OPEN_CREATE);
    ApplyPragmas(db, path != ":memory:", true);
    if (version > 0) Migrate(db, version);
  } catch (const SQLite::Exception& e) {
    throw Translate(e);
  }
}

void ExecSqlite(const std::string& path, const std::string& sql) {
  try {
    SQLite::Database db(path, SQLite::OPEN_READWRITE | SQLite::OPEN_CREATE);
    db.exec(sql);
  } catch (const SQLite::Exception& e) {
    throw Translate(e);
  }
}

}  // namespace internal
}  // namespace skintrack::storage
