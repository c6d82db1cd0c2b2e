// The metadata repository interface: patients, body sites, captures and their work queue,
// versioned results, clinician assessments, tokens, the audit log, and the queries the service
// needs. SQLite (OpenSqliteRepository) is the embedded default; a PostgreSQL backend would
// implement the same interface and pass the same test suite.
//
// Every mutating call validates its input first (Error(kInvalidArgument) / Error(kNotFound)),
// runs in one transaction, writes an audit entry in that same transaction, and either commits
// entirely or changes nothing. `actor` names who acts: "token:<id>", "cli", "worker:<name>", ...
// (charset [A-Za-z0-9._:@-], 1..128 characters).
//
// All methods are thread-safe; one writer at a time, readers run concurrently (file database).
// A busy database is waited for and retried; after RepositoryOptions::busy_timeout_ms the call
// throws Error(kStorage) saying the database is busy. No room for the database's files throws
// Error(kStorageFull); other database failures throw Error(kStorage).
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "skintrack/storage/types.h"

namespace skintrack::storage {

// The actor charset check used by every mutating call. Throws Error(kInvalidArgument).
void ValidateActor(std::string_view actor);
// A queue lease's length: 1 ms .. 24 h. Throws Error(kInvalidArgument).
void CheckLeaseLength(TimeMs lease_ms);
// The SharedSetting that holds a cluster's pseudonym key (pipeline::LoadOrCreatePseudonymKey
// reads it; db migrate copies a data directory's pseudonym.key into it).
inline constexpr char kPseudonymKeySetting[] = "pseudonym_key";
// The rules of Repository::SharedSetting's name and value. Throws Error(kInvalidArgument).
void ValidateSharedSetting(std::string_view name, std::string_view value);

struct RepositoryOptions {
  int busy_timeout_ms = 10000;  // total wait for a busy database before failing a call
  int read_connections = 4;     // pooled read connections (file databases)
  int max_attempts = 5;         // processing attempts before a capture is marked failed
  TimeMs retry_base_ms = 1000;  // back-off after a failed attempt: base * 2^(attempt-1)
  TimeMs retry_max_ms = TimeMs{5} * 60 * 1000;
  std::function<TimeMs()> clock;  // defaults to NowMs; tests inject a fake clock
  // Where the metadata lives for OpenDataDir / OpenDataDirRepository: empty for the data
  // directory's own SQLite file (the default), or a PostgreSQL URL "postgresql://..." (issue 17;
  // docs/storage.md). The blobs stay in the data directory either way.
  std::string database;
  // PostgreSQL: false refuses a database without the skintrack schema (Error(kNotFound)) instead
  // of creating it, for the commands that only read, so that a mistyped URL changes nothing.
  // (A database with the schema still gets this build's pending migrations, as a node's start
  // would apply them.) SQLite: OpenDataDirRepository never creates a database anyway.
  bool create_schema = true;
  void Check() const;  // throws Error(kInvalidArgument)
};

class Repository {
 public:
  virtual ~Repository() = default;

  // Highest applied migration.
  virtual int SchemaVersion() = 0;

  // --- patients -------------------------------------------------------------------------------
  // Error(kAlreadyExists) if the id is taken.
  virtual Patient CreatePatient(const PatientInfo& info, const std::string& actor) = 0;
  virtual std::optional<Patient> FindPatient(const std::string& patient_id) = 0;
  virtual std::vector<Patient> ListPatients() = 0;

  // --- captures ---------------------------------------------------------------------------------
  // Records a capture whose blob is already durable. Idempotent by (patient, upload sha256) when
  // NewCapture::upload_sha256 is given, then by (patient, site, blob sha256): the existing
  // capture comes back with created = false and nothing is written (the caller compares its
  // facts with the request's). Error(kNotFound)
  // for an unknown patient or site. A new capture enters the work queue as kQueued.
  virtual IngestResult InsertCapture(const NewCapture& capture, const BlobRef& blob,
                                     const std::string& actor) = 0;
  virtual std::optional<Capture> FindCapture(std::int64_t capture_id) = 0;
  // The capture of `patient_id` stored from an upload whose bytes (as received, before the
  // re-encoding) have SHA-256 `upload_sha256`: lets the service answer a retry before decoding.
  // std::nullopt for an unknown patient, or when no capture recorded that upload (captures
  // stored before schema version 7 recorded none). Error(kInvalidArgument) for a malformed id
  // or hash.
  virtual std::optional<Capture> FindCaptureByUpload(const std::string& patient_id,
                                                     const std::string& upload_sha256) = 0;
  // No baseline query on purpose: which capture is a site's baseline (the clinician's choice,
  // else the earliest one that passes the quality gate) is a processing rule, `FindBaseline` in
  // the pipeline, built on TimeSeries and the stored results.

