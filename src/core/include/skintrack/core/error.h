// The one exception type of skintrack. Third-party exceptions (cv::Exception,
// itk::ExceptionObject, SQLite::Exception) are translated into it once, at the edge of the module
// that calls the library; the HTTP layer maps ErrorCode to a status in a single switch.
#pragma once

#include <stdexcept>
#include <string>

namespace skintrack {

enum class ErrorCode {
  kInvalidArgument,   // a value the caller gave is malformed or out of range
  kNotFound,          // an id, file or site that does not exist
  kAlreadyExists,     // a create that collides with an existing object
  kConflict,          // the request contradicts the current state
  kUnsupportedMedia,  // bytes that are not an accepted image type
  kImageDecode,       // bytes of an accepted type that do not decode (truncated, corrupt)
  kImageTooLarge,     // over the pixel limit (decompression bomb) or the byte limit
  kUnauthorized,      // no or invalid credentials
  kForbidden,         // valid credentials without the right
  kStorage,           // the database or blob store failed (busy, unavailable, damaged)
  kStorageFull,       // no room for a write: disk full, quota exceeded or file size limit
  kIo,                // a local file could not be read or written
  kInternal,          // a bug: an invariant did not hold
};

// Stable snake_case name of a code, used in JSON error bodies and CLI messages.
const char* ErrorCodeName(ErrorCode code) noexcept;

// The code of a failed file-system call from its errno: kStorageFull when the write found no room
// (ENOSPC, EDQUOT, EFBIG), kIo otherwise. Freeing space fixes the first, not the second, so
// callers (the queue, HTTP clients) treat them differently.
ErrorCode FileErrorCode(int errno_value) noexcept;

class Error : public std::runtime_error {
 public:
  Error(ErrorCode code, const std::string& message);
  ErrorCode code() const noexcept { return code_; }

 private:
  ErrorCode code_;
};

}  // namespace skintrack
