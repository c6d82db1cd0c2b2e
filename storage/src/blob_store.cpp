// File and memory blob stores. The file store's durability argument is in docs/storage.md:
// a blob reaches its final name only through link() of a fully written, fsynced temp file, so a
// final name never holds partial bytes; the temp name stays as the pending marker until the
// caller's row is committed.
#include "skintrack/storage/blob_store.h"

#include <dirent.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <cstring>
#include <map>
#include <mutex>
#include <set>
#include <system_error>

#include "skintrack/core/error.h"
#include "skintrack/storage/sha256.h"

namespace skintrack::storage {
namespace {

constexpr char kPutSuffix[] = ".put";
constexpr char kMarkSuffix[] = ".mark";

// kStorageFull when the file system had no room (FileErrorCode), else kIo. The message names the
// path for the operator (CLI, server log); the HTTP layer never shows a 5xx message to clients.
[[noreturn]] void ThrowIo(const std::string& what, const std::string& path, int err) {
  // std::error_code formats errno thread-safely (std::strerror may not be).
  throw Error(FileErrorCode(err),
              what + " " + path + ": " + std::error_code(err, std::generic_category()).message());
}

void CheckSha(const std::string& sha256) {
  if (!IsSha256Hex(sha256)) {
    throw Error(ErrorCode::kInvalidArgument,
                "not a blob address (64 lower-case hex digits): '" + sha256.substr(0, 80) + "'");
  }
}

class Fd {
 public:
  explicit Fd(int fd) : fd_(fd) {}
  ~Fd() {
    if (fd_ >= 0) ::close(fd_);
  }
  Fd(const Fd&) = delete;
  Fd& operator=(const Fd&) = delete;
  int get() const { return fd_; }
  // Closes now so that a failing close (delayed write error) is reported.
  void Close(const std::string& path) {
    const int fd = fd_;
    fd_ = -1;
    if (::close(fd) != 0) ThrowIo("cannot close", path, errno);
  }

 private:
  int fd_;
};

void FsyncPath(const std::string& path, bool directory) {
  Fd fd(::open(path.c_str(), (directory ? O_RDONLY | O_DIRECTORY : O_RDONLY) | O_CLOEXEC));
  if (fd.get() < 0) ThrowIo("cannot open", path, errno);
  if (::fsync(fd.get()) != 0) ThrowIo("cannot fsync", path, errno);
}

// mkdir that tolerates an existing directory; fsyncs the parent when it created the entry.
void MakeDir(const std::string& path, const std::string& parent) {
  if (::mkdir(path.c_str(), 0750) == 0) {
    FsyncPath(parent, true);
  } else if (errno != EEXIST) {
    ThrowIo("cannot create directory", path, errno);
  }
}

void WriteAll(int fd, std::string_view bytes, const std::string& path) {
  const char* p = bytes.data();
  std::size_t left = bytes.size();
  while (left > 0) {
    const ssize_t n = ::write(fd, p, left);
    if (n < 0) {
      if (errno == EINTR) continue;
      ThrowIo("cannot write", path, errno);
    }
    p += n;
    left -= static_cast<std::size_t>(n);
  }
}

std::string ReadFile(const std::string& path, const std::string& sha256) {
  Fd fd(::open(path.c_str(), O_RDONLY | O_CLOEXEC));
  if (fd.get() < 0) {
    if (errno == ENOENT) throw Error(ErrorCode::kNotFound, "no blob " + sha256);
    ThrowIo("cannot open", path, errno);
  }
  std::string bytes;
  char buffer[1 << 16];
  for (;;) {
    const ssize_t n = ::read(fd.get(), buffer, sizeof buffer);
    if (n < 0) {
      if (errno == EINTR) continue;
      ThrowIo("cannot read", path, errno);
    }
    if (n == 0) break;
    bytes.append(buffer, static_cast<std::size_t>(n));
  }
  return bytes;
}

bool IsHexDirName(const char* name) {
  return std::strlen(name) == 2 && std::isxdigit(static_cast<unsigned char>(name[0])) &&
         std::isxdigit(static_cast<unsigned char>(name[1])) && !std::isupper(name[0]) &&
         !std::isupper(name[1]);
}

std::vector<std::string> ListDir(const std::string& path) {
  std::vector<std::string> names;
  DIR* dir = ::opendir(path.c_str());
  if (dir == nullptr) {
    if (errno == ENOENT) return names;
    ThrowIo("cannot list", path, errno);
  }
  // readdir on a stream no other thread sees is thread-safe in glibc.
  while (const dirent* entry = ::readdir(dir)) {  // NOLINT(concurrency-mt-unsafe)
    if (std::strcmp(entry->d_name, ".") != 0 && std::strcmp(entry->d_name, "..") != 0) {
      names.emplace_back(entry->d_name);
    }
  }
  ::closedir(dir);
  return names;
}

class FileBlobStore final : public BlobStore {
 public:
  FileBlobStore(const std::string& root, const std::string& node)
      : root_(root), tmp_(root + "/tmp" + (node.empty() ? "" : "/" + node)) {
    const std::string parent = root.find('/') == std::string::npos
                                   ? std::string(".")
                                   : root.substr(0, root.find_last_of('/'));
    MakeDir(root_, parent.empty() ? "/" : parent);
    MakeDir(root_ + "/tmp", root_);
    if (!node.empty()) MakeDir(tmp_, root_ + "/tmp");
  }

