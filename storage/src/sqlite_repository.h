// Private to storage/src: the pieces of the SQLite implementation of Repository shared by the
// sqlite_*.cpp files (SQL text, connection helpers, row readers and the repository class). Only
// storage/src and storage/bench see SQLiteCpp / sqlite3.h; SQLite::Exception is translated into
// skintrack::Error in these files.
//
// Connections: one writer connection behind a mutex (SQLite allows one writer anyway; queueing in
// process is fairer than spinning on SQLITE_BUSY) plus a pool of read-only connections, which WAL
// lets run beside the writer. A ":memory:" database exists per connection, so it gets the writer
// connection only. Statements are prepared once per connection and cached.
#pragma once

#include <SQLiteCpp/Column.h>
#include <SQLiteCpp/Database.h>
#include <SQLiteCpp/Exception.h>
#include <SQLiteCpp/Statement.h>

#include <chrono>
#include <condition_variable>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "skintrack/core/error.h"
#include "skintrack/storage/repository.h"

namespace skintrack::storage::detail {

using Clock = std::chrono::steady_clock;

// ---- SQL ------------------------------------------------------------------------------------
// Statements are cached by the address of these constants (inline: one address in every file).

#define CAPTURE_COLS                                                                     \
  "c.id, p.pseudonym, s.name, c.condition, c.captured_at, c.received_at, c.device, "     \
  "COALESCE(v.label, ''), c.media_type, c.blob_sha256, c.byte_size, c.width, c.height, " \
  "c.status, c.attempts, c.last_error, c.orientation"
#define CAPTURE_FROM                                                                     \
  " FROM captures c JOIN patients p ON p.id = c.patient_id JOIN body_sites s ON s.id = " \
  "c.site_id LEFT JOIN visits v ON v.id = c.visit_id "
#define RESULT_COLS                                                                             \
  "r.id, r.capture_id, r.kind, r.name, r.version, r.source, r.algorithm, r.algorithm_version, " \
  "r.value, r.payload_json, r.inputs_json, r.provenance_json, COALESCE(r.blob_sha256, ''), "    \
  "r.actor, r.created_at"

inline constexpr char kFindPatientKey[] = "SELECT id FROM patients WHERE pseudonym = ?";
inline constexpr char kFindPatient[] =
    "SELECT pseudonym, fitzpatrick, age_band, attributes_json, created_at FROM patients "
    "WHERE pseudonym = ?";
inline constexpr char kListPatients[] =
    "SELECT pseudonym, fitzpatrick, age_band, attributes_json, created_at FROM patients "
    "ORDER BY pseudonym";
inline constexpr char kInsertPatient[] =
    "INSERT INTO patients (pseudonym, fitzpatrick, age_band, attributes_json, created_at) "
    "VALUES (?, ?, ?, ?, ?)";
inline constexpr char kInsertAudit[] =
    "INSERT INTO audit_log (at, actor, action, object, before_ref, after_ref, details_json) "
    "VALUES (?, ?, ?, ?, ?, ?, ?)";
inline constexpr char kFindCapture[] = "SELECT " CAPTURE_COLS CAPTURE_FROM "WHERE c.id = ?";
inline constexpr char kFindCaptureByBlob[] = "SELECT " CAPTURE_COLS CAPTURE_FROM
                                             "WHERE c.patient_id = ? AND c.site_id = ? AND "
                                             "c.blob_sha256 = ?";
// Uses the partial unique index captures_upload (migration 7).
inline constexpr char kFindCaptureByUpload[] = "SELECT " CAPTURE_COLS CAPTURE_FROM
                                               "WHERE c.patient_id = ? AND "
                                               "c.upload_sha256 = ?";
inline constexpr char kInsertVisit[] =
    "INSERT OR IGNORE INTO visits (patient_id, label, created_at) VALUES (?, ?, ?)";
inline constexpr char kFindVisit[] = "SELECT id FROM visits WHERE patient_id = ? AND label = ?";
// Ids come from id_sequences (migration 6), never reused even after an erasure.
inline constexpr char kNextId[] =
    "UPDATE id_sequences SET last_id = last_id + 1 WHERE name = ? RETURNING last_id";
inline constexpr char kInsertCapture[] =
    "INSERT INTO captures (patient_id, site_id, condition, captured_at, received_at, device, "
    "visit_id, media_type, blob_sha256, byte_size, width, height, status, next_attempt_at, id, "
    "upload_sha256, orientation) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, 'queued', ?, ?, ?, ?)";
inline constexpr char kNextQueued[] =
    "SELECT id, attempts FROM captures WHERE status = 'queued' AND next_attempt_at <= ? "
    "ORDER BY next_attempt_at, id LIMIT 1";
inline constexpr char kNextExpired[] =
    "SELECT id, attempts FROM captures WHERE status = 'processing' AND lease_expires_at < ? "
    "ORDER BY lease_expires_at, id LIMIT 1";
inline constexpr char kClaim[] =
    "UPDATE captures SET status = 'processing', attempts = attempts + 1, lease_owner = ?, "
    "lease_expires_at = ? WHERE id = ?";
inline constexpr char kGiveUp[] =
    "UPDATE captures SET status = 'failed', lease_owner = NULL, lease_expires_at = NULL, "
    "last_error = ? WHERE id = ?";
inline constexpr char kLease[] =
    "SELECT status, COALESCE(lease_owner, ''), attempts FROM captures "
    "WHERE id = ?";
inline constexpr char kComplete[] =
    "UPDATE captures SET status = 'processed', lease_owner = NULL, lease_expires_at = NULL, "
    "last_error = '' WHERE id = ?";
inline constexpr char kRetry[] =
    "UPDATE captures SET status = 'queued', lease_owner = NULL, lease_expires_at = NULL, "
    "next_attempt_at = ?, last_error = ? WHERE id = ?";
// The claim incremented attempts; a release undoes that (MAX: never below zero).
inline constexpr char kRelease[] =
    "UPDATE captures SET status = 'queued', attempts = MAX(attempts - 1, 0), lease_owner = NULL, "
    "lease_expires_at = NULL, next_attempt_at = ?, last_error = ? WHERE id = ?";
inline constexpr char kRenew[] =
    "UPDATE captures SET lease_expires_at = ? WHERE id = ? AND status = 'processing' AND "
    "lease_owner = ?";
inline constexpr char kRequeue[] =
    "UPDATE captures SET status = 'queued', lease_owner = NULL, lease_expires_at = NULL, "
    "next_attempt_at = ? WHERE status = 'processing'";
inline constexpr char kRequeueProcessed[] =
    "UPDATE captures SET status = 'queued', attempts = 0, lease_owner = NULL, "
    "lease_expires_at = NULL, next_attempt_at = ?, last_error = '' "
    "WHERE id = ? AND status = 'processed'";
inline constexpr char kLeaseProcessed[] =
    "UPDATE captures SET status = 'processing', attempts = 0, lease_owner = ?, "
    "lease_expires_at = ?, last_error = '' WHERE id = ? AND status = 'processed'";
inline constexpr char kCountQueue[] = "SELECT status, n FROM capture_status_counts";
inline constexpr char kCaptureExists[] = "SELECT patient_id FROM captures WHERE id = ?";
// Results are keyed (patient_id, capture_id, kind, name, version): lookups by capture go through
// the capture's patient so that they use that key.
#define PATIENT_OF_CAPTURE "(SELECT patient_id FROM captures WHERE id = ?1)"
inline constexpr char kLatestVersion[] =
    "SELECT id, version FROM results WHERE patient_id = ?4 AND capture_id = ?1 AND kind = ?2 AND "
    "name = ?3 ORDER BY version DESC LIMIT 1";
inline constexpr char kInsertResult[] =
    "INSERT INTO results (capture_id, kind, name, version, source, algorithm, "
    "algorithm_version, value, payload_json, inputs_json, provenance_json, blob_sha256, "
    "blob_size, actor, created_at, patient_id, id) "
    "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)";
inline constexpr char kFindResult[] = "SELECT " RESULT_COLS " FROM results r WHERE r.id = ?";
inline constexpr char kResultHistory[] =
    "SELECT " RESULT_COLS " FROM results r WHERE r.patient_id = " PATIENT_OF_CAPTURE
    " AND r.capture_id = ?1 AND r.kind = ?2 AND r.name = ?3 "
    "ORDER BY r.version";
inline constexpr char kLatestResults[] =
    "SELECT " RESULT_COLS " FROM results r WHERE r.patient_id = " PATIENT_OF_CAPTURE
    " AND r.capture_id = ?1 AND r.version = (SELECT MAX(r2.version) FROM results r2 WHERE "
    "r2.patient_id = r.patient_id AND r2.capture_id = ?1 AND r2.kind = r.kind AND "
    "r2.name = r.name) ORDER BY r.kind, r.name";
inline constexpr char kLatestAssessment[] =
    "SELECT id, version FROM assessments WHERE capture_id = ? ORDER BY version DESC LIMIT 1";
inline constexpr char kInsertAssessment[] =
    "INSERT INTO assessments (capture_id, version, grades_json, note, mask_sha256, mask_size, "
    "actor, created_at, id) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)";
inline constexpr char kAssessmentCols[] =
    "SELECT id, capture_id, version, grades_json, note, COALESCE(mask_sha256, ''), actor, "
    "created_at FROM assessments WHERE capture_id = ? ORDER BY version";
// Per-patient reads are two range scans over the patient-first primary keys, merged in C++: the
// patient's name is the caller's, site names come from the in-memory catalogue, and the latest
// score of each capture is the last version seen in key order. Joins and a correlated
// subquery per row cost four B-tree descents per capture instead (measured: about twice the CPU).
#define LOCAL_CAPTURE_COLS                                                               \
  "c.id, c.patient_id, c.site_id, c.condition, c.captured_at, c.received_at, c.device, " \
  "COALESCE(v.label, ''), c.media_type, c.blob_sha256, c.byte_size, c.width, c.height, " \
  "c.status, c.attempts, c.last_error, c.orientation"
inline constexpr char kPatientCaptures[] =
    "SELECT " LOCAL_CAPTURE_COLS
    " FROM captures c LEFT JOIN visits v ON v.id = c.visit_id "
    "WHERE c.patient_id = ?1 AND (?2 IS NULL OR c.site_id = ?2) AND "
    "(?3 IS NULL OR c.condition = ?3) AND c.captured_at BETWEEN ?4 AND ?5 "
    "ORDER BY c.captured_at, c.id";
inline constexpr char kCaptureScore[] =
    "SELECT " RESULT_COLS
    " FROM results r WHERE r.patient_id = ?1 AND r.capture_id = ?2 "
    "AND r.kind = ?4 AND r.name = ?3 ORDER BY r.version DESC "
    "LIMIT 1";
inline constexpr char kPatientScores[] = "SELECT " RESULT_COLS
                                         " FROM results r WHERE r.patient_id = ?1 AND "
                                         "r.kind = ?3 AND r.name = ?2";
inline constexpr char kInsertToken[] =
    "INSERT INTO tokens (id, secret_sha256, role, scope_json, label, created_at, expires_at) "
    "VALUES (?, ?, ?, ?, ?, ?, ?)";
#define TOKEN_COLS "id, role, scope_json, label, created_at, expires_at, revoked_at"
inline constexpr char kFindToken[] =
    "SELECT " TOKEN_COLS ", secret_sha256 FROM tokens WHERE id = ?";
inline constexpr char kListTokens[] = "SELECT " TOKEN_COLS " FROM tokens ORDER BY created_at, id";
inline constexpr char kRevokeToken[] = "UPDATE tokens SET revoked_at = ? WHERE id = ?";
inline constexpr char kListAudit[] =
    "SELECT id, at, actor, action, object, before_ref, after_ref, details_json FROM audit_log "
    "WHERE (?1 = '' OR object = ?1) AND id > ?2 ORDER BY id LIMIT ?3";
inline constexpr char kPatientBlobs[] =
    "SELECT blob_sha256 FROM captures WHERE patient_id = ?1 UNION "
    "SELECT blob_sha256 FROM results WHERE patient_id = ?1 AND blob_sha256 IS NOT NULL UNION "
    "SELECT a.mask_sha256 FROM assessments a JOIN captures c ON c.id = a.capture_id "
    "WHERE c.patient_id = ?1 AND a.mask_sha256 IS NOT NULL UNION "
    "SELECT v.content_sha256 FROM annotation_versions v JOIN annotations n ON "
    "n.id = v.annotation_id JOIN captures c ON c.id = n.capture_id WHERE c.patient_id = ?1";
inline constexpr char kBlobReferenced[] =
    "SELECT EXISTS (SELECT 1 FROM captures WHERE blob_sha256 = ?1) OR "
    "EXISTS (SELECT 1 FROM results WHERE blob_sha256 = ?1) OR "
    "EXISTS (SELECT 1 FROM assessments WHERE mask_sha256 = ?1) OR "
    "EXISTS (SELECT 1 FROM annotation_versions WHERE content_sha256 = ?1)";
inline constexpr char kAllBlobRefs[] =
    "SELECT sha, MAX(size) FROM (SELECT blob_sha256 AS sha, byte_size AS size FROM captures "
    "UNION ALL SELECT blob_sha256, blob_size FROM results WHERE blob_sha256 IS NOT NULL "
    "UNION ALL SELECT mask_sha256, mask_size FROM assessments WHERE mask_sha256 IS NOT NULL "
    "UNION ALL SELECT content_sha256, content_size FROM annotation_versions) "
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

bool IsBusy(const SQLite::Exception& e);
Error Translate(const SQLite::Exception& e);

// Binds an optional value as NULL when absent.
template <typename T>
void BindOptional(SQLite::Statement& st, int index, const std::optional<T>& value) {
  if (value) {
    st.bind(index, *value);
  } else {
    st.bind(index);
  }
}

std::optional<std::int64_t> OptionalInt(const SQLite::Column& c);
Capture ReadCapture(SQLite::Statement& st, int i = 0);
Result ReadResult(SQLite::Statement& st, int i = 0);
Patient ReadPatient(SQLite::Statement& st);
TokenInfo ReadToken(SQLite::Statement& st);
std::string RandomHex(std::size_t bytes);
bool IsLowerHex(std::string_view s);
bool ConstantTimeEqual(const std::string& a, const std::string& b);
std::string SanitiseError(const std::string& error);
void CheckBlob(const BlobRef& blob);
void ApplyPragmas(SQLite::Database& db, bool file, bool writer);
int Migrate(SQLite::Database& db, int target);
std::unique_ptr<SQLite::Database> OpenDatabase(const std::string& path, bool writer,
                                               int busy_timeout_ms);

// ---- the repository ---------------------------------------------------------------------------
// Methods are defined by area in sqlite_captures.cpp (patients, captures, work queue),
// sqlite_results.cpp (results, assessments, time series), sqlite_tokens_audit.cpp (tokens, audit,
// erasure, blob references), sqlite_annotations.cpp (annotations, assignments) and
// sqlite_repository.cpp (construction, transactions, connections).

class SqliteRepository final : public Repository {
 public:
  SqliteRepository(const std::string& path, const RepositoryOptions& options);
  int SchemaVersion() override { return version_; }