  // --- work queue -------------------------------------------------------------------------------
  // Claims the oldest queued capture that is due, or one whose lease expired (its worker died),
  // for `lease_ms` milliseconds. std::nullopt when nothing is due. A capture that has used up
  // max_attempts is marked failed instead of being handed out again.
  virtual std::optional<WorkItem> ClaimWork(const std::string& worker, TimeMs lease_ms) = 0;
  // Error(kConflict) if `worker` does not hold the lease (it expired and someone else took it).
  virtual void CompleteWork(std::int64_t capture_id, const std::string& worker) = 0;
  // Records the error; requeues with back-off when `retryable` and attempts remain, else marks
  // the capture failed. Returns the new status. Error(kConflict) as for CompleteWork.
  virtual CaptureStatus FailWork(std::int64_t capture_id, const std::string& worker,
                                 const std::string& error, bool retryable) = 0;
  // Gives a claimed capture back to the queue, due again after `delay_ms`, without counting the
  // attempt: for failures of the environment rather than of the capture (no room to store the
  // results), which must not use up max_attempts and mark a sound capture failed. Records
  // `error`. Error(kConflict) as for CompleteWork.
  virtual void ReleaseWork(std::int64_t capture_id, const std::string& worker,
                           const std::string& error, TimeMs delay_ms) = 0;
  // Puts processed captures back in the queue to be processed again (e.g. registered again after
  // their site's baseline changed), with their attempt count reset; their results stay (new
  // processing appends new versions). Captures that are not kProcessed are left alone. Audited
  // with `reason`. Returns how many were requeued.
  virtual int RequeueProcessed(const std::vector<std::int64_t>& capture_ids,
                               const std::string& reason, const std::string& actor) = 0;
  // Leases a processed capture to `worker` for `lease_ms` (status processing, attempts reset), for
  // a change made outside the queue (a clinician's corrected mask, a consensus) whose follow-up
  // work (rescoring, requeueing a baseline's follow-ups) must not be lost if the process dies
  // half-way: the lease then runs out (or the next start on the data directory requeues it) and a
  // worker processes the capture again. CompleteWork / ReleaseWork end it. False, with nothing
  // changed, when the capture is not kProcessed (queued or in processing: a worker will process
  // it anyway; failed; unknown). Audited with `reason`.
  virtual bool LeaseProcessed(std::int64_t capture_id, const std::string& worker, TimeMs lease_ms,
                              const std::string& reason) = 0;
  // The heartbeat of a long processing: extends the lease `worker` holds on the capture to
  // `lease_ms` from now and returns the new expiry. Error(kConflict) if `worker` no longer holds
  // it (it expired and another worker took it: the caller must abandon its result),
  // Error(kNotFound) for an unknown capture.
  virtual TimeMs RenewLease(std::int64_t capture_id, const std::string& worker,
                            TimeMs lease_ms) = 0;
  // Start-up clean-up: puts captures left in kProcessing by an earlier process back in the queue.
  // SQLite: all of them (the data directory lock guarantees no live worker holds one).
  // PostgreSQL, shared by several nodes: only the leases of workers whose id starts with
  // `own_worker_prefix` (this node's earlier processes) and leases already expired by the
  // database's clock; a live node's lease is never taken (docs/storage.md). Returns how many.
  virtual int RequeueInterrupted(const std::string& own_worker_prefix) = 0;
  virtual QueueCounts CountQueue() = 0;