  BlobPut Put(std::string_view bytes) override {
    BlobPut put;
    put.ref.sha256 = Sha256Hex(bytes);
    put.ref.size = static_cast<std::int64_t>(bytes.size());
    const std::string& sha = put.ref.sha256;
    const std::string dir1 = root_ + "/" + sha.substr(0, 2);
    const std::string dir2 = dir1 + "/" + sha.substr(2, 2);
    const std::string final_path = dir2 + "/" + sha;

    struct stat st {};
    if (::stat(final_path.c_str(), &st) == 0) {
      // Written by an earlier put, whose link may not be durable yet if that put is still in
      // flight in another thread: make it durable before acknowledging.
      if (st.st_size != put.ref.size) {
        throw Error(ErrorCode::kStorage, "blob " + sha + " exists with a different size (" +
                                             std::to_string(st.st_size) + " bytes): damaged store");
      }
      FsyncPath(final_path, false);
      FsyncPath(dir2, true);
      return put;
    }
    MakeDir(dir1, root_);
    MakeDir(dir2, dir1);

    const std::string name = NewMarkerName(sha, kPutSuffix);
    const std::string tmp_path = tmp_ + "/" + name;
    {
      Fd fd(::open(tmp_path.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0640));
      if (fd.get() < 0) ThrowIo("cannot create", tmp_path, errno);
      try {
        WriteAll(fd.get(), bytes, tmp_path);
        if (::fsync(fd.get()) != 0) ThrowIo("cannot fsync", tmp_path, errno);
        fd.Close(tmp_path);
      } catch (...) {
        ::unlink(tmp_path.c_str());
        throw;
      }
    }
    // The marker must be durable before the final name can be, or a power loss could leave an
    // unmarked orphan.
    FsyncPath(tmp_, true);
    if (::link(tmp_path.c_str(), final_path.c_str()) != 0) {
      const int err = errno;
      ::unlink(tmp_path.c_str());
      if (err != EEXIST) ThrowIo("cannot link blob", final_path, err);
      // Another thread stored the same bytes meanwhile; its put made them durable.
      FsyncPath(dir2, true);
      return put;
    }
    FsyncPath(dir2, true);
    put.pending = name;
    return put;
  }

  std::string Get(const std::string& sha256) const override {
    CheckSha(sha256);
    return ReadFile(FinalPath(sha256), sha256);
  }

  bool Exists(const std::string& sha256) const override {
    CheckSha(sha256);
    struct stat st {};
    return ::stat(FinalPath(sha256).c_str(), &st) == 0;
  }

  void Remove(const std::string& sha256) override {
    CheckSha(sha256);
    const std::string path = FinalPath(sha256);
    if (::unlink(path.c_str()) != 0) {
      if (errno == ENOENT) return;
      ThrowIo("cannot remove", path, errno);
    }
    FsyncPath(path.substr(0, path.find_last_of('/')), true);
  }

  std::string MarkPending(const std::string& sha256) override {
    CheckSha(sha256);
    std::string name = NewMarkerName(sha256, kMarkSuffix);
    const std::string path = tmp_ + "/" + name;
    Fd fd(::open(path.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0640));
    if (fd.get() < 0) ThrowIo("cannot create", path, errno);
    fd.Close(path);
    FsyncPath(tmp_, true);
    return name;
  }

  void ClearPending(const std::string& marker) override {
    if (marker.empty() || marker.find('/') != std::string::npos || marker[0] == '.') {
      throw Error(ErrorCode::kInvalidArgument,
                  "not a pending marker name: '" + marker.substr(0, 80) + "'");
    }
    const std::string path = tmp_ + "/" + marker;
    // No fsync: a marker that reappears after a power loss only costs one reference check.
    if (::unlink(path.c_str()) != 0 && errno != ENOENT) ThrowIo("cannot remove", path, errno);
  }

  std::vector<PendingMarker> ListPending() override {
    std::vector<PendingMarker> markers;
    for (const std::string& name : ListDir(tmp_)) {
      PendingMarker m;
      m.name = name;
      const std::string sha = name.substr(0, 64);
      if (name.size() > 65 && name[64] == '.' && IsSha256Hex(sha)) m.sha256 = sha;
      markers.push_back(std::move(m));
    }
    return markers;
  }

