#include "skintrack/core/error.h"

#include <cerrno>

namespace skintrack {

const char* ErrorCodeName(ErrorCode code) noexcept {
  switch (code) {
    case ErrorCode::kInvalidArgument:
      return "invalid_argument";
    case ErrorCode::kNotFound:
      return "not_found";
    case ErrorCode::kAlreadyExists:
      return "already_exists";
    case ErrorCode::kConflict:
      return "conflict";
    case ErrorCode::kUnsupportedMedia:
      return "unsupported_media_type";
    case ErrorCode::kImageDecode:
      return "image_decode_failed";
    case ErrorCode::kImageTooLarge:
      return "image_too_large";
    case ErrorCode::kUnauthorized:
      return "unauthorized";
    case ErrorCode::kForbidden:
      return "forbidden";
    case ErrorCode::kStorage:
      return "storage_error";
    case ErrorCode::kStorageFull:
      return "storage_full";
    case ErrorCode::kIo:
      return "io_error";
    case ErrorCode::kInternal:
      return "internal_error";
  }
  return "internal_error";
}

ErrorCode FileErrorCode(int errno_value) noexcept {
  switch (errno_value) {
    case ENOSPC:
    case EDQUOT:
    case EFBIG:  // RLIMIT_FSIZE or the file system's largest file: no room either
      return ErrorCode::kStorageFull;
    default:
      return ErrorCode::kIo;
  }
}

Error::Error(ErrorCode code, const std::string& message)
    : std::runtime_error(message), code_(code) {}

}  // namespace skintrack