  // --- results (append-only) --------------------------------------------------------------------
  // Appends version max+1 of (capture, kind, name). `blob` (e.g. a mask PNG) must already be
  // durable. Error(kNotFound) for an unknown capture.
  virtual Result AppendResult(const NewResult& result, const std::optional<BlobRef>& blob,
                              const std::string& actor) = 0;
  // Every version, oldest first.
  virtual std::vector<Result> ResultHistory(std::int64_t capture_id, ResultKind kind,
                                            const std::string& name) = 0;
  // The latest version of each (kind, name) of a capture.
  virtual std::vector<Result> LatestResults(std::int64_t capture_id) = 0;

  // --- clinician assessments (append-only) -------------------------------------------------------
  virtual Assessment AppendAssessment(const NewAssessment& assessment,
                                      const std::optional<BlobRef>& mask,
                                      const std::string& actor) = 0;
  virtual std::vector<Assessment> AssessmentHistory(std::int64_t capture_id) = 0;

  // --- annotations (append-only; docs/annotation.md) -------------------------------------------
  // Appends a version of the annotation of (capture, author), creating the annotation with
  // version 1 when `expected_version` is 0. The content blob must already be durable. Audited
  // ("annotation.save" for drafts, "annotation.submit", "annotation.review") with the author and
  // state in the details. Error(kNotFound) for an unknown capture; Error(kConflict) when
  // expected_version is not the latest version (0 and the annotation exists, or N and it is
  // not at N). The workflow's rules (who may take which step) are checked by the caller
  // (annotation::Transition); the repository keeps the history consistent.
  virtual AnnotationVersion AppendAnnotationVersion(const NewAnnotationVersion& version,
                                                    const BlobRef& content,
                                                    const std::string& actor) = 0;
  // The latest version of every annotation of the capture, by annotation id.
  virtual std::vector<AnnotationVersion> LatestAnnotations(std::int64_t capture_id) = 0;
  // Every version of one annotation, oldest first (empty for an unknown id).
  virtual std::vector<AnnotationVersion> AnnotationHistory(std::int64_t annotation_id) = 0;
  // The latest version of the annotation of (capture, author), if any.
  virtual std::optional<AnnotationVersion> FindAnnotation(std::int64_t capture_id,
                                                          const std::string& author) = 0;
  // One stored version by its id (exports name the versions they hold).
  virtual std::optional<AnnotationVersion> FindAnnotationVersion(std::int64_t version_id) = 0;
  // Ids of the captures that have at least one annotation, ascending, from `after_capture_id`
  // (exclusive), at most `limit` (1..10000): dataset exports page through them.
  virtual std::vector<std::int64_t> AnnotatedCaptures(std::int64_t after_capture_id, int limit) = 0;

  // Assigns a capture to an annotator (audited "annotation.assign"). Returns false and writes
  // nothing if it was already assigned to them. Error(kNotFound) for an unknown capture.
  virtual bool AssignCapture(const NewAssignment& assignment, const std::string& actor) = 0;
  // The assignments of a capture (capture_id set) or of an annotator (annotator non-empty), or
  // both narrowed; oldest first.
  virtual std::vector<Assignment> ListAssignments(std::optional<std::int64_t> capture_id,
                                                  const std::string& annotator) = 0;
  // The annotator's queue: captures assigned to them whose annotation by them is absent, a
  // draft, or was rejected in review, oldest assignment first, at most `limit` (1..10000).
  virtual std::vector<std::int64_t> AnnotationQueue(const std::string& annotator, int limit) = 0;
  // The clinicians' review queue: captures with at least one annotation whose latest version is
  // submitted (not yet reviewed), the one waiting longest first (by its submission time), at most
  // `limit` (1..10000). Error(kInvalidArgument) for another limit.
  virtual std::vector<std::int64_t> ReviewQueue(int limit) = 0;

  // --- queries ----------------------------------------------------------------------------------
  // Error(kNotFound) for an unknown patient or site.
  virtual std::vector<SeriesPoint> TimeSeries(const SeriesQuery& query) = 0;

