#include "skintrack/storage/store.h"

#include <fcntl.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <future>
#include <system_error>

#include "migrated_marker.h"
#include "node_id.h"
#include "skintrack/core/error.h"
#include "skintrack/storage/sha256.h"

namespace skintrack::storage {
namespace {

// Holds DIR/LOCK with flock() for the life of the Store: start-up clean-up deletes unreferenced
// blobs and requeues "processing" captures, which is only safe when no other process is using the
// directory. The kernel drops the lock when the process dies, however it dies.
int LockDataDir(const std::string& dir) {
  const std::string path = dir + "/LOCK";
  const int fd = ::open(path.c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0640);
  if (fd < 0) {
    throw Error(ErrorCode::kIo, "cannot open " + path + ": " +
                                    std::error_code(errno, std::generic_category()).message());
  }
  if (::flock(fd, LOCK_EX | LOCK_NB) != 0) {
    const int err = errno;
    ::close(fd);
    if (err == EWOULDBLOCK) {
      throw Error(ErrorCode::kConflict,
                  "data directory " + dir + " is in use by another skintrack process");
    }
    throw Error(ErrorCode::kIo, "cannot lock " + path + ": " +
                                    std::error_code(err, std::generic_category()).message());
  }
  return fd;
}

std::string ErrnoText() { return std::error_code(errno, std::generic_category()).message(); }

// Creates `dir` (its parents with default modes) as 0700: mkdir with the mode, not a chmod
// afterwards, so that no one can open or populate it in between.
void CreateDataDir(const std::string& dir) {
  std::filesystem::path leaf(dir);
  while (leaf.has_relative_path() && leaf.filename().empty()) leaf = leaf.parent_path();
  std::error_code ec;
  if (std::filesystem::exists(leaf, ec)) return;
  if (leaf.has_parent_path()) std::filesystem::create_directories(leaf.parent_path(), ec);
  if (ec) {
    throw Error(FileErrorCode(ec.value()),
                "cannot create data directory " + dir + ": " + ec.message());
  }
  if (::mkdir(leaf.c_str(), 0700) != 0 && errno != EEXIST) {
    const int err = errno;
    throw Error(FileErrorCode(err), "cannot create data directory " + dir + ": " + ErrnoText());
  }
}

// A new database file is created empty with mode 0600 before SQLite opens it (SQLite would use
// 0644 less the umask); its -wal and -shm files then inherit 0600.
void CreateDatabaseFile(const std::string& path) {
  const int fd = ::open(path.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC | O_NOFOLLOW, 0600);
  if (fd >= 0) {
    ::close(fd);
  } else if (errno != EEXIST) {
    const int err = errno;
    throw Error(FileErrorCode(err), "cannot create " + path + ": " + ErrnoText());
  }
}

}  // namespace

std::vector<std::string> LoosePermissions(const std::string& dir) {
  std::vector<std::string> out;
  auto check = [&](const std::string& path, const char* fix) {
    struct stat st {};
    if (::stat(path.c_str(), &st) != 0 || (st.st_mode & 077) == 0) return;
    char mode[8];
    std::snprintf(mode, sizeof mode, "%04o", static_cast<unsigned>(st.st_mode & 07777));
    out.push_back(path + " is mode " + mode + ": group or others may access it (chmod " + fix +
                  " " + path + ")");
  };
  check(dir, "700");
  for (const char* name :
       {"pseudonym.key", "skintrack.db", "skintrack.db-wal", "skintrack.db-shm"}) {
    check(dir + "/" + name, "600");
  }
  return out;
}

std::unique_ptr<Repository> OpenDataDirRepository(const std::string& dir,
                                                  const RepositoryOptions& options) {
  if (dir.empty()) throw Error(ErrorCode::kInvalidArgument, "data directory path is empty");
  if (!options.database.empty()) return OpenPostgresRepository(options.database, options);
  detail::RefuseIfMigrated(dir);
  const std::string path = dir + "/skintrack.db";
  struct stat st {};
  if (::stat(path.c_str(), &st) != 0 || !S_ISREG(st.st_mode)) {
    throw Error(ErrorCode::kNotFound, "no skintrack database in " + dir);
  }
  return OpenSqliteRepository(path, options);
}

void StoreOptions::Check() const {
  if (max_blob_bytes < 1 || max_blob_bytes > (std::int64_t{1} << 34)) {
    throw Error(ErrorCode::kInvalidArgument, "max_blob_bytes must be 1 .. 16 GiB");
  }
  repository.Check();
  if (!node_id.empty() && !detail::IsValidNodeId(node_id)) {
    throw Error(ErrorCode::kInvalidArgument, "node id must be [A-Za-z0-9.-], 1..48 characters");
  }
  // One node's blobs belong in its data directory; a blob directory apart from it only makes
  // sense when several nodes share the metadata, and a single node pointed at another folder
  // by mistake would report every earlier blob missing.
  if (!blob_dir.empty() && repository.database.empty()) {
    throw Error(ErrorCode::kInvalidArgument,
                "a shared blob directory (--blob-dir) is for several nodes on one PostgreSQL "
                "database: give --database too");
  }
}

std::unique_ptr<Store> Store::OpenDataDir(const std::string& dir, const StoreOptions& options) {
  options.Check();
  if (dir.empty()) throw Error(ErrorCode::kInvalidArgument, "data directory path is empty");
  CreateDataDir(dir);
  const int lock_fd = LockDataDir(dir);
  try {
    if (options.repository.database.empty()) detail::RefuseIfMigrated(dir);
    StoreOptions opened = options;
    if (opened.node_id.empty()) opened.node_id = detail::LoadOrCreateNodeId(dir);
    auto blobs = options.blob_dir.empty() ? OpenFileBlobStore(dir + "/blobs")
                                          : OpenFileBlobStore(options.blob_dir, opened.node_id);
    std::unique_ptr<Repository> repository;
    if (options.repository.database.empty()) {
      CreateDatabaseFile(dir + "/skintrack.db");
      repository = OpenSqliteRepository(dir + "/skintrack.db", options.repository);
    } else {
      repository = OpenPostgresRepository(options.repository.database, options.repository);
    }
    return std::make_unique<Store>(std::move(repository), std::move(blobs), opened, lock_fd);
  } catch (...) {
    ::close(lock_fd);
    throw;
  }
}

std::unique_ptr<Store> Store::OpenInMemory(const StoreOptions& options) {
  options.Check();
  return std::make_unique<Store>(OpenSqliteRepository(":memory:", options.repository),
                                 OpenMemoryBlobStore(), options);
}

Store::Store(std::unique_ptr<Repository> repository, std::unique_ptr<BlobStore> blobs,
             const StoreOptions& options, int lock_fd)
    : repository_(std::move(repository)),
      blobs_(std::move(blobs)),
      options_(options),
      node_id_(options.node_id.empty() ? detail::EphemeralNodeId() : options.node_id),
      incarnation_(std::to_string(::getpid()) + "." + std::to_string(NowMs())),
      lock_fd_(lock_fd) {
  if (!repository_ || !blobs_) {
    if (lock_fd_ >= 0) ::close(lock_fd_);
    throw Error(ErrorCode::kInvalidArgument, "Store needs a repository and a blob store");
  }
  try {
    Recover();
  } catch (...) {
    if (lock_fd_ >= 0) ::close(lock_fd_);
    throw;
  }
}

Store::~Store() {
  // Close the database before releasing the directory lock.
  repository_.reset();
  blobs_.reset();
  if (lock_fd_ >= 0) ::close(lock_fd_);
}

BlobPut Store::PutBlob(std::string_view bytes) {
  if (bytes.empty()) throw Error(ErrorCode::kInvalidArgument, "empty blob");
  if (static_cast<std::int64_t>(bytes.size()) > options_.max_blob_bytes) {
    throw Error(ErrorCode::kImageTooLarge, "blob of " + std::to_string(bytes.size()) +
                                               " bytes exceeds the limit of " +
                                               std::to_string(options_.max_blob_bytes));
  }
  // Registered before the put so that a concurrent removal of the same hash sees it in flight.
  const std::string sha = Sha256Hex(bytes);
  {
    std::lock_guard<std::mutex> lock(in_flight_mutex_);
    ++in_flight_[sha];
  }
  try {
    BlobPut put = blobs_->Put(bytes);
    if (put.ref.sha256 != sha) throw Error(ErrorCode::kInternal, "blob store hash mismatch");
    return put;
  } catch (...) {
    std::lock_guard<std::mutex> lock(in_flight_mutex_);
    if (--in_flight_[sha] == 0) in_flight_.erase(sha);
    throw;
  }
}

// After the row commit (committed) or its failure: drop the in-flight mark, remove the blob if a
// failed insert left it unreferenced, then drop the pending marker.
void Store::ReleaseBlob(const BlobPut& put, bool committed) {
  std::lock_guard<std::mutex> lock(in_flight_mutex_);
  const std::string& sha = put.ref.sha256;
  const bool last = --in_flight_[sha] == 0;
  if (last) in_flight_.erase(sha);
  try {
    if (!committed && last && !repository_->IsBlobReferenced(sha)) blobs_->Remove(sha);
    if (!put.pending.empty()) blobs_->ClearPending(put.pending);
  } catch (const Error&) {
    // The marker stays, so start-up clean-up finishes the job; the caller's outcome (the commit
    // or the original error) is what must be reported.
  }
}

IngestResult Store::IngestCapture(const NewCapture& capture, std::string_view bytes,
                                  const std::string& actor,
                                  const std::function<void()>& verify_while_writing) {
  // Everything that can be checked without the blob is checked before it is written.
  capture.Check();
  ValidateActor(actor);
  if (!repository_->FindPatient(capture.patient_id)) {
    throw Error(ErrorCode::kNotFound, "unknown patient " + capture.patient_id);
  }
  std::future<void> verified;
  if (verify_while_writing) verified = std::async(std::launch::async, verify_while_writing);
  BlobPut put;
  try {
    put = PutBlob(bytes);
  } catch (...) {
    if (verified.valid()) verified.get();  // a refused photo is refused, whatever the disk says
    throw;
  }
  if (verified.valid()) {
    try {
      verified.get();
    } catch (...) {
      ReleaseBlob(put, false);
      throw;
    }
  }
  IngestResult result;
  try {
    result = repository_->InsertCapture(capture, put.ref, actor);
  } catch (...) {
    ReleaseBlob(put, false);
    throw;
  }
  // An existing capture found by its upload hash may reference another blob (re-encoded by an
  // older OpenCV): this put's blob is then removed unless something references it.
  ReleaseBlob(put, result.created);
  return result;
}

Result Store::AppendResult(const NewResult& result, std::optional<std::string_view> blob_bytes,
                           const std::string& actor) {
  result.Check();
  ValidateActor(actor);
  if (!blob_bytes) return repository_->AppendResult(result, std::nullopt, actor);
  if (!repository_->FindCapture(result.capture_id)) {
    throw Error(ErrorCode::kNotFound, "unknown capture " + std::to_string(result.capture_id));
  }
  const BlobPut put = PutBlob(*blob_bytes);
  Result stored;
  try {
    stored = repository_->AppendResult(result, put.ref, actor);
  } catch (...) {
    ReleaseBlob(put, false);
    throw;
  }
  ReleaseBlob(put, true);
  return stored;
}

Assessment Store::AppendAssessment(const NewAssessment& assessment,
                                   std::optional<std::string_view> mask_bytes,
                                   const std::string& actor) {
  assessment.Check();
  ValidateActor(actor);
  if (!mask_bytes) return repository_->AppendAssessment(assessment, std::nullopt, actor);
  if (!repository_->FindCapture(assessment.capture_id)) {
    throw Error(ErrorCode::kNotFound, "unknown capture " + std::to_string(assessment.capture_id));
  }
  const BlobPut put = PutBlob(*mask_bytes);
  Assessment stored;
  try {
    stored = repository_->AppendAssessment(assessment, put.ref, actor);
  } catch (...) {
    ReleaseBlob(put, false);
    throw;
  }
  ReleaseBlob(put, true);
  return stored;
}

AnnotationVersion Store::AppendAnnotationVersion(const NewAnnotationVersion& version,
                                                 std::string_view content,
                                                 const std::string& actor) {
  version.Check();
  ValidateActor(actor);
  if (!repository_->FindCapture(version.capture_id)) {
    throw Error(ErrorCode::kNotFound, "unknown capture " + std::to_string(version.capture_id));
  }
  const BlobPut put = PutBlob(content);
  AnnotationVersion stored;
  try {
    stored = repository_->AppendAnnotationVersion(version, put.ref, actor);
  } catch (...) {
    ReleaseBlob(put, false);
    throw;
  }
  ReleaseBlob(put, true);
  return stored;
}

std::string Store::ReadBlob(const std::string& sha256) const { return blobs_->Get(sha256); }

EraseReport Store::ErasePatient(const std::string& patient_id, const std::string& actor) {
  ValidateId(patient_id, "patient id");
  ValidateActor(actor);
  std::lock_guard<std::mutex> erase_lock(erase_mutex_);
  // Markers first: if the process dies after the rows are gone but before the blobs are, start-up
  // clean-up finds the marked blobs unreferenced and removes them.
  const std::vector<std::string> shas = repository_->PatientBlobs(patient_id);
  std::vector<std::string> markers;
  try {
    for (const std::string& sha : shas) markers.push_back(blobs_->MarkPending(sha));
    repository_->ErasePatient(patient_id, actor);
  } catch (...) {
    for (const std::string& m : markers) blobs_->ClearPending(m);
    throw;
  }
  EraseReport report;
  {
    std::lock_guard<std::mutex> lock(in_flight_mutex_);
    for (const std::string& sha : shas) {
      if (in_flight_.count(sha) == 0 && !repository_->IsBlobReferenced(sha)) {
        blobs_->Remove(sha);
        ++report.blobs_removed;
      } else {
        ++report.blobs_kept;
      }
    }
  }
  for (const std::string& m : markers) blobs_->ClearPending(m);
  return report;
}

RecoveryReport Store::Recover() {
  RecoveryReport report;
  const std::vector<PendingMarker> markers = blobs_->ListPending();
  report.pending_markers = static_cast<int>(markers.size());
  {
    std::lock_guard<std::mutex> lock(in_flight_mutex_);
    for (const PendingMarker& m : markers) {
      if (m.sha256.empty() || in_flight_.count(m.sha256) > 0) continue;
      if (!repository_->IsBlobReferenced(m.sha256) && blobs_->Exists(m.sha256)) {
        blobs_->Remove(m.sha256);
        ++report.orphan_blobs_removed;
      }
    }
  }
  // Markers go only after their blobs, so a crash during clean-up leaves them for next time.
  for (const PendingMarker& m : markers) blobs_->ClearPending(m.name);
  report.requeued_captures = repository_->RequeueInterrupted(NodeWorkerPrefix());
  last_recovery_ = report;
  return report;
}

std::string Store::WorkerId(int index) const {
  return NodeWorkerPrefix() + incarnation_ + ":" + std::to_string(index);
}

std::string Store::EditWorkerId() const { return NodeWorkerPrefix() + incarnation_ + ":edit"; }

CheckReport Store::Check(bool verify_hashes) {
  CheckReport report;
  report.integrity = repository_->IntegrityCheck();
  std::unordered_map<std::string, std::int64_t> referenced;
  repository_->ForEachBlobRef([&](const BlobRef& ref) { referenced[ref.sha256] = ref.size; });
  report.referenced_blobs = static_cast<std::int64_t>(referenced.size());
  std::unordered_map<std::string, bool> stored;
  blobs_->ForEach([&](const std::string& sha) {
    ++report.stored_blobs;
    stored[sha] = true;
    if (referenced.count(sha) == 0) report.unreferenced.push_back(sha);
  });
  for (const auto& [sha, size] : referenced) {
    if (stored.count(sha) == 0) {
      report.missing.push_back(sha);
      continue;
    }
    if (verify_hashes) {
      const std::string bytes = blobs_->Get(sha);
      if (static_cast<std::int64_t>(bytes.size()) != size || Sha256Hex(bytes) != sha) {
        report.corrupt.push_back(sha);
      }
    }
  }
  return report;
}

}  // namespace skintrack::storage
