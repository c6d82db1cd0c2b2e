// The storage facade the service and the CLI use: a Repository plus a BlobStore, with the
// protocols that span both (a capture is acknowledged only after its blob is durable and its row
// committed; erasure removes the patient's blobs; start-up clean-up after a crash).
//
// Data directory layout (OpenDataDir):
//   DIR/skintrack.db (+ -wal, -shm)   SQLite, WAL mode
//   DIR/blobs/ab/cd/<sha256>          content-addressed blobs (ab, cd: first hex digits)
//   DIR/blobs/tmp/                    temp files and pending markers, cleaned at start-up
//   DIR/LOCK                          flock()ed by the one process that owns the directory
//   DIR/node-id                       this node's name in its worker ids (shared PostgreSQL queue)
//   DIR/MIGRATED                      left by `db migrate`: the directory's own database is
//                                     refused from then on (give the PostgreSQL database)
// With StoreOptions::blob_dir (cluster mode) the blobs are there instead, temp files and
// markers in BLOBDIR/tmp/<node id>/.
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "skintrack/storage/blob_store.h"
#include "skintrack/storage/repository.h"
#include "skintrack/storage/types.h"

namespace skintrack::storage {

struct StoreOptions {
  std::int64_t max_blob_bytes =
      std::int64_t{64} * 1024 * 1024;  // larger captures / masks are refused
  RepositoryOptions repository;
  // The blob directory several nodes on one PostgreSQL database share (a shared POSIX mount;
  // needs repository.database): blobs under it, this node's temp files and pending markers in
  // its tmp/<node id>/. Empty: the data directory's own blobs/.
  std::string blob_dir;
  // This node's name in its workers' ids ([A-Za-z0-9.-], 1..48): empty = OpenDataDir's
  // DIR/node-id (created once), or a random one for other stores.
  std::string node_id;
  void Check() const;  // throws Error(kInvalidArgument)
};

// What start-up clean-up found.
struct RecoveryReport {
  int pending_markers = 0;       // markers left by the previous run
  int orphan_blobs_removed = 0;  // blobs written but never committed (or erased half-way)
  int requeued_captures = 0;     // captures that were being processed when the process died
};

struct EraseReport {
  int blobs_removed = 0;
  int blobs_kept = 0;  // identical bytes still referenced by another patient
};

// Result of a full consistency check.
struct CheckReport {
  std::string integrity;  // "ok" or the database's complaint
  std::int64_t referenced_blobs = 0;
  std::int64_t stored_blobs = 0;
  std::vector<std::string> missing;       // referenced but absent
  std::vector<std::string> corrupt;       // present with the wrong hash or size
  std::vector<std::string> unreferenced;  // stored but referenced by no row
  bool ok() const {
    return integrity == "ok" && missing.empty() && corrupt.empty() && unreferenced.empty();
  }
};

// The modes of a data directory. Store::OpenDataDir creates the directory 0700 and the database
// 0600 (SQLite gives its -wal and -shm files the database's mode), pipeline's
// LoadOrCreatePseudonymKey the key 0600, whatever the umask: the key recomputes every subject id,
// the database holds the patient ids. Existing files are not changed; LoosePermissions lists,
// one line each, the directory and those files (pseudonym.key, skintrack.db, -wal, -shm) that
// group or others may access, with the chmod that fixes it. Empty when all are owner-only.
// Never throws (a path that cannot be examined is skipped).
std::vector<std::string> LoosePermissions(const std::string& dir);

// Opens only the metadata repository of data directory `dir`: no blob store, no lock, no
// start-up clean-up. For metadata tools (tokens, patients, reports, `db info`) that must work
// while a server owns the directory; SQLite serialises the two processes' writers (busy waits
// and retries as documented in repository.h). Never use it for anything that adds or removes
// blob references (ingest, results with blobs, ErasePatient): those need the Store.
// Error(kNotFound) if `dir` holds no database.
std::unique_ptr<Repository> OpenDataDirRepository(const std::string& dir,
                                                  const RepositoryOptions& options = {});

// Thread-safe. All errors are skintrack::Error; bad input changes nothing.
class Store {
 public:
  // Opens (creating on first use) the data directory `dir`, takes its lock (Error(kConflict) if
  // another process holds it), applies migrations and runs Recover(). Error(kIo) if the
  // directory cannot be created.
  static std::unique_ptr<Store> OpenDataDir(const std::string& dir,
                                            const StoreOptions& options = {});
  // A private in-memory store (":memory:" database + memory blobs).
  static std::unique_ptr<Store> OpenInMemory(const StoreOptions& options = {});