  // --- tokens -----------------------------------------------------------------------------------
  // Error(kNotFound) if a scoped patient does not exist.
  virtual CreatedToken CreateToken(const NewToken& token, const std::string& actor) = 0;
  // The token's info if `token` is well formed, known, not revoked and not expired; compares
  // secret hashes in constant time. Never throws for a bad token (returns std::nullopt).
  virtual std::optional<TokenInfo> VerifyToken(const std::string& token) = 0;
  // Revokes the token (audited "token.revoke"); VerifyToken refuses it from the next call on, in
  // every process on the database. Returns the token's info with revoked_at set.
  // Error(kInvalidArgument) for a malformed id, Error(kNotFound) for an unknown one; revoking
  // twice is a no-op (returns the first revocation, writes no second audit entry).
  virtual TokenInfo RevokeToken(const std::string& token_id, const std::string& actor) = 0;
  // Every token, revoked and expired ones too, oldest first (metadata only: no secret or hash).
  virtual std::vector<TokenInfo> ListTokens() = 0;

  // --- audit ------------------------------------------------------------------------------------
  // For actions outside the repository (e.g. an export was downloaded). Append-only.
  virtual void AppendAudit(const AuditEntry& entry) = 0;
  virtual std::vector<AuditEntry> ListAudit(const AuditQuery& query) = 0;

  // --- settings every node on the database shares -------------------------------------------
  // The value stored under `name` ([a-z0-9_], 1..64 characters), after storing `value_if_absent`
  // (1..4096 bytes, UTF-8 text) when the name has none: the first writer wins, and concurrent
  // callers on any node all get that one value. A stored value never changes (the database
  // refuses updates and deletes): the pseudonym key, for one, decides every subject id.
  // std::nullopt on a backend that serves one node only (SQLite), where the data directory keeps
  // such values in its own files. Error(kInvalidArgument) for a bad name or value
  // (ValidateSharedSetting), on every backend.
  virtual std::optional<std::string> SharedSetting(const std::string& name,
                                                   const std::string& value_if_absent) = 0;

  // --- erasure and blob references --------------------------------------------------------------
  // Blob hashes referenced by the patient's captures, results, assessments and annotations.
  virtual std::vector<std::string> PatientBlobs(const std::string& patient_id) = 0;
  // Deletes every row of the patient (captures, visits, results, assessments, annotations and
  // their versions and assignments) in one transaction
  // and audits it (the audit log itself is kept). Error(kNotFound) for an unknown patient.
  virtual void ErasePatient(const std::string& patient_id, const std::string& actor) = 0;
  virtual bool IsBlobReferenced(const std::string& sha256) = 0;
  // Calls `fn` once per distinct referenced blob (with its recorded size).
  virtual void ForEachBlobRef(const std::function<void(const BlobRef&)>& fn) = 0;

  // "ok" or the backend's description of the damage (SQLite: PRAGMA integrity_check output).
  virtual std::string IntegrityCheck() = 0;
};

// Opens (creating if needed) the SQLite database at `path`, or a private in-memory database for
// ":memory:". File databases use WAL journaling with synchronous=FULL. Applies pending migrations
// in one transaction. Throws Error(kConflict) if the database was written by a newer skintrack
// (its schema version is above this build's), Error(kStorage) if it cannot be opened.
std::unique_ptr<Repository> OpenSqliteRepository(const std::string& path,
                                                 const RepositoryOptions& options = {});

// Opens the PostgreSQL database at `url` ("postgresql://[user[:password]@]host[:port]/dbname"
// or "postgres://...", libpq's URL form: ?host=/socket/dir for a Unix socket), applying pending
// migrations of storage/migrations-pg/ in one transaction (several nodes starting together take
// turns). Connections are pooled (read_connections + 1). Error(kInvalidArgument) for a value that
// is not such a URL, Error(kStorage) when the server cannot be reached, Error(kConflict) for a
// database of a newer skintrack.
std::unique_ptr<Repository> OpenPostgresRepository(const std::string& url,
                                                   const RepositoryOptions& options = {});
// True for "postgresql://..." and "postgres://...".
bool IsPostgresUrl(std::string_view database);

// Highest schema version this build knows.
int LatestSchemaVersion() noexcept;

}  // namespace skintrack::storage
