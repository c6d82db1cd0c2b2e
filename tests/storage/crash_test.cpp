// Kills a process that is ingesting into a data directory with SIGKILL at random moments, then
// checks what the store promises: the database opens and passes PRAGMA integrity_check, every
// acknowledged capture is there with a blob of the right hash, erased patients stay erased, and
// after start-up clean-up there is no orphan blob and no temp file.
// SKINTRACK_CRASH_KILLS=N runs N kills (default 20, a few seconds).
#include <fcntl.h>
#include <gtest/gtest.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <random>
#include <sstream>
#include <thread>

#include "../support/run_cli.h"
#include "skintrack/storage/sha256.h"
#include "skintrack/storage/store.h"

namespace skintrack::storage {
namespace {

using skintrack::testing::TempDir;

pid_t SpawnChild(const std::string& dir, unsigned seed, const std::string& log) {
  const pid_t pid = ::fork();
  if (pid == 0) {
    const int fd = ::open(log.c_str(), O_WRONLY | O_CREAT | O_APPEND, 0644);
    if (fd < 0) ::_exit(4);
    ::dup2(fd, 1);
    const std::string seed_text = std::to_string(seed);
    ::execl(STORAGE_CRASH_CHILD, STORAGE_CRASH_CHILD, dir.c_str(), seed_text.c_str(),
            static_cast<char*>(nullptr));
    ::_exit(5);
  }
  return pid;
}

TEST(StorageCrash, SigkillAtRandomMomentsNeverLosesOrCorrupts) {
  int kills = 20;
  // getenv is not thread-safe against setenv; nothing here calls setenv.
  if (const char* env = std::getenv("SKINTRACK_CRASH_KILLS")) {  // NOLINT(concurrency-mt-unsafe)
    kills = std::max(1, std::atoi(env));
  }
  TempDir dir("crash");
  const std::string data = dir.str() + "/data";
  const std::string log = dir.str() + "/acks.log";
  std::mt19937 rng(12345);
  int killed_mid_run = 0;
  std::size_t acknowledged = 0;
  int markers_seen = 0;
  int orphans_removed = 0;
  for (int round = 0; round < kills; ++round) {
    SCOPED_TRACE("round " + std::to_string(round));
    auto log_size_now = [&] {
      std::error_code ec;
      const std::uintmax_t n = std::filesystem::file_size(log, ec);
      return ec ? std::uintmax_t{0} : n;
    };
    const std::uintmax_t log_size = log_size_now();
    const pid_t pid = SpawnChild(data, rng(), log);
    ASSERT_GT(pid, 0);
    if (round % 2 == 1) {
      // On a loaded machine a fixed delay may kill the child before it does anything: every
      // other round waits for its first acknowledgement, then kills at a random moment.
      const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(20);
      while (log_size_now() == log_size && std::chrono::steady_clock::now() < deadline) {
        std::this_thread::sleep_for(std::chrono::milliseconds(2));
      }
      std::this_thread::sleep_for(std::chrono::milliseconds(rng() % 100));
    } else {
      // Anywhere from start-up (migrations, clean-up) into the ingest loop.
      std::this_thread::sleep_for(std::chrono::milliseconds(rng() % 250));
    }
    ::kill(pid, SIGKILL);
    int status = 0;
    ASSERT_EQ(::waitpid(pid, &status, 0), pid);
    // The child never exits on its own; anything but SIGKILL means it failed.
    ASSERT_TRUE(WIFSIGNALED(status) && WTERMSIG(status) == SIGKILL)
        << "child exited with status " << status;
    ++killed_mid_run;

    auto store = Store::OpenDataDir(data);
    markers_seen += store->last_recovery().pending_markers;
    orphans_removed += store->last_recovery().orphan_blobs_removed;
    const CheckReport check = store->Check(/*verify_hashes=*/true);
    EXPECT_EQ(check.integrity, "ok");
    EXPECT_TRUE(check.missing.empty()) << check.missing.size() << " blobs missing";
    EXPECT_TRUE(check.corrupt.empty()) << check.corrupt.size() << " blobs corrupt";
    EXPECT_TRUE(check.unreferenced.empty()) << check.unreferenced.size() << " orphan blobs";
    EXPECT_TRUE(std::filesystem::is_empty(data + "/blobs/tmp"));

    std::ifstream acks(log);
    std::string kind, a, b;
    std::size_t lines = 0;
    while (acks >> kind) {
      if (kind == "capture") {
        acks >> a >> b;
        const auto capture = store->repository().FindCapture(std::stoll(a));
        ASSERT_TRUE(capture) << "acknowledged capture " << a << " is gone";
        EXPECT_EQ(capture->blob.sha256, b);
        EXPECT_EQ(Sha256Hex(store->ReadBlob(b)), b);
      } else if (kind == "erased") {
        acks >> a;
        EXPECT_FALSE(store->repository().FindPatient(a)) << "erased patient " << a << " is back";
      } else {
        FAIL() << "bad ack line starting with " << kind;
      }
      ++lines;
    }
    acknowledged = lines;
  }
  EXPECT_EQ(killed_mid_run, kills);
  // The child must have got real work done between kills for the test to mean anything.
  EXPECT_GE(acknowledged, static_cast<std::size_t>(kills / 2));
  std::cout << "[ figures  ] " << kills << " SIGKILLs, " << acknowledged
            << " acknowledged operations checked; start-up clean-up found " << markers_seen
            << " pending markers and removed " << orphans_removed << " orphan blobs\n";
}

}  // namespace
}  // namespace skintrack::storage
