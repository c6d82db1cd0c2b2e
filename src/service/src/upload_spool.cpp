#include "upload_spool.h"

#include <fcntl.h>
#include <sys/mman.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <system_error>

namespace skintrack::service::detail {
namespace {

std::string ErrnoText(int err) { return std::error_code(err, std::generic_category()).message(); }

// O_TMPFILE first; tmpfs, ext4, xfs and btrfs have it. Elsewhere (NFS, overlay on old kernels) a
// unique name, unlinked as soon as it is open.
int OpenUnnamed(const std::string& dir) {
  int fd = ::open(dir.c_str(), O_TMPFILE | O_RDWR | O_CLOEXEC, 0600);
  if (fd >= 0) return fd;
  const int err = errno;  // before any allocation below can change it
  if (err != EOPNOTSUPP && err != EISDIR && err != EINVAL) {
    throw Error(FileErrorCode(err),
                "cannot create an upload spool file in " + dir + ": " + ErrnoText(err));
  }
  static std::atomic<unsigned> counter{0};
  const std::string path = dir + "/.upload-" + std::to_string(::getpid()) + "-" +
                           std::to_string(counter.fetch_add(1)) + ".spool";
  fd = ::open(path.c_str(), O_RDWR | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
  if (fd < 0) {
    const int open_err = errno;
    throw Error(FileErrorCode(open_err),
                "cannot create upload spool " + path + ": " + ErrnoText(open_err));
  }
  ::unlink(path.c_str());
  return fd;
}

class MappedSpool final : public SpooledBody {
 public:
  MappedSpool(int fd, std::size_t size, std::string sha256) : sha256_(std::move(sha256)) {
    if (size > 0) {
      void* p = ::mmap(nullptr, size, PROT_READ, MAP_PRIVATE, fd, 0);
      if (p == MAP_FAILED) {
        const int err = errno;
        ::close(fd);
        throw Error(ErrorCode::kIo, "cannot map the upload spool: " + ErrnoText(err));
      }
      data_ = static_cast<const char*>(p);
      size_ = size;
    }
    ::close(fd);  // the mapping keeps the file's pages; the file goes with it
  }
  ~MappedSpool() override {
    if (data_ != nullptr) ::munmap(const_cast<char*>(data_), size_);
  }
  MappedSpool(const MappedSpool&) = delete;
  MappedSpool& operator=(const MappedSpool&) = delete;

  std::string_view bytes() const override { return {data_ == nullptr ? "" : data_, size_}; }
  const std::string& sha256() const override { return sha256_; }

 private:
  const char* data_ = nullptr;
  std::size_t size_ = 0;
  std::string sha256_;
};

}  // namespace

UploadSpool::UploadSpool(const std::string& dir) : fd_(OpenUnnamed(dir)) {}

UploadSpool::~UploadSpool() {
  if (fd_ >= 0) ::close(fd_);
}

bool UploadSpool::Append(const void* data, std::size_t size) noexcept {
  if (failure_ || fd_ < 0) return false;
  try {
    hash_.Update(data, size);
    const char* p = static_cast<const char*>(data);
    std::size_t left = size;
    while (left > 0) {
      const ssize_t n = ::write(fd_, p, left);
      if (n < 0) {
        if (errno == EINTR) continue;
        const int err = errno;
        failure_ = Error(FileErrorCode(err), "cannot write the upload to disk: " + ErrnoText(err));
        return false;
      }
      p += n;
      left -= static_cast<std::size_t>(n);
    }
    size_ += size;
    return true;
  } catch (const Error& e) {
    failure_ = e;
  } catch (...) {
    failure_ = Error(ErrorCode::kInternal, "cannot hash the upload");
  }
  return false;
}

std::shared_ptr<const SpooledBody> UploadSpool::Finish() {
  if (failure_) throw *failure_;
  if (fd_ < 0) throw Error(ErrorCode::kInternal, "upload spool finished twice");
  const int fd = fd_;
  fd_ = -1;
  return std::make_shared<MappedSpool>(fd, size_, hash_.FinalHex());
}

}  // namespace skintrack::service::detail