  // --- patients ---
  Patient CreatePatient(const PatientInfo& info, const std::string& actor) override;
  std::optional<Patient> FindPatient(const std::string& patient_id) override;
  std::vector<Patient> ListPatients() override;

  // --- captures ---
  IngestResult InsertCapture(const NewCapture& capture, const BlobRef& blob,
                             const std::string& actor) override;
  std::optional<Capture> FindCapture(std::int64_t capture_id) override;
  std::optional<Capture> FindCaptureByUpload(const std::string& patient_id,
                                             const std::string& upload_sha256) override;

  // --- work queue ---
  std::optional<WorkItem> ClaimWork(const std::string& worker, TimeMs lease_ms) override;
  void CompleteWork(std::int64_t capture_id, const std::string& worker) override;
  CaptureStatus FailWork(std::int64_t capture_id, const std::string& worker,
                         const std::string& error, bool retryable) override;
  void ReleaseWork(std::int64_t capture_id, const std::string& worker, const std::string& error,
                   TimeMs delay_ms) override;
  bool LeaseProcessed(std::int64_t capture_id, const std::string& worker, TimeMs lease_ms,
                      const std::string& reason) override;
  int RequeueProcessed(const std::vector<std::int64_t>& capture_ids, const std::string& reason,
                       const std::string& actor) override;
  TimeMs RenewLease(std::int64_t capture_id, const std::string& worker, TimeMs lease_ms) override;
  int RequeueInterrupted(const std::string& own_worker_prefix) override;
  QueueCounts CountQueue() override;

