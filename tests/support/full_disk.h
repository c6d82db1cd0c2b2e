// Test support: a Store on the in-memory backends whose "disk" can be made full. While full, every
// write (blob puts, markers, and every mutating repository call) throws what the real backends
// throw on ENOSPC / SQLITE_FULL: Error(kStorageFull) with a message naming an internal path, so
// tests can check that the path never reaches a client. Reads keep working, as on a real full
// disk. Used where a real full file system needs root (a tmpfs; see scripts/diskfull-check.sh).
#pragma once

#include <atomic>
#include <functional>
#include <memory>
#include <string>
#include <utility>

#include "skintrack/core/error.h"
#include "skintrack/storage/blob_store.h"
#include "skintrack/storage/repository.h"
#include "skintrack/storage/store.h"

namespace skintrack::testing {

inline constexpr char kFullDiskPath[] = "/srv/skintrack-internal/data";

// The blobs and the database may fill separately: a large blob can find no room while a small row
// update still fits. `fill_database_on_blob_failure` models the disk filling up entirely at the
// moment a blob write fails (between a worker's claim and its release).
struct Disk {
  std::atomic<bool> blobs_full{false};
  std::atomic<bool> database_full{false};
  std::atomic<bool> fill_database_on_blob_failure{false};
  std::atomic<int> refused_blob_writes{0};
  std::atomic<int> refused_database_writes{0};
  // Runs once, before the next result append, then clears itself: another writer's append landing
  // in the middle of a processing (set it before the work starts).
  std::function<void(const storage::NewResult&)> before_next_result_append;
  void CheckBlobs(const char* what) {
    if (!blobs_full) return;
    ++refused_blob_writes;
    if (fill_database_on_blob_failure) database_full = true;
    Refuse(what);
  }
  void CheckDatabase() {
    if (!database_full) return;
    ++refused_database_writes;
    Refuse("skintrack.db-wal");
  }
  [[noreturn]] static void Refuse(const char* what) {
    throw Error(ErrorCode::kStorageFull, std::string("cannot write ") + kFullDiskPath + "/" + what +
                                             ": No space left on device");
  }
};

class FullableBlobStore final : public storage::BlobStore {
 public:
  FullableBlobStore(std::shared_ptr<Disk> disk, std::unique_ptr<storage::BlobStore> inner)
      : disk_(std::move(disk)), inner_(std::move(inner)) {}
  storage::BlobPut Put(std::string_view bytes) override {
    disk_->CheckBlobs("blobs/tmp/blob.put");
    return inner_->Put(bytes);
  }
  std::string Get(const std::string& sha256) const override { return inner_->Get(sha256); }
  bool Exists(const std::string& sha256) const override { return inner_->Exists(sha256); }
  void Remove(const std::string& sha256) override { inner_->Remove(sha256); }
  std::string MarkPending(const std::string& sha256) override {
    disk_->CheckBlobs("blobs/tmp/blob.mark");
    return inner_->MarkPending(sha256);
  }
  void ClearPending(const std::string& marker) override { inner_->ClearPending(marker); }
  std::vector<storage::PendingMarker> ListPending() override { return inner_->ListPending(); }
  void ForEach(const std::function<void(const std::string&)>& fn) const override {
    inner_->ForEach(fn);
  }

