// No room to write (issue 13, item 9): how storage classifies it and what it leaves behind.
// ENOSPC / EDQUOT / EFBIG and SQLITE_FULL become Error(kStorageFull) (HTTP 507), other failures
// stay kIo / kStorage. The blob store and the data-directory Store are run against a real
// refusing kernel without root: a forked child with RLIMIT_FSIZE, whose writes past the limit
// fail with EFBIG. A full tmpfs (real ENOSPC) needs root: scripts/diskfull-check.sh.
#include <SQLiteCpp/Database.h>
#include <SQLiteCpp/Exception.h>
#include <gtest/gtest.h>
#include <sqlite3.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <csignal>
#include <filesystem>
#include <functional>
#include <string>

#include "../support/run_cli.h"
#include "skintrack/core/error.h"
#include "skintrack/storage/blob_store.h"
#include "skintrack/storage/store.h"
#include "sqlite_repository.h"

namespace skintrack::storage {
namespace {

using skintrack::testing::TempDir;

constexpr rlim_t kLimit = 1 << 20;  // largest file the child may write

// Runs `body` in a forked child whose files may not grow past kLimit (SIGXFSZ ignored, so the
// write fails with EFBIG instead of killing the child); returns what it reported. The child opens
// its own Store: SQLite connections must not cross a fork.
std::string InLimitedChild(const std::function<std::string()>& body) {
  int fds[2];
  if (::pipe(fds) != 0) return "pipe failed";
  const pid_t pid = ::fork();
  if (pid == 0) {
    ::close(fds[0]);
    std::string report;
    try {
      report = body();
    } catch (const std::exception& e) {
      report = std::string("unexpected exception: ") + e.what();
    }
    const char* p = report.data();
    std::size_t left = report.size();
    while (left > 0) {
      const ssize_t n = ::write(fds[1], p, left);
      if (n <= 0) break;
      p += n;
      left -= static_cast<std::size_t>(n);
    }
    ::_exit(0);
  }
  ::close(fds[1]);
  std::string out;
  char buffer[4096];
  for (ssize_t n; (n = ::read(fds[0], buffer, sizeof buffer)) > 0;) out.append(buffer, n);
  ::close(fds[0]);
  int status = 0;
  ::waitpid(pid, &status, 0);
  if (!WIFEXITED(status)) out += " [child died: status " + std::to_string(status) + "]";
  return out;
}

void LimitFileSize() {
  std::signal(SIGXFSZ, SIG_IGN);
  const rlimit limit{kLimit, kLimit};
  if (::setrlimit(RLIMIT_FSIZE, &limit) != 0) throw std::runtime_error("setrlimit failed");
}

std::string Describe(const std::function<void()>& fn) {
  try {
    fn();
    return "ok";
  } catch (const Error& e) {
    return std::string(ErrorCodeName(e.code())) + ": " + e.what();
  }
}

template <typename F>
ErrorCode CodeOf(F&& f) {
  try {
    f();
  } catch (const Error& e) {
    return e.code();
  }
  return ErrorCode::kInternal;  // did not throw
}

std::size_t Entries(const std::filesystem::path& dir) {
  std::size_t n = 0;
  for ([[maybe_unused]] const auto& e : std::filesystem::directory_iterator(dir)) ++n;
  return n;
}

TEST(StorageFull, ErrnoOfAWriteWithoutRoomIsStorageFull) {
  EXPECT_EQ(FileErrorCode(ENOSPC), ErrorCode::kStorageFull);
  EXPECT_EQ(FileErrorCode(EDQUOT), ErrorCode::kStorageFull);
  EXPECT_EQ(FileErrorCode(EFBIG), ErrorCode::kStorageFull);
  for (const int other : {EIO, EACCES, EROFS, ENOENT, 0}) {
    EXPECT_EQ(FileErrorCode(other), ErrorCode::kIo) << other;
  }
  EXPECT_STREQ(ErrorCodeName(ErrorCode::kStorageFull), "storage_full");
}

TEST(StorageFull, AFullSqliteDatabaseIsStorageFull) {
  // A real SQLITE_FULL: the database may not grow past its current pages.
  SQLite::Database db(":memory:", SQLite::OPEN_READWRITE | SQLite::OPEN_CREATE);
  db.exec("CREATE TABLE t (x BLOB)");
  const int pages = db.execAndGet("PRAGMA page_count").getInt();
  db.exec("PRAGMA max_page_count = " + std::to_string(pages));
  try {
    db.exec("INSERT INTO t VALUES (zeroblob(100000))");
    FAIL() << "the insert fitted";
  } catch (const SQLite::Exception& e) {
    ASSERT_EQ(e.getErrorCode() & 0xff, SQLITE_FULL);
    const Error error = detail::Translate(e);
    EXPECT_EQ(error.code(), ErrorCode::kStorageFull);
    EXPECT_NE(std::string(error.what()).find("full"), std::string::npos) << error.what();
  }
  // Busy stays kStorage (503 + Retry-After at the edge).
  EXPECT_EQ(detail::Translate(SQLite::Exception("database is locked", SQLITE_BUSY)).code(),
            ErrorCode::kStorage);
}

TEST(StorageFull, ABlobThatDoesNotFitIsStorageFullAndLeavesNothing) {
  TempDir dir("blobfull");
  const std::string root = dir.str() + "/blobs";
  const std::string report = InLimitedChild([&] {
    auto blobs = OpenFileBlobStore(root);
    LimitFileSize();
    std::string out = Describe([&] { blobs->Put(std::string(kLimit + 4096, 'x')); });
    out += "\ntmp entries: " + std::to_string(Entries(root + "/tmp"));
    out += "\nsmall: " + Describe([&] { blobs->Put(std::string(1000, 'y')); });
    return out;
  });
  EXPECT_EQ(report.rfind("storage_full: cannot write " + root + "/tmp/", 0), 0u) << report;
  EXPECT_NE(report.find("File too large"), std::string::npos) << report;
  EXPECT_NE(report.find("\ntmp entries: 0\n"), std::string::npos)
      << "the failed put left its temporary file: " << report;
  EXPECT_NE(report.find("\nsmall: ok"), std::string::npos) << report;
}

TEST(StorageFull, AnIngestWithoutRoomIsStorageFullAndTheStoreStaysClean) {
  TempDir dir("storefull");
  const std::string report = InLimitedChild([&] {
    auto store = Store::OpenDataDir(dir.str());
    PatientInfo p;
    p.id = "P1";
    store->repository().CreatePatient(p, "test");
    NewCapture c;
    c.patient_id = "P1";
    c.site = "left-forearm";
    c.captured_at = 1000;
    c.width = 64;
    c.height = 48;
    LimitFileSize();
    std::string out = Describe([&] { store->IngestCapture(c, std::string(kLimit + 1, 'z'), "t"); });
    const CheckReport check = store->Check(true);
    out += "\nqueued " + std::to_string(store->repository().CountQueue().queued) + " stored " +
           std::to_string(check.stored_blobs) + " integrity " + check.integrity;
    c.captured_at = 2000;
    out += "\nsmall: " + Describe([&] { store->IngestCapture(c, std::string(5000, 'w'), "t"); });
    return out;
  });
  EXPECT_EQ(report.rfind("storage_full: ", 0), 0u) << report;
  EXPECT_NE(report.find("\nqueued 0 stored 0 integrity ok\n"), std::string::npos) << report;
  EXPECT_NE(report.find("\nsmall: ok"), std::string::npos) << report;
}

// The queue's side: releasing a capture for want of room does not count the attempt.
TEST(StorageFull, ReleasedWorkIsDueAgainLaterWithItsAttemptNotCounted) {
  TimeMs now = 1'000'000;
  RepositoryOptions ro;
  ro.clock = [&] { return now; };
  StoreOptions so;
  so.repository = ro;
  auto store = Store::OpenInMemory(so);
  Repository& repo = store->repository();
  PatientInfo p;
  p.id = "P1";
  repo.CreatePatient(p, "test");
  NewCapture c;
  c.patient_id = "P1";
  c.site = "scalp";
  c.width = 8;
  c.height = 8;
  const std::int64_t id = store->IngestCapture(c, std::string(100, 'a'), "t").capture.id;
  for (int round = 0; round < ro.max_attempts + 3; ++round) {
    const auto item = repo.ClaimWork("worker:1", 60000);
    ASSERT_TRUE(item.has_value()) << "round " << round;
    EXPECT_EQ(item->capture.attempts, 1);
    EXPECT_EQ(CodeOf([&] { repo.ReleaseWork(id, "worker:2", "x", 1000); }), ErrorCode::kConflict);
    repo.ReleaseWork(id, "worker:1", "no room\x01", 30000);
    const Capture after = *repo.FindCapture(id);
    EXPECT_EQ(after.status, CaptureStatus::kQueued);
    EXPECT_EQ(after.attempts, 0);
    EXPECT_EQ(after.last_error, "no room?");
    now += 29000;
    EXPECT_FALSE(repo.ClaimWork("worker:1", 60000).has_value()) << "due only after the delay";
    now += 1000;
  }
  // A real failure still counts as before.
  ASSERT_TRUE(repo.ClaimWork("worker:1", 60000).has_value());
  EXPECT_EQ(repo.FailWork(id, "worker:1", "bug", true), CaptureStatus::kQueued);
  EXPECT_EQ(repo.FindCapture(id)->attempts, 1);
}

}  // namespace
}  // namespace skintrack::storage
