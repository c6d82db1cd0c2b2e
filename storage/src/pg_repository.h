// Private to storage/src: the PostgreSQL implementation of Repository (issue 17; docs/storage.md
// "PostgreSQL backend"). Methods by area: pg_repository.cpp (connections, transactions,
// migrations), pg_captures.cpp (patients, captures, work queue), pg_results.cpp (results,
// assessments, time series), pg_tokens_audit.cpp (tokens, audit, erasure, blob references),
// pg_annotations.cpp (annotations, assignments).
//
// Concurrency: several processes (nodes) share one database, so nothing may rely on a single
// writer as the SQLite backend does. Writes run in READ COMMITTED transactions and take explicit
// row locks where SQLite's single writer made a read-then-write safe:
//   - the work queue claims with FOR NO KEY UPDATE SKIP LOCKED and checks leases FOR NO KEY UPDATE;
//   - appends to a capture and inserts for a patient lock the parent row FOR KEY SHARE, which an
//     erasure (FOR UPDATE on the patient) excludes;
//   - an annotation is locked FOR UPDATE before its next version is appended (expected_version);
//   - checks-then-inserts (a new patient, capture deduplication, version max+1) are backed by the
//     same UNIQUE constraints as in SQLite: a unique violation from a concurrent insert retries
//     the whole transaction, whose check then sees the other insert;
//   - the audit insert, every audited write's last statement, takes the audit order lock shared,
//     and ListAudit takes it exclusive, so that audit ids become visible in id order (Audit).
// Serialization failures (40001) and deadlocks (40P01) also retry, up to busy_timeout_ms. Reads
// run in REPEATABLE READ READ ONLY transactions: one snapshot per call, as SQLite's read
// transactions give (ListAudit: READ COMMITTED, one statement after its lock).
#pragma once

#include <condition_variable>
#include <cstdint>
#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <unordered_map>
#include <vector>

#include "pg_connection.h"
#include "skintrack/core/error.h"
#include "skintrack/storage/repository.h"

namespace skintrack::storage::detail {

using pg::Params;
using pg::PgConnection;
using pg::PgError;
using pg::PgResult;

// Translates a libpq failure into skintrack::Error: unique and other integrity violations ->
// kConflict (as SQLite's constraint errors), 53100 disk_full -> kStorageFull, a lost connection
// -> kStorage ("database unavailable"), anything else -> kStorage.
Error TranslatePg(const PgError& e);

Capture ReadPgCapture(const PgResult& r, int row);
Result ReadPgResult(const PgResult& r, int row);

// Column lists shared by the pg_*.cpp files.
#define PG_CAPTURE_COLS                                                                  \
  "c.id, p.pseudonym, s.name, c.condition, c.captured_at, c.received_at, c.device, "     \
  "COALESCE(v.label, ''), c.media_type, c.blob_sha256, c.byte_size, c.width, c.height, " \
  "c.status, c.attempts, c.last_error, c.orientation"
#define PG_CAPTURE_FROM                                                                  \
  " FROM captures c JOIN patients p ON p.id = c.patient_id JOIN body_sites s ON s.id = " \
  "c.site_id LEFT JOIN visits v ON v.id = c.visit_id "
#define PG_RESULT_COLS                                                                          \
  "r.id, r.capture_id, r.kind, r.name, r.version, r.source, r.algorithm, r.algorithm_version, " \
  "r.value, r.payload_json, r.inputs_json, r.provenance_json, COALESCE(r.blob_sha256, ''), "    \
  "r.actor, r.created_at"

class PgRepository final : public Repository {
 public:
  PgRepository(const std::string& url, const RepositoryOptions& options);
  int SchemaVersion() override { return version_; }

  Patient CreatePatient(const PatientInfo& info, const std::string& actor) override;
  std::optional<Patient> FindPatient(const std::string& patient_id) override;
  std::vector<Patient> ListPatients() override;

  IngestResult InsertCapture(const NewCapture& capture, const BlobRef& blob,
                             const std::string& actor) override;
  std::optional<Capture> FindCapture(std::int64_t capture_id) override;
  std::optional<Capture> FindCaptureByUpload(const std::string& patient_id,
                                             const std::string& upload_sha256) override;

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