  void ForEach(const std::function<void(const std::string&)>& fn) const override {
    // a/b without the temporaries of a + "/" + b: this loop runs once per stored blob.
    const auto join = [](const std::string& a, const std::string& b) {
      std::string out;
      out.reserve(a.size() + 1 + b.size());
      out.append(a).append(1, '/').append(b);
      return out;
    };
    for (const std::string& d1 : ListDir(root_)) {
      if (!IsHexDirName(d1.c_str())) continue;
      const std::string path1 = join(root_, d1);
      for (const std::string& d2 : ListDir(path1)) {
        if (!IsHexDirName(d2.c_str())) continue;
        const std::string prefix = join(d1, d2);
        for (const std::string& name : ListDir(join(root_, prefix))) {
          if (IsSha256Hex(name) && name.compare(0, 2, d1) == 0 && name.compare(2, 2, d2) == 0) {
            fn(name);
          } else {
            // Anything else in a blob directory is not ours to interpret; report it as a blob
            // name that cannot match a row so a check flags it.
            fn(join(prefix, name));
          }
        }
      }
    }
  }

 private:
  std::string FinalPath(const std::string& sha) const {
    return root_ + "/" + sha.substr(0, 2) + "/" + sha.substr(2, 2) + "/" + sha;
  }

  std::string NewMarkerName(const std::string& sha, const char* suffix) {
    return sha + "." + std::to_string(::getpid()) + "-" + std::to_string(counter_++) + suffix;
  }

  std::string root_;
  std::string tmp_;
  std::atomic<std::uint64_t> counter_{0};
};

class MemoryBlobStore final : public BlobStore {
 public:
  BlobPut Put(std::string_view bytes) override {
    BlobPut put;
    put.ref.sha256 = Sha256Hex(bytes);
    put.ref.size = static_cast<std::int64_t>(bytes.size());
    std::lock_guard<std::mutex> lock(mutex_);
    if (blobs_.emplace(put.ref.sha256, std::string(bytes)).second) {
      put.pending = put.ref.sha256 + "." + std::to_string(counter_++) + kPutSuffix;
      markers_.insert(put.pending);
    }
    return put;
  }
  std::string Get(const std::string& sha256) const override {
    CheckSha(sha256);
    std::lock_guard<std::mutex> lock(mutex_);
    auto it = blobs_.find(sha256);
    if (it == blobs_.end()) throw Error(ErrorCode::kNotFound, "no blob " + sha256);
    return it->second;
  }
  bool Exists(const std::string& sha256) const override {
    CheckSha(sha256);
    std::lock_guard<std::mutex> lock(mutex_);
    return blobs_.count(sha256) > 0;
  }
  void Remove(const std::string& sha256) override {
    CheckSha(sha256);
    std::lock_guard<std::mutex> lock(mutex_);
    blobs_.erase(sha256);
  }
  std::string MarkPending(const std::string& sha256) override {
    CheckSha(sha256);
    std::lock_guard<std::mutex> lock(mutex_);
    std::string name = sha256 + "." + std::to_string(counter_++) + kMarkSuffix;
    markers_.insert(name);
    return name;
  }
  void ClearPending(const std::string& marker) override {
    std::lock_guard<std::mutex> lock(mutex_);
    markers_.erase(marker);
  }
  std::vector<PendingMarker> ListPending() override {
    std::lock_guard<std::mutex> lock(mutex_);
    std::vector<PendingMarker> out;
    for (const std::string& name : markers_) out.push_back({name, name.substr(0, 64)});
    return out;
  }
  void ForEach(const std::function<void(const std::string&)>& fn) const override {
    std::vector<std::string> names;
    {
      std::lock_guard<std::mutex> lock(mutex_);
      for (const auto& entry : blobs_) names.push_back(entry.first);
    }
    for (const std::string& name : names) fn(name);
  }

 private:
  mutable std::mutex mutex_;
  std::map<std::string, std::string> blobs_;
  std::set<std::string> markers_;
  std::uint64_t counter_ = 0;
};

}  // namespace

std::unique_ptr<BlobStore> OpenFileBlobStore(const std::string& root, const std::string& node) {
  if (root.empty()) throw Error(ErrorCode::kInvalidArgument, "blob store root is empty");
  if (!node.empty() && (node == "." || node == ".." || node.find('/') != std::string::npos)) {
    throw Error(ErrorCode::kInvalidArgument, "blob store node name " + node + " is not a name");
  }
  return std::make_unique<FileBlobStore>(root, node);
}

std::unique_ptr<BlobStore> OpenMemoryBlobStore() { return std::make_unique<MemoryBlobStore>(); }

}  // namespace skintrack::storage
