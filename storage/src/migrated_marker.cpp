#include "migrated_marker.h"

#include <fcntl.h>
#include <unistd.h>

#include <cerrno>
#include <ctime>
#include <fstream>
#include <system_error>

#include "skintrack/core/error.h"

namespace skintrack::storage::detail {
namespace {

constexpr char kMarker[] = "/MIGRATED";

std::string ErrnoText(int err) { return std::error_code(err, std::generic_category()).message(); }

std::string UtcNow() {
  const std::time_t now = std::time(nullptr);
  std::tm tm{};
  ::gmtime_r(&now, &tm);
  char text[32];
  std::strftime(text, sizeof text, "%Y-%m-%dT%H:%M:%SZ", &tm);
  return text;
}

}  // namespace

void WriteMigratedMarker(const std::string& dir, const std::string& target) {
  const std::string path = dir + kMarker;
  const std::string tmp = path + ".tmp";
  const std::string text = target + "\nmigrated " + UtcNow() + "\n";
  const int fd = ::open(tmp.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC | O_NOFOLLOW, 0600);
  if (fd < 0) throw Error(ErrorCode::kIo, "cannot create " + tmp + ": " + ErrnoText(errno));
  const bool written = ::write(fd, text.data(), text.size()) == static_cast<ssize_t>(text.size()) &&
                       ::fsync(fd) == 0;
  const int err = errno;
  ::close(fd);
  if (!written || ::rename(tmp.c_str(), path.c_str()) != 0) {
    const int e = written ? errno : err;
    ::unlink(tmp.c_str());
    throw Error(ErrorCode::kIo, "cannot write " + path + ": " + ErrnoText(e));
  }
  const int dfd = ::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (dfd >= 0) {
    ::fsync(dfd);
    ::close(dfd);
  }
}

void RefuseIfMigrated(const std::string& dir) {
  const std::string path = dir + kMarker;
  std::ifstream in(path);
  if (!in) return;
  std::string target;
  std::getline(in, target);
  throw Error(ErrorCode::kConflict,
              "data directory " + dir + " was migrated to " + target + " (" + path +
                  "): start it with --database and that database; its skintrack.db is the copy "
                  "from before the migration, and a node serving it would not be part of the "
                  "cluster. To use that copy on its own again, remove " +
                  path);
}

}  // namespace skintrack::storage::detail