 private:
  std::shared_ptr<Disk> disk_;
  std::unique_ptr<storage::BlobStore> inner_;
};

// Delegates every call; the mutating ones check the disk first.
class FullableRepository final : public storage::Repository {
 public:
  FullableRepository(std::shared_ptr<Disk> disk, std::unique_ptr<storage::Repository> inner)
      : disk_(std::move(disk)), inner_(std::move(inner)) {}
  int SchemaVersion() override { return inner_->SchemaVersion(); }
  storage::Patient CreatePatient(const storage::PatientInfo& info,
                                 const std::string& actor) override {
    disk_->CheckDatabase();
    return inner_->CreatePatient(info, actor);
  }
  std::optional<storage::Patient> FindPatient(const std::string& id) override {
    return inner_->FindPatient(id);
  }
  std::vector<storage::Patient> ListPatients() override { return inner_->ListPatients(); }
  storage::IngestResult InsertCapture(const storage::NewCapture& capture,
                                      const storage::BlobRef& blob,
                                      const std::string& actor) override {
    disk_->CheckDatabase();
    return inner_->InsertCapture(capture, blob, actor);
  }
  std::optional<storage::Capture> FindCaptureByUpload(const std::string& patient_id,
                                                      const std::string& upload_sha256) override {
    return inner_->FindCaptureByUpload(patient_id, upload_sha256);
  }
  std::optional<storage::Capture> FindCapture(std::int64_t id) override {
    return inner_->FindCapture(id);
  }
  std::optional<storage::WorkItem> ClaimWork(const std::string& worker,
                                             storage::TimeMs lease_ms) override {
    disk_->CheckDatabase();
    return inner_->ClaimWork(worker, lease_ms);
  }
  void CompleteWork(std::int64_t id, const std::string& worker) override {
    disk_->CheckDatabase();
    inner_->CompleteWork(id, worker);
  }
  storage::CaptureStatus FailWork(std::int64_t id, const std::string& worker,
                                  const std::string& error, bool retryable) override {
    disk_->CheckDatabase();
    return inner_->FailWork(id, worker, error, retryable);
  }
  void ReleaseWork(std::int64_t id, const std::string& worker, const std::string& error,
                   storage::TimeMs delay_ms) override {
    disk_->CheckDatabase();
    inner_->ReleaseWork(id, worker, error, delay_ms);
  }
  int RequeueProcessed(const std::vector<std::int64_t>& ids, const std::string& reason,
                       const std::string& actor) override {
    disk_->CheckDatabase();
    return inner_->RequeueProcessed(ids, reason, actor);
  }
  bool LeaseProcessed(std::int64_t id, const std::string& worker, storage::TimeMs lease_ms,
                      const std::string& reason) override {
    disk_->CheckDatabase();
    return inner_->LeaseProcessed(id, worker, lease_ms, reason);
  }
  storage::TimeMs RenewLease(std::int64_t id, const std::string& worker,
                             storage::TimeMs lease_ms) override {
    disk_->CheckDatabase();
    return inner_->RenewLease(id, worker, lease_ms);
  }
  int RequeueInterrupted(const std::string& own_worker_prefix) override {
    disk_->CheckDatabase();
    return inner_->RequeueInterrupted(own_worker_prefix);
  }
  storage::QueueCounts CountQueue() override { return inner_->CountQueue(); }
  storage::Result AppendResult(const storage::NewResult& result,
                               const std::optional<storage::BlobRef>& blob,
                               const std::string& actor) override {
    disk_->CheckDatabase();
    if (disk_->before_next_result_append) {
      const auto hook = std::exchange(disk_->before_next_result_append, nullptr);
      hook(result);
    }
    return inner_->AppendResult(result, blob, actor);
  }
  std::vector<storage::Result> ResultHistory(std::int64_t id, storage::ResultKind kind,
                                             const std::string& name) override {
    return inner_->ResultHistory(id, kind, name);
  }
  std::vector<storage::Result> LatestResults(std::int64_t id) override {
    return inner_->LatestResults(id);
  }
  storage::Assessment AppendAssessment(const storage::NewAssessment& assessment,
                                       const std::optional<storage::BlobRef>& mask,
                                       const std::string& actor) override {
    disk_->CheckDatabase();
    return inner_->AppendAssessment(assessment, mask, actor);
  }
  std::vector<storage::Assessment> AssessmentHistory(std::int64_t id) override {
    return inner_->AssessmentHistory(id);
  }
  storage::AnnotationVersion AppendAnnotationVersion(const storage::NewAnnotationVersion& version,
                                                     const storage::BlobRef& content,
                                                     const std::string& actor) override {
    disk_->CheckDatabase();
    return inner_->AppendAnnotationVersion(version, content, actor);
  }
  std::vector<storage::AnnotationVersion> LatestAnnotations(std::int64_t id) override {
    return inner_->LatestAnnotations(id);
  }
  std::vector<storage::AnnotationVersion> AnnotationHistory(std::int64_t id) override {
    return inner_->AnnotationHistory(id);
  }
  std::optional<storage::AnnotationVersion> FindAnnotation(std::int64_t id,
                                                           const std::string& author) override {
    return inner_->FindAnnotation(id, author);
  }
  std::optional<storage::AnnotationVersion> FindAnnotationVersion(std::int64_t id) override {
    return inner_->FindAnnotationVersion(id);
  }
  std::vector<std::int64_t> AnnotatedCaptures(std::int64_t after, int limit) override {
    return inner_->AnnotatedCaptures(after, limit);
  }
  bool AssignCapture(const storage::NewAssignment& assignment, const std::string& actor) override {
    disk_->CheckDatabase();
    return inner_->AssignCapture(assignment, actor);
  }
  std::vector<storage::Assignment> ListAssignments(std::optional<std::int64_t> id,
                                                   const std::string& annotator) override {
    return inner_->ListAssignments(id, annotator);
  }
  std::vector<std::int64_t> AnnotationQueue(const std::string& annotator, int limit) override {
    return inner_->AnnotationQueue(annotator, limit);
  }
  std::vector<std::int64_t> ReviewQueue(int limit) override { return inner_->ReviewQueue(limit); }
  std::vector<storage::SeriesPoint> TimeSeries(const storage::SeriesQuery& query) override {
    return inner_->TimeSeries(query);
  }
  storage::CreatedToken CreateToken(const storage::NewToken& token,
                                    const std::string& actor) override {
    disk_->CheckDatabase();
    return inner_->CreateToken(token, actor);
  }
  std::optional<storage::TokenInfo> VerifyToken(const std::string& token) override {
    return inner_->VerifyToken(token);
  }
  storage::TokenInfo RevokeToken(const std::string& id, const std::string& actor) override {
    disk_->CheckDatabase();
    return inner_->RevokeToken(id, actor);
  }
  std::vector<storage::TokenInfo> ListTokens() override { return inner_->ListTokens(); }
  void AppendAudit(const storage::AuditEntry& entry) override {
    disk_->CheckDatabase();
    inner_->AppendAudit(entry);
  }
  std::vector<storage::AuditEntry> ListAudit(const storage::AuditQuery& query) override {
    return inner_->ListAudit(query);
  }
  std::vector<std::string> PatientBlobs(const std::string& id) override {
    return inner_->PatientBlobs(id);
  }
  void ErasePatient(const std::string& id, const std::string& actor) override {
    disk_->CheckDatabase();
    inner_->ErasePatient(id, actor);
  }
  bool IsBlobReferenced(const std::string& sha256) override {
    return inner_->IsBlobReferenced(sha256);
  }
  void ForEachBlobRef(const std::function<void(const storage::BlobRef&)>& fn) override {
    inner_->ForEachBlobRef(fn);
  }
  std::string IntegrityCheck() override { return inner_->IntegrityCheck(); }
  std::optional<std::string> SharedSetting(const std::string& name,
                                           const std::string& value_if_absent) override {
    return inner_->SharedSetting(name, value_if_absent);
  }

 private:
  std::shared_ptr<Disk> disk_;
  std::unique_ptr<storage::Repository> inner_;
};

// An in-memory Store (SQLite ":memory:" + memory blobs) on `disk`.
inline std::unique_ptr<storage::Store> OpenFullableStore(
    const std::shared_ptr<Disk>& disk, const storage::RepositoryOptions& repository = {}) {
  storage::StoreOptions options;
  options.repository = repository;
  return std::make_unique<storage::Store>(
      std::make_unique<FullableRepository>(disk,
                                           storage::OpenSqliteRepository(":memory:", repository)),
      std::make_unique<FullableBlobStore>(disk, storage::OpenMemoryBlobStore()), options);
}

}  // namespace skintrack::testing
