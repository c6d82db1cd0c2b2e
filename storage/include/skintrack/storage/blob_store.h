// Content-addressed blob store interface and its two implementations: files in a data directory
// (the default) and memory (tests). An S3-compatible backend would implement the same interface.
//
// Pending markers make crash clean-up cheap: Put() leaves a marker naming the blob until the
// caller has committed a row that references it (ClearPending); a blob that is about to lose its
// last reference gets one too (MarkPending). At start-up the owner checks every pending blob
// against the repository and removes the unreferenced ones, so no full scan is needed.
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "skintrack/storage/types.h"

namespace skintrack::storage {

struct BlobPut {
  BlobRef ref;
  std::string pending;  // marker to pass to ClearPending; empty if the blob existed already
};

struct PendingMarker {
  std::string name;    // pass to ClearPending
  std::string sha256;  // blob it protects; empty for a marker that names no valid blob
};

// All methods are thread-safe. Failures throw Error(kStorageFull) (no room: ENOSPC, EDQUOT,
// EFBIG), Error(kIo) (other file-system failures) or Error(kNotFound).
class BlobStore {
 public:
  virtual ~BlobStore() = default;

  // Stores `bytes` durably (on return they survive a crash or power loss) and returns their
  // address. Storing bytes that exist already is cheap and returns the same address.
  virtual BlobPut Put(std::string_view bytes) = 0;
  // The bytes of blob `sha256`; Error(kNotFound) if absent, Error(kInvalidArgument) for a bad hash.
  virtual std::string Get(const std::string& sha256) const = 0;
  virtual bool Exists(const std::string& sha256) const = 0;
  // Removes the blob durably; absent blobs are ignored.
  virtual void Remove(const std::string& sha256) = 0;

  // Durably records that `sha256` may become unreferenced (see the header comment).
  virtual std::string MarkPending(const std::string& sha256) = 0;
  virtual void ClearPending(const std::string& marker) = 0;
  // Markers left by earlier runs and by in-flight operations; also deletes partial temp files.
  virtual std::vector<PendingMarker> ListPending() = 0;

  // Calls `fn` with the hash of every stored blob (for consistency checks; O(number of blobs)).
  virtual void ForEach(const std::function<void(const std::string& sha256)>& fn) const = 0;
};

// Blobs under `root/ab/cd/<sha256>` with temp files and markers in `root/tmp/`, or in
// `root/tmp/<node>/` when `node` is given. Creates the directories. Put: write temp, fsync, fsync
// tmp dir, link to the final name, fsync its directory.
// Several nodes sharing one root (a shared POSIX directory, docs/storage.md) each pass their
// node id: ListPending removes the partial temp files of its folder and returns all its markers,
// which must be this process's own, never another node's in-flight put.
std::unique_ptr<BlobStore> OpenFileBlobStore(const std::string& root, const std::string& node = "");

// Keeps blobs in memory; for tests and for the ":memory:" store.
std::unique_ptr<BlobStore> OpenMemoryBlobStore();

}  // namespace skintrack::storage
