// The file an upload body is written to while it arrives (ServerOptions::upload_spool_dir): an
// unnamed file (O_TMPFILE; where the file system has none, a named one unlinked at once), so a
// crash or a dropped connection leaves nothing behind. The bytes are hashed as they are written;
// Finish() maps the file read-only for the handler (HttpRequest::spooled).
#pragma once

#include <cstddef>
#include <memory>
#include <optional>
#include <string>

#include "skintrack/core/error.h"
#include "skintrack/service/http.h"
#include "skintrack/storage/sha256.h"

namespace skintrack::service::detail {

class UploadSpool {
 public:
  // Error(kIo) when no file can be created in `dir`.
  explicit UploadSpool(const std::string& dir);
  ~UploadSpool();
  UploadSpool(const UploadSpool&) = delete;
  UploadSpool& operator=(const UploadSpool&) = delete;

  // Writes and hashes `size` bytes. False after a failed write (disk full: Error(kStorageFull);
  // else kIo), which failure() then holds; nothing more is written.
  bool Append(const void* data, std::size_t size) noexcept;
  const std::optional<Error>& failure() const { return failure_; }
  std::size_t size() const { return size_; }

  // The bytes written, mapped read-only; the spool is spent. Error(kIo) when the mapping fails,
  // the failure() when a write had failed.
  std::shared_ptr<const SpooledBody> Finish();

 private:
  int fd_ = -1;
  std::size_t size_ = 0;
  storage::Sha256 hash_;
  std::optional<Error> failure_;
};

}  // namespace skintrack::service::detail
