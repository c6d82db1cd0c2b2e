#include "node_id.h"

#include <fcntl.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <fstream>
#include <system_error>

#include "skintrack/core/error.h"
#include "sqlite_repository.h"

namespace skintrack::storage::detail {
namespace {

constexpr std::size_t kMaxNodeId = 48;

std::string ErrnoText(int err) { return std::error_code(err, std::generic_category()).message(); }

// The host name makes worker ids readable in the queue and the audit log; the random part keeps
// two directories on one host (or two hosts of the same name) apart.
std::string NewNodeId() {
  char host[256] = {};
  std::string name;
  if (::gethostname(host, sizeof host - 1) == 0) {
    for (const char* p = host; *p != '\0' && name.size() < kMaxNodeId - 9; ++p) {
      const char c = *p;
      const bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
                      c == '.' || c == '-';
      name.push_back(ok ? c : '-');
    }
  }
  if (name.empty()) name = "node";
  return name + "-" + RandomHex(4);
}

}  // namespace

bool IsValidNodeId(const std::string& id) {
  if (id.empty() || id.size() > kMaxNodeId) return false;
  for (const char c : id) {
    const bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
                    c == '.' || c == '-';
    if (!ok) return false;
  }
  return true;
}

std::string EphemeralNodeId() { return "mem-" + RandomHex(4); }

std::string LoadOrCreateNodeId(const std::string& dir) {
  const std::string path = dir + "/node-id";
  {
    std::ifstream in(path);
    if (in) {
      std::string id;
      std::getline(in, id);
      if (!IsValidNodeId(id)) {
        throw Error(ErrorCode::kInvalidArgument,
                    path +
                        " holds no valid node id ([A-Za-z0-9.-], 1..48 characters); remove it "
                        "only if no capture of the shared queue is leased to this node");
      }
      return id;
    }
  }
  const std::string id = NewNodeId();
  const std::string text = id + "\n";
  const int fd = ::open(path.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC | O_NOFOLLOW, 0600);
  if (fd < 0) throw Error(FileErrorCode(errno), "cannot create " + path + ": " + ErrnoText(errno));
  const bool written = ::write(fd, text.data(), text.size()) == static_cast<ssize_t>(text.size()) &&
                       ::fsync(fd) == 0;
  const int err = errno;
  ::close(fd);
  if (!written) {
    ::unlink(path.c_str());
    throw Error(FileErrorCode(err), "cannot write " + path + ": " + ErrnoText(err));
  }
  return id;
}

}  // namespace skintrack::storage::detail