  // --- results ---
  Result AppendResult(const NewResult& result, const std::optional<BlobRef>& blob,
                      const std::string& actor) override;
  std::vector<Result> ResultHistory(std::int64_t capture_id, ResultKind kind,
                                    const std::string& name) override;
  std::vector<Result> LatestResults(std::int64_t capture_id) override;

  // --- assessments ---
  Assessment AppendAssessment(const NewAssessment& assessment, const std::optional<BlobRef>& mask,
                              const std::string& actor) override;
  std::vector<Assessment> AssessmentHistory(std::int64_t capture_id) override;

  // --- annotations (sqlite_annotations.cpp) ---
  AnnotationVersion AppendAnnotationVersion(const NewAnnotationVersion& version,
                                            const BlobRef& content,
                                            const std::string& actor) override;
  std::vector<AnnotationVersion> LatestAnnotations(std::int64_t capture_id) override;
  std::vector<AnnotationVersion> AnnotationHistory(std::int64_t annotation_id) override;
  std::optional<AnnotationVersion> FindAnnotation(std::int64_t capture_id,
                                                  const std::string& author) override;
  std::optional<AnnotationVersion> FindAnnotationVersion(std::int64_t version_id) override;
  std::vector<std::int64_t> AnnotatedCaptures(std::int64_t after_capture_id, int limit) override;
  bool AssignCapture(const NewAssignment& assignment, const std::string& actor) override;
  std::vector<Assignment> ListAssignments(std::optional<std::int64_t> capture_id,
                                          const std::string& annotator) override;
  std::vector<std::int64_t> AnnotationQueue(const std::string& annotator, int limit) override;
  std::vector<std::int64_t> ReviewQueue(int limit) override;

