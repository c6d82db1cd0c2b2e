// Issue 13: the modes of a data directory (owner-only from creation; `serve` warns when they are
// looser) and `skintrack token list|revoke` against a directory another process has open.
#include <gtest/gtest.h>
#include <signal.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>
#include <sstream>
#include <thread>

#include "../support/run_cli.h"
#include "skintrack/storage/store.h"

namespace skintrack::storage {
namespace {

namespace fs = std::filesystem;
using skintrack::testing::RunCli;
using skintrack::testing::TempDir;

unsigned Mode(const fs::path& p) {
  struct stat st {};
  EXPECT_EQ(::stat(p.c_str(), &st), 0) << p;
  return st.st_mode & 07777;
}

// The usual umask: without the fix, the directory is 0755 and the database 0644.
class Umask022 {
 public:
  Umask022() : old_(::umask(022)) {}
  ~Umask022() { ::umask(old_); }
  Umask022(const Umask022&) = delete;
  Umask022& operator=(const Umask022&) = delete;

 private:
  mode_t old_;
};

NewCapture Capture() {
  NewCapture c;
  c.patient_id = "P1";
  c.site = "scalp";
  c.captured_at = 1;
  c.width = c.height = 8;
  return c;
}

TEST(DataDirModes, ANewDirectoryAndItsDatabaseAreOwnerOnly) {
  const Umask022 umask;
  TempDir base("modes");
  const fs::path dir = base.path() / "parent" / "data";
  auto store = Store::OpenDataDir(dir.string() + "/");  // a trailing slash changes nothing
  PatientInfo p;
  p.id = "P1";
  store->repository().CreatePatient(p, "test");
  store->IngestCapture(Capture(), "image bytes", "test");
  EXPECT_EQ(Mode(dir), 0700u);
  EXPECT_EQ(Mode(dir / "skintrack.db"), 0600u);
  // While the database is open in WAL mode its -wal and -shm files exist; SQLite gives them the
  // database's mode.
  ASSERT_TRUE(fs::exists(dir / "skintrack.db-wal"));
  EXPECT_EQ(Mode(dir / "skintrack.db-wal"), 0600u);
  EXPECT_EQ(Mode(dir / "skintrack.db-shm"), 0600u);
  EXPECT_TRUE(LoosePermissions(dir.string()).empty());
  EXPECT_EQ(Mode(base.path() / "parent"), 0755u);  // only the data directory itself is tightened

  fs::permissions(dir, fs::perms::owner_all | fs::perms::group_read | fs::perms::group_exec |
                           fs::perms::others_read | fs::perms::others_exec);
  fs::permissions(dir / "skintrack.db", fs::perms::others_read, fs::perm_options::add);
  const std::vector<std::string> loose = LoosePermissions(dir.string());
  ASSERT_EQ(loose.size(), 2u);
  EXPECT_NE(loose[0].find("mode 0755"), std::string::npos) << loose[0];
  EXPECT_NE(loose[0].find("chmod 700 " + dir.string()), std::string::npos) << loose[0];
  EXPECT_NE(loose[1].find("chmod 600 " + (dir / "skintrack.db").string()), std::string::npos)
      << loose[1];
}

TEST(DataDirModes, ServeWarnsOnStartWhenTheyAreLooser) {
  TempDir base("serve-modes");
  const std::string dir = (base.path() / "data").string();
  { Store::OpenDataDir(dir); }
  fs::permissions(dir, fs::perms::others_read | fs::perms::others_exec, fs::perm_options::add);
  fs::permissions(dir + "/skintrack.db", fs::perms::group_read, fs::perm_options::add);
  const std::string out = (base.path() / "out").string();
  const std::string err = (base.path() / "err").string();
  const std::string pid_file = (base.path() / "pid").string();
  const std::string command = std::string(SKINTRACK_BINARY) + " serve --data-dir " + dir +
                              " --port 0 --workers 0 --quiet >" + out + " 2>" + err +
                              " </dev/null & echo $! >" + pid_file;
  ASSERT_EQ(std::system(command.c_str()), 0);  // NOLINT(concurrency-mt-unsafe): one thread
  auto slurp = [](const std::string& path) {
    std::ifstream in(path);
    std::stringstream ss;
    ss << in.rdbuf();
    return ss.str();
  };
  pid_t pid = 0;
  for (int i = 0; i < 300 && pid == 0; ++i) {
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
    std::ifstream(pid_file) >> pid;
  }
  ASSERT_GT(pid, 0);
  bool serving = false;
  for (int i = 0; i < 600 && !serving; ++i) {  // up to 30 s on a loaded machine
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
    serving = slurp(out).find("serving") != std::string::npos;
  }
  ::kill(pid, SIGTERM);
  for (int i = 0; i < 600 && ::kill(pid, 0) == 0; ++i) {
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }
  ASSERT_TRUE(serving) << slurp(err);
  const std::string warnings = slurp(err);
  EXPECT_NE(warnings.find("warning: " + dir + " is mode 0705"), std::string::npos) << warnings;
  EXPECT_NE(warnings.find("chmod 600 " + dir + "/skintrack.db"), std::string::npos) << warnings;
  EXPECT_EQ(warnings.find("pseudonym.key"), std::string::npos) << warnings;  // created 0600
}

TEST(TokenCli, ListsWithoutSecretsAndRevokesForARunningServer) {
  TempDir dir("token-cli");
  // This process holds the directory as a server would; the CLI works beside it.
  auto store = Store::OpenDataDir(dir.str());
  NewToken t;
  t.role = Role::kCoordinator;
  t.label = "trial office\nline two";
  const CreatedToken coordinator = store->repository().CreateToken(t, "test");
  t.role = Role::kAdmin;
  t.label = "ops";
  const CreatedToken admin = store->repository().CreateToken(t, "test");
  ASSERT_TRUE(store->repository().VerifyToken(coordinator.token));

  const auto listed = RunCli("token list --json --data-dir " + dir.str());
  ASSERT_EQ(listed.exit_code, 0) << listed.err;
  const auto list = nlohmann::json::parse(listed.out);
  ASSERT_EQ(list.size(), 2u);
  for (const auto& entry : list) {
    EXPECT_EQ(entry["status"], "active");
    EXPECT_TRUE(entry["id"] == coordinator.info.id || entry["id"] == admin.info.id);
  }
  const auto text = RunCli("token list --data-dir " + dir.str());
  ASSERT_EQ(text.exit_code, 0) << text.err;
  EXPECT_NE(text.out.find("\"trial office\\nline two\""), std::string::npos) << text.out;
  EXPECT_EQ(std::count(text.out.begin(), text.out.end(), '\n'), 2);  // one line per token
  for (const std::string& out : {listed.out, text.out}) {
    EXPECT_EQ(out.find(coordinator.token.substr(21)), std::string::npos);
    EXPECT_EQ(out.find(admin.token.substr(21)), std::string::npos);
  }

  const auto revoked = RunCli("token revoke " + coordinator.info.id + " --data-dir " + dir.str());
  ASSERT_EQ(revoked.exit_code, 0) << revoked.err;
  EXPECT_NE(revoked.out.find("revoked coordinator token " + coordinator.info.id),
            std::string::npos);
  // The server's own repository refuses it at once; the other token is untouched.
  EXPECT_FALSE(store->repository().VerifyToken(coordinator.token));
  EXPECT_TRUE(store->repository().VerifyToken(admin.token));
  AuditQuery q;
  q.object = "token:" + coordinator.info.id;
  const auto audit = store->repository().ListAudit(q);
  ASSERT_FALSE(audit.empty());
  EXPECT_EQ(audit.back().action, "token.revoke");
  EXPECT_EQ(audit.back().actor, "cli");
  EXPECT_NE(RunCli("token list --data-dir " + dir.str()).out.find("revoked"), std::string::npos);

  EXPECT_EQ(RunCli("token revoke " + coordinator.info.id + " --data-dir " + dir.str()).exit_code,
            0);  // twice: no-op
  EXPECT_EQ(RunCli("token revoke nothex --data-dir " + dir.str()).exit_code, 2);
  EXPECT_EQ(RunCli("token revoke 0123456789abcdef --data-dir " + dir.str()).exit_code, 1);
  EXPECT_EQ(RunCli("token revoke --data-dir " + dir.str()).exit_code, 2);
  EXPECT_EQ(RunCli("token frobnicate --data-dir " + dir.str()).exit_code, 2);
  const std::string missing = (dir.path() / "missing").string();
  EXPECT_EQ(RunCli("token list --data-dir " + missing).exit_code, 1);
  EXPECT_FALSE(fs::exists(missing));  // listing creates nothing
}

}  // namespace
}  // namespace skintrack::storage