  // Composes any backends (e.g. PostgreSQL + S3). Runs Recover(), which assumes this process is
  // the only user of the backends. `lock_fd`: a descriptor holding the data directory lock, closed
  // by the Store (also when the constructor throws); -1 for none.
  Store(std::unique_ptr<Repository> repository, std::unique_ptr<BlobStore> blobs,
        const StoreOptions& options, int lock_fd = -1);
  ~Store();
  Store(const Store&) = delete;
  Store& operator=(const Store&) = delete;

  // Stores the (already validated, metadata-free) image bytes, then the capture row. Returns
  // created = false and the existing capture if these bytes were stored before for the same
  // patient and site. Error(kImageTooLarge) above max_blob_bytes, Error(kInvalidArgument) for
  // empty bytes, Error(kNotFound) for an unknown patient or site: in every error case nothing is
  // left behind.
  // `verify_while_writing`, when given, runs on another thread while the blob is written and
  // fsynced (the service's full-stream check of the photo): the row is committed only if it
  // returns; if it throws, the blob is released and its exception propagates (it wins over a
  // storage error of the same ingest). The ack then costs max(check, blob write) + commit.
  IngestResult IngestCapture(const NewCapture& capture, std::string_view bytes,
                             const std::string& actor,
                             const std::function<void()>& verify_while_writing = {});
  // Appends a result; `blob_bytes` (e.g. a mask PNG) is stored first when given.
  Result AppendResult(const NewResult& result, std::optional<std::string_view> blob_bytes,
                      const std::string& actor);
  Assessment AppendAssessment(const NewAssessment& assessment,
                              std::optional<std::string_view> mask_bytes, const std::string& actor);
  // Stores the annotation document (`content`, the bytes of annotation::EncodeDocument), then
  // appends the version (Repository::AppendAnnotationVersion); on any error nothing is left.
  AnnotationVersion AppendAnnotationVersion(const NewAnnotationVersion& version,
                                            std::string_view content, const std::string& actor);
  // Bytes of a blob. Error(kNotFound) if absent.
  std::string ReadBlob(const std::string& sha256) const;

  // Right to be forgotten: deletes the patient's rows (audited) and the blobs no other patient
  // references. Error(kNotFound) for an unknown patient.
  EraseReport ErasePatient(const std::string& patient_id, const std::string& actor);

  // Removes blobs left unreferenced by a crash, clears pending markers and requeues interrupted
  // captures. Called by the constructor; safe to call again.
  RecoveryReport Recover();
  const RecoveryReport& last_recovery() const { return last_recovery_; }

  // Integrity check of the database plus every blob against the rows (O(blobs); reads every blob
  // when `verify_hashes`).
  CheckReport Check(bool verify_hashes);

  // The id of this process's worker `index`, "worker:<node id>:<pid>.<start ms>:<index>": unique
  // per process (several nodes share a PostgreSQL queue), with the node's prefix, by which the
  // next process on the data directory recognises the leases its predecessor left (Recover).
  std::string WorkerId(int index) const;
  // The lease holder of this process's changes made outside the queue (Repository::LeaseProcessed):
  // "worker:<node id>:<pid>.<start ms>:edit", recognised by the next start like a worker's.
  std::string EditWorkerId() const;
  // "worker:<node id>:", the prefix of this node's worker ids, past and present.
  std::string NodeWorkerPrefix() const { return "worker:" + node_id_ + ":"; }

  // Metadata-only operations and queries (patients, queue, history, tokens, audit, series).
  Repository& repository() { return *repository_; }
  BlobStore& blobs() { return *blobs_; }

 private:
  BlobPut PutBlob(std::string_view bytes);
  void ReleaseBlob(const BlobPut& put, bool committed);

  std::unique_ptr<Repository> repository_;
  std::unique_ptr<BlobStore> blobs_;
  StoreOptions options_;
  std::string node_id_;
  std::string incarnation_;  // "<pid>.<start ms>"
  int lock_fd_ = -1;
  RecoveryReport last_recovery_;
  // Erasure and recovery remove blobs; they exclude every in-flight put (shared vs exclusive).
  mutable std::mutex in_flight_mutex_;
  std::unordered_map<std::string, int> in_flight_;  // sha256 -> puts not yet committed
  std::mutex erase_mutex_;
};

}  // namespace skintrack::storage
