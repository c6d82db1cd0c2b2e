// `skintrack db check|info` against real data directories, and what the metadata commands
// (token, patient, db) share: --database on PostgreSQL and a node's configuration file.
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>

#include "../support/pg_cluster.h"
#include "../support/run_cli.h"
#include "pg_connection.h"
#include "skintrack/storage/store.h"

namespace skintrack::storage {
namespace {

using skintrack::testing::RunCli;
using skintrack::testing::TempDir;
namespace fs = std::filesystem;

// A data directory (or its node, with `options`) holding patient P1 with one capture; returns
// the capture's blob hash.
std::string StoreOneCapture(const std::string& dir, const StoreOptions& options = {}) {
  auto store = Store::OpenDataDir(dir, options);
  PatientInfo p;
  p.id = "P1";
  store->repository().CreatePatient(p, "test");
  NewCapture c;
  c.patient_id = "P1";
  c.site = "scalp";
  c.captured_at = 1;
  c.width = c.height = 8;
  return store->IngestCapture(c, "some image bytes", "test").capture.blob.sha256;
}

// The token of `token create`'s output: its last line.
std::string CreatedTokenOf(const std::string& out) {
  const std::size_t start = out.rfind('\n', out.size() - 2);
  return out.substr(start + 1, out.size() - start - 2);
}

void Write(const fs::path& path, const std::string& text) { std::ofstream(path) << text; }

TEST(DbCli, CheckPassesOnAHealthyDirectoryAndFailsOnADamagedOne) {
  TempDir dir("dbcli");
  const std::string sha = StoreOneCapture(dir.str());
  auto ok = RunCli("db check --data-dir " + dir.str() + " --json");
  ASSERT_EQ(ok.exit_code, 0) << ok.err;
  const auto report = nlohmann::json::parse(ok.out);
  EXPECT_TRUE(report["ok"].get<bool>());
  EXPECT_EQ(report["referenced_blobs"], 1);
  EXPECT_EQ(report["schema_version"], LatestSchemaVersion());

  const auto info = RunCli("db info --data-dir " + dir.str() + " --json");
  ASSERT_EQ(info.exit_code, 0) << info.err;
  EXPECT_EQ(nlohmann::json::parse(info.out)["captures"]["queued"], 1);

  std::ofstream(dir.path() / "blobs" / sha.substr(0, 2) / sha.substr(2, 2) / sha,
                std::ios::trunc | std::ios::binary)
      << "some image bytez";
  auto bad = RunCli("db check --data-dir " + dir.str() + " --json");
  EXPECT_EQ(bad.exit_code, 1);
  EXPECT_EQ(nlohmann::json::parse(bad.out)["corrupt"][0], sha);
  // Without hashing, same size: the damage is invisible, which is what --no-hash trades away.
  EXPECT_EQ(RunCli("db check --no-hash --data-dir " + dir.str()).exit_code, 0);
}

TEST(DbCli, RejectsBadUsageAndLockedDirectories) {
  TempDir dir("dbcli-bad");
  EXPECT_EQ(RunCli("db").exit_code, 2);
  EXPECT_EQ(RunCli("db check").exit_code, 2);
  EXPECT_EQ(RunCli("db vacuum --data-dir " + dir.str()).exit_code, 2);
  EXPECT_EQ(RunCli("db info --data-dir " + dir.str()).exit_code, 1);  // no database yet
  auto store = Store::OpenDataDir(dir.str());
  const auto locked = RunCli("db check --data-dir " + dir.str());
  EXPECT_EQ(locked.exit_code, 1);
  EXPECT_NE(locked.err.find("in use"), std::string::npos) << locked.err;
  EXPECT_EQ(RunCli("db info --data-dir " + dir.str()).exit_code, 0);  // beside the owner
}

// The file a node's `serve --config` reads gives the metadata commands their data directory;
// serve's other keys are no error for them, a key of neither command is.
TEST(MetadataCli, ANodeConfigurationFileGivesTheDataDirectory) {
  TempDir dir("meta-config");
  const fs::path data = dir.path() / "data";
  const fs::path node = dir.path() / "node.conf";
  Write(node, "# node 1\ndata-dir = " + data.string() +
                  "\nport = 8081\nworkers = 2\nquiet = true\nlease-s = 60\n");
  const auto serve = RunCli("serve --check-config --config " + node.string());
  ASSERT_EQ(serve.exit_code, 0) << serve.err;  // the file is a valid serve file
  const auto created = RunCli("token create --role admin --config " + node.string());
  ASSERT_EQ(created.exit_code, 0) << created.err;
  EXPECT_TRUE(OpenDataDirRepository(data.string())->VerifyToken(CreatedTokenOf(created.out)));
  const auto listed = RunCli("token list --json --config " + node.string());
  ASSERT_EQ(listed.exit_code, 0) << listed.err;
  EXPECT_EQ(nlohmann::json::parse(listed.out).size(), 1u);
  EXPECT_EQ(RunCli("patient add --id P1 --config " + node.string()).exit_code, 0);
  EXPECT_EQ(RunCli("db info --config " + node.string()).exit_code, 0);
  // The command line wins over the file.
  const fs::path other = dir.path() / "other";
  EXPECT_EQ(
      RunCli("token list --config " + node.string() + " --data-dir " + other.string()).exit_code,
      1);  // no database there
  // A serve option on the command line is still unknown to token.
  EXPECT_EQ(RunCli("token list --port 1 --config " + node.string()).exit_code, 2);
  // A misspelt key is an error, not silently the data directory's SQLite file.
  const fs::path typo = dir.path() / "typo.conf";
  Write(typo, "data-dir = " + other.string() + "\ndatabse = postgresql://x/y\n");
  const auto refused = RunCli("token create --role admin --config " + typo.string());
  EXPECT_EQ(refused.exit_code, 2);
  EXPECT_NE(refused.err.find("unknown key 'databse' at " + typo.string() + ":2"), std::string::npos)
      << refused.err;
  EXPECT_FALSE(fs::exists(other));
}

// A --database that is not a PostgreSQL URL: exit 2 naming where it came from, nothing created.
TEST(MetadataCli, ADatabaseThatIsNoPostgresUrlIsRefusedBeforeAnythingIsCreated) {
  TempDir dir("meta-bad-url");
  const std::string data = (dir.path() / "data").string();
  for (const char* command :
       {"token create --role admin", "token list", "token revoke 0123456789abcdef",
        "patient add --id P1", "patient list", "db check", "db info"}) {
    const auto r =
        RunCli(std::string(command) + " --data-dir " + data + " --database mysql://db/skintrack");
    EXPECT_EQ(r.exit_code, 2) << command;
    EXPECT_NE(r.err.find("--database must be a PostgreSQL URL"), std::string::npos) << r.err;
  }
  const fs::path node = dir.path() / "node.conf";
  Write(node, "data-dir = " + data + "\ndatabase = sqlite:///x\n");
  const auto from_file = RunCli("db info --config " + node.string());
  EXPECT_EQ(from_file.exit_code, 2);
  EXPECT_NE(from_file.err.find(node.string() + ":2 must be a PostgreSQL URL"), std::string::npos)
      << from_file.err;
  EXPECT_FALSE(fs::exists(data));
}

// Tables in the database's default schema, through a plain connection (no repository, which
// would create the schema).
int CountTables(const std::string& url) {
  pg::PgConnection c(url);
  return static_cast<int>(c.Exec("SELECT count(*) FROM information_schema.tables WHERE "
                                 "table_schema = current_schema()")
                              .Int(0, 0));
}

class MetadataCliPostgresTest : public ::testing::Test {
 protected:
  void SetUp() override {
    url_ = testing::FreshPostgresDatabase();
    if (url_.empty()) GTEST_SKIP() << testing::PgCluster::Get().why_unavailable();
  }
  // Single-quoted for /bin/sh: the URL holds '?' and '&'.
  std::string Database() const { return " --database '" + url_ + "'"; }
  std::string url_;
};

TEST_F(MetadataCliPostgresTest, ATokenCreatedWithTheDatabaseIsListedAndVerifiedThere) {
  TempDir dir("token-pg");
  const std::string data = (dir.path() / "data").string();
  const auto created =
      RunCli("token create --role clinician --label ward --data-dir " + data + Database());
  ASSERT_EQ(created.exit_code, 0) << created.err;
  const std::string token = CreatedTokenOf(created.out);
  auto repo = OpenPostgresRepository(url_);
  const auto verified = repo->VerifyToken(token);
  ASSERT_TRUE(verified);
  EXPECT_EQ(verified->label, "ward");
  EXPECT_FALSE(fs::exists(data));  // the token is the database's: no SQLite file was made

  const auto listed = RunCli("token list --json --data-dir " + data + Database());
  ASSERT_EQ(listed.exit_code, 0) << listed.err;
  const auto list = nlohmann::json::parse(listed.out);
  ASSERT_EQ(list.size(), 1u);
  EXPECT_EQ(list[0]["id"], verified->id);
  EXPECT_EQ(list[0]["role"], "clinician");

  const auto revoked = RunCli("token revoke " + verified->id + " --data-dir " + data + Database());
  ASSERT_EQ(revoked.exit_code, 0) << revoked.err;
  EXPECT_FALSE(repo->VerifyToken(token));
  const auto audit = repo->ListAudit({"token:" + verified->id, 0, 10});
  ASSERT_EQ(audit.size(), 2u);
  EXPECT_EQ(audit[1].action, "token.revoke");
  EXPECT_EQ(audit[1].actor, "cli");
  // Without --database the data directory's own (absent) database is asked, not PostgreSQL's.
  EXPECT_EQ(RunCli("token list --data-dir " + data).exit_code, 1);
}

// A command that only reads, pointed at a database without the skintrack schema (a mistyped
// URL), is refused and creates nothing there; one that writes creates the schema, as a node's
// first start would.
TEST_F(MetadataCliPostgresTest, AReadingCommandOnADatabaseWithoutTheSchemaCreatesNothing) {
  TempDir dir("no-schema-pg");
  const std::string data = (dir.path() / "data").string();
  const std::string where = " --data-dir " + data + Database();
  for (const char* command : {"token list", "patient list", "db info"}) {
    const auto run = RunCli(command + where);
    EXPECT_EQ(run.exit_code, 1) << command << ": " << run.err;
    EXPECT_NE(run.err.find("has no skintrack schema"), std::string::npos) << run.err;
  }
  EXPECT_EQ(CountTables(url_), 0) << "a reading command created tables";
  EXPECT_FALSE(fs::exists(data));
  ASSERT_EQ(RunCli("patient add --id P1 --data-dir " + data + Database()).exit_code, 0);
  EXPECT_GT(CountTables(url_), 5);
  const auto listed = RunCli("patient list --data-dir " + data + Database());
  EXPECT_EQ(listed.exit_code, 0) << listed.err;
  EXPECT_EQ(listed.out, "P1\n");
}

TEST_F(MetadataCliPostgresTest, DbCheckAndInfoReadTheDatabaseAndTheDirectorysBlobs) {
  TempDir dir("db-pg");
  StoreOptions options;
  options.repository.database = url_;
  const std::string sha = StoreOneCapture(dir.str(), options);
  const auto ok = RunCli("db check --json --data-dir " + dir.str() + Database());
  ASSERT_EQ(ok.exit_code, 0) << ok.err << ok.out;
  const auto report = nlohmann::json::parse(ok.out);
  EXPECT_TRUE(report["ok"].get<bool>());
  EXPECT_EQ(report["database"], "postgresql");
  EXPECT_EQ(report["integrity"], "ok");
  EXPECT_EQ(report["referenced_blobs"], 1);
  EXPECT_FALSE(fs::exists(dir.path() / "skintrack.db"));
  const auto info = RunCli("db info --json --data-dir " + dir.str() + Database());
  ASSERT_EQ(info.exit_code, 0) << info.err;
  EXPECT_EQ(nlohmann::json::parse(info.out)["captures"]["queued"], 1);
  EXPECT_EQ(nlohmann::json::parse(info.out)["patients"], 1);
  // The rows are checked against this directory's blobs: a missing one fails the check.
  fs::remove(dir.path() / "blobs" / sha.substr(0, 2) / sha.substr(2, 2) / sha);
  const auto bad = RunCli("db check --json --data-dir " + dir.str() + Database());
  EXPECT_EQ(bad.exit_code, 1);
  EXPECT_EQ(nlohmann::json::parse(bad.out)["missing"][0], sha);
  // An unreachable server or a missing directory: exit 1, and no directory is created.
  const std::string missing = (dir.path() / "missing").string();
  const std::string nowhere =
      " --database 'postgresql://skintrack@/x?host=" + dir.str() + "&connect_timeout=2'";
  fs::create_directories(missing);
  const auto unreachable = RunCli("db check --data-dir " + missing + nowhere);
  EXPECT_EQ(unreachable.exit_code, 1);
  EXPECT_NE(unreachable.err.find("PostgreSQL unavailable"), std::string::npos) << unreachable.err;
  EXPECT_TRUE(fs::is_empty(missing));  // no lock, node id or blobs folder left behind
  fs::remove(missing);
  EXPECT_EQ(RunCli("db check --data-dir " + missing + Database()).exit_code, 1);
  EXPECT_EQ(RunCli("token list --data-dir " + missing + nowhere).exit_code, 1);
  EXPECT_FALSE(fs::exists(missing));
}

}  // namespace
}  // namespace skintrack::storage