  Result AppendResult(const NewResult& result, const std::optional<BlobRef>& blob,
                      const std::string& actor) override;
  std::vector<Result> ResultHistory(std::int64_t capture_id, ResultKind kind,
                                    const std::string& name) override;
  std::vector<Result> LatestResults(std::int64_t capture_id) override;

  Assessment AppendAssessment(const NewAssessment& assessment, const std::optional<BlobRef>& mask,
                              const std::string& actor) override;
  std::vector<Assessment> AssessmentHistory(std::int64_t capture_id) override;

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

  std::vector<SeriesPoint> TimeSeries(const SeriesQuery& query) override;
  std::optional<std::string> SharedSetting(const std::string& name,
                                           const std::string& value_if_absent) override;

  CreatedToken CreateToken(const NewToken& token, const std::string& actor) override;
  std::optional<TokenInfo> VerifyToken(const std::string& token) override;
  TokenInfo RevokeToken(const std::string& token_id, const std::string& actor) override;
  std::vector<TokenInfo> ListTokens() override;

  void AppendAudit(const AuditEntry& entry) override;
  std::vector<AuditEntry> ListAudit(const AuditQuery& query) override;

  std::vector<std::string> PatientBlobs(const std::string& patient_id) override;
  void ErasePatient(const std::string& patient_id, const std::string& actor) override;
  bool IsBlobReferenced(const std::string& sha256) override;
  void ForEachBlobRef(const std::function<void(const BlobRef&)>& fn) override;
  std::string IntegrityCheck() override;

 private:
  TimeMs Now() const { return options_.clock(); }
  // The time leases and due times are judged by: the database server's clock (one clock for all
  // nodes, whose own clocks may disagree by seconds), or the injected RepositoryOptions::clock
  // when a test gave one.
  TimeMs QueueNow(PgConnection& c) const;
  // Runs `fn` in a READ COMMITTED write transaction, retried as the header comment says.
  void Write(const std::function<void(PgConnection&)>& fn);
  // Runs `fn` in a REPEATABLE READ READ ONLY transaction.
  void Read(const std::function<void(PgConnection&)>& fn);
  void Transaction(const char* begin, const std::function<void(PgConnection&)>& fn);
  std::unique_ptr<PgConnection> Acquire();
  void Release(std::unique_ptr<PgConnection> conn);
  std::unique_ptr<PgConnection> Connect();
  int Migrate(PgConnection& c);
  void SyncCatalogue();
  std::int64_t SiteKey(const std::string& site) const;
  const std::string& SiteName(std::int64_t key) const;
  void Audit(PgConnection& c, const std::string& actor, const std::string& action,
             const std::string& object, const std::string& before, const std::string& after,
             const std::string& details);
  static std::optional<std::int64_t> PatientKey(PgConnection& c, const std::string& patient_id,
                                                const char* lock = "");
  static std::int64_t RequirePatient(PgConnection& c, const std::string& patient_id,
                                     const char* lock = "");
  // Locks the capture FOR KEY SHARE (an erasure cannot remove it before the commit); returns its
  // patient key. Error(kNotFound) for an unknown capture.
  static std::int64_t RequireCapture(PgConnection& c, std::int64_t capture_id);
  static std::optional<Capture> LoadCapture(PgConnection& c, std::int64_t capture_id);
  static int CheckLease(PgConnection& c, std::int64_t capture_id, const std::string& worker);

  std::string url_;
  RepositoryOptions options_;
  bool database_clock_ = true;  // no clock injected: queue times come from the server
  int version_ = 0;
  int max_connections_ = 1;
  std::mutex pool_mutex_;
  std::condition_variable pool_cv_;
  std::vector<std::unique_ptr<PgConnection>> idle_;
  int open_ = 0;
  // Written once in the constructor, read-only afterwards.
  std::unordered_map<std::string, std::int64_t> site_keys_;
  std::unordered_map<std::int64_t, std::string> site_names_;
};

}  // namespace skintrack::storage::detail