  // --- queries ---
  std::vector<SeriesPoint> TimeSeries(const SeriesQuery& query) override;

  // --- tokens ---
  CreatedToken CreateToken(const NewToken& token, const std::string& actor) override;
  std::optional<TokenInfo> VerifyToken(const std::string& token) override;
  TokenInfo RevokeToken(const std::string& token_id, const std::string& actor) override;
  std::vector<TokenInfo> ListTokens() override;

  // --- audit ---
  void AppendAudit(const AuditEntry& entry) override;
  std::vector<AuditEntry> ListAudit(const AuditQuery& query) override;

  // --- erasure and blob references ---
  std::vector<std::string> PatientBlobs(const std::string& patient_id) override;
  void ErasePatient(const std::string& patient_id, const std::string& actor) override;
  bool IsBlobReferenced(const std::string& sha256) override;
  void ForEachBlobRef(const std::function<void(const BlobRef&)>& fn) override;
  std::string IntegrityCheck() override;
  // One node: the data directory's files keep what PostgreSQL's shared_settings table holds.
  std::optional<std::string> SharedSetting(const std::string& name,
                                           const std::string& value_if_absent) override {
    ValidateSharedSetting(name, value_if_absent);
    return std::nullopt;
  }

 private:
  TimeMs Now() const { return options_.clock(); }
  Result LoadResult(std::int64_t result_id);
  void Write(const std::function<void(Connection&)>& fn);
  void Read(const std::function<void(Connection&)>& fn);
  void RunRead(Connection& conn, const std::function<void(Connection&)>& fn);
  static void RollbackQuietly(Connection& conn);
  void Retry(const std::function<void()>& attempt);
  std::unique_ptr<Connection> AcquireReader();
  void ReleaseReader(std::unique_ptr<Connection> conn);
  void SyncCatalogue();
  std::int64_t SiteKey(const std::string& site) const;
  static std::int64_t NextId(Connection& c, const char* table);
  static std::unordered_map<std::int64_t, Result> PatientScores(Connection& c, std::int64_t patient,
                                                                ResultKind kind,
                                                                const std::string& name);
  void ScanPatient(Connection& c, std::int64_t patient, const std::string& patient_id,
                   std::optional<std::int64_t> site, std::optional<Condition> condition,
                   TimeMs from, TimeMs to, const std::function<void(Capture&&)>& fn) const;
  const std::string& SiteName(std::int64_t key) const;
  static std::optional<std::int64_t> PatientKey(Connection& c, const std::string& patient_id);
  static std::int64_t RequirePatient(Connection& c, const std::string& patient_id);
  static std::int64_t RequireCapture(Connection& c, std::int64_t capture_id);
  static std::optional<Capture> LoadCapture(Connection& c, std::int64_t capture_id);
  static int CheckLease(Connection& c, std::int64_t capture_id, const std::string& worker);
  void Audit(Connection& c, const std::string& actor, const std::string& action,
             const std::string& object, const std::string& before, const std::string& after,
             const std::string& details);

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

}  // namespace skintrack::storage::detail
