// `skintrack db migrate` (issue 17): a data directory with processed phantom captures, a
// clinician's mask and grades, tokens, annotations, assignments, a visit and an erased patient is
// copied into PostgreSQL; the PostgreSQL repository then answers every query as the SQLite one
// does. A second migrate, a target of another schema, a server on the directory, a changed row
// and a damaged source row are refused, and none of them leaves anything in the target.
#include <gtest/gtest.h>

#include <algorithm>
#include <filesystem>
#include <functional>
#include <nlohmann/json.hpp>
#include <sstream>

#include "../pipeline/phantom_store.h"
#include "../support/pg_cluster.h"
#include "../support/run_cli.h"
#include "migrate_internal.h"
#include "migrate_tables.h"
#include "pg_connection.h"
#include "pg_internal.h"
#include "skintrack/core/error.h"
#include "skintrack/pipeline/pseudonym.h"
#include "skintrack/storage/migrate.h"
#include "skintrack/storage/sha256.h"
#include "sqlite_internal.h"

namespace skintrack::storage {
namespace {

using nlohmann::json;

// Every field, so that two answers compare as strings.
std::string Str(const Capture& c) {
  std::ostringstream s;
  s << c.id << '|' << c.patient_id << '|' << c.site << '|' << ConditionName(c.condition) << '|'
    << c.captured_at << '|' << c.received_at << '|' << c.device << '|' << c.visit << '|'
    << c.media_type << '|' << c.blob.sha256 << '|' << c.blob.size << '|' << c.width << 'x'
    << c.height << '|' << c.orientation << '|' << CaptureStatusName(c.status) << '|' << c.attempts
    << '|' << c.last_error;
  return s.str();
}
std::string Str(const Result& r) {
  std::ostringstream s;
  s.precision(17);
  s << r.id << '|' << r.capture_id << '|' << ResultKindName(r.kind) << '|' << r.name << '|'
    << r.version << '|' << ResultSourceName(r.source) << '|' << r.algorithm << '|'
    << r.algorithm_version << '|' << (r.value ? std::to_string(*r.value) : "-") << '|'
    << r.payload_json << '|' << r.inputs_json << '|' << r.provenance_json << '|' << r.blob_sha256
    << '|' << r.actor << '|' << r.created_at;
  return s.str();
}
std::string Str(const SeriesPoint& p) { return Str(p.capture) + (p.score ? Str(*p.score) : ""); }
std::string Str(const Assessment& a) {
  return std::to_string(a.id) + '|' + std::to_string(a.version) + '|' + a.grades_json + '|' +
         a.note + '|' + a.mask_sha256 + '|' + a.actor + '|' + std::to_string(a.created_at);
}
std::string Str(const TokenInfo& t) {
  std::string scope;
  for (const auto& p : t.patient_scope) scope += p + ',';
  return t.id + '|' + RoleName(t.role) + '|' + scope + '|' + t.label + '|' +
         std::to_string(t.created_at) + '|' + std::to_string(t.expires_at.value_or(-1)) + '|' +
         std::to_string(t.revoked_at.value_or(-1));
}
std::string Str(const AuditEntry& e) {
  return std::to_string(e.id) + '|' + std::to_string(e.at) + '|' + e.actor + '|' + e.action + '|' +
         e.object + '|' + e.before + '|' + e.after + '|' + e.details_json;
}
std::string Str(const AnnotationVersion& v) {
  return std::to_string(v.id) + '|' + std::to_string(v.annotation_id) + '|' +
         std::to_string(v.capture_id) + '|' + v.author + '|' + std::to_string(v.version) + '|' +
         annotation::AnnotationStateName(v.state) + '|' + v.note + '|' + v.content.sha256 + '|' +
         v.actor + '|' + std::to_string(v.created_at);
}
std::string Str(const Assignment& a) {
  return std::to_string(a.capture_id) + '|' + a.annotator + '|' + a.assigned_by + '|' +
         std::to_string(a.assigned_at);
}
std::string Str(const Patient& p) {
  return p.info.id + '|' + std::to_string(p.info.fitzpatrick.value_or(0)) + '|' + p.info.age_band +
         '|' + p.info.attributes_json + '|' + std::to_string(p.created_at);
}
template <typename T>
std::vector<std::string> Strs(const std::vector<T>& items) {
  std::vector<std::string> out;
  out.reserve(items.size());
  for (const auto& i : items) out.push_back(Str(i));
  return out;
}

template <typename F>
Error ErrorOf(F&& f) {
  try {
    f();
  } catch (const Error& e) {
    return e;
  }
  ADD_FAILURE() << "no skintrack::Error thrown";
  return Error(ErrorCode::kInternal, "none");
}

class MigratePostgresTest : public ::testing::Test {
 protected:
  void SetUp() override {
    url_ = testing::FreshPostgresDatabase();
    if (url_.empty()) GTEST_SKIP() << testing::PgCluster::Get().why_unavailable();
    Populate();
  }

  std::string Dir() const { return dir_.path().string(); }
  // The data directory as a single node leaves it: the pipeline processed every capture.
  void Populate() {
    auto store = Store::OpenDataDir(Dir());
    const auto series = pipeline::testing::SmallSeries(7, 3, {160, 120});
    captures_ = pipeline::testing::StoreSeries(*store, "P001", "left-forearm", series);
    pipeline::testing::StoreSeries(*store, "P002", "scalp",
                                   pipeline::testing::SmallSeries(8, 2, {160, 120}));
    pipeline::PipelineOptions options;
    EXPECT_EQ(pipeline::testing::DrainQueue(*store, options), 5);
    pipeline::testing::AppendCorrectedMask(*store, captures_[1], series.visits[1].lesion_mask);
    NewAssessment a;
    a.capture_id = captures_[1];
    a.grades_json = R"({"erythema":2,"induration":1,"desquamation":2})";
    a.note = "tab\there, line\nbreak, back\\slash";
    store->AppendAssessment(a, std::string("mask-bytes"), "token:doc1");
    // A capture in a visit, still queued.
    NewCapture v;
    v.patient_id = "P002";
    v.site = "scalp";
    v.visit = "V1";
    v.captured_at = 1767225600000 + 9 * 86400000LL;
    v.width = v.height = 8;
    store->IngestCapture(v, "visit-capture-bytes", "device:a");
    // Tokens: only the hashes travel, and the tokens keep working.
    NewToken device;
    device.role = Role::kDevice;
    device.patient_scope = {"P001"};
    device.label = "mirror 1";
    device_token_ = store->repository().CreateToken(device, "cli").token;
    NewToken clinician;
    clinician.role = Role::kClinician;
    const auto revoked = store->repository().CreateToken(clinician, "cli");
    store->repository().RevokeToken(revoked.info.id, "cli");
    // Annotations: two versions by one author, one by another, and an assignment.
    NewAnnotationVersion n;
    n.capture_id = captures_[0];
    n.author = "token:ann1";
    store->AppendAnnotationVersion(n, "doc-1", "token:ann1");
    n.expected_version = 1;
    n.state = annotation::AnnotationState::kSubmitted;
    store->AppendAnnotationVersion(n, "doc-2", "token:ann1");
    n.author = "token:ann2";
    n.expected_version = 0;
    store->AppendAnnotationVersion(n, "doc-3", "token:ann2");
    store->repository().AssignCapture({captures_[2], "token:ann1"}, "token:doc1");
    // An erased patient whose capture had the highest id: PostgreSQL must not hand it out again.
    NewCapture gone;
    gone.patient_id = "P003";
    PatientInfo p3;
    p3.id = "P003";
    store->repository().CreatePatient(p3, "cli");
    gone.site = "scalp";
    gone.width = gone.height = 8;
    erased_capture_ = store->IngestCapture(gone, "erased-bytes", "device:a").capture.id;
    store->ErasePatient("P003", "cli");
  }

  // The directory's own database, opened as a file: after a committed migration the directory
  // refuses to open it for a node (DIR/MIGRATED).
  std::unique_ptr<Repository> Sqlite() { return OpenSqliteRepository(Dir() + "/skintrack.db"); }
  std::unique_ptr<Repository> Postgres() { return OpenPostgresRepository(url_); }

  std::string url_;
  testing::TempDir dir_{"migrate"};
  std::vector<std::int64_t> captures_;
  std::int64_t erased_capture_ = 0;
  std::string device_token_;
};

TEST_F(MigratePostgresTest, CopiesEveryRowAndThePostgresRepositoryAnswersTheSame) {
  const auto run = testing::RunCli("db migrate --from " + Dir() + " --to '" + url_ + "' --json");
  ASSERT_EQ(run.exit_code, 0) << run.out << run.err;
  const json report = json::parse(run.out);
  EXPECT_TRUE(report["ok"].get<bool>());
  EXPECT_TRUE(report["committed"].get<bool>());
  std::map<std::string, std::int64_t> rows;
  for (const auto& t : report["tables"]) {
    EXPECT_TRUE(t["ok"].get<bool>()) << t.dump();
    EXPECT_EQ(t["source_sha256"], t["target_sha256"]);
    rows[t["table"].get<std::string>()] = t["target_rows"].get<std::int64_t>();
  }
  EXPECT_EQ(rows["patients"], 2);
  EXPECT_EQ(rows["captures"], 6);
  EXPECT_EQ(rows["visits"], 1);
  EXPECT_EQ(rows["tokens"], 2);
  EXPECT_EQ(rows["annotations"], 2);
  EXPECT_EQ(rows["annotation_versions"], 3);
  EXPECT_EQ(rows["annotation_assignments"], 1);
  EXPECT_EQ(rows["assessments"], 1);
  EXPECT_GT(rows["results"], 10);
  EXPECT_GT(rows["audit_log"], 20);
  EXPECT_EQ(report["missing_blobs"], 0);
  EXPECT_GT(report["blob_references"]["target_rows"].get<int>(), 8);

  auto sqlite = Sqlite();
  auto pg = Postgres();
  EXPECT_EQ(Strs(pg->ListPatients()), Strs(sqlite->ListPatients()));
  const Result first_score = [&] {
    for (const Result& r : sqlite->LatestResults(captures_[0])) {
      if (r.kind == ResultKind::kScore) return r;
    }
    ADD_FAILURE() << "the pipeline stored no score";
    return Result{};
  }();
  for (const std::string patient : {"P001", "P002"}) {
    SeriesQuery q;
    q.patient_id = patient;
    q.score_name = first_score.name;
    const auto expected = Strs(sqlite->TimeSeries(q));
    EXPECT_FALSE(expected.empty());
    EXPECT_EQ(Strs(pg->TimeSeries(q)), expected) << patient;
  }
  for (const std::int64_t id : captures_) {
    EXPECT_EQ(Str(*pg->FindCapture(id)), Str(*sqlite->FindCapture(id)));
    EXPECT_EQ(Strs(pg->LatestResults(id)), Strs(sqlite->LatestResults(id)));
    EXPECT_EQ(Strs(pg->AssessmentHistory(id)), Strs(sqlite->AssessmentHistory(id)));
    EXPECT_EQ(Strs(pg->LatestAnnotations(id)), Strs(sqlite->LatestAnnotations(id)));
  }
  const auto masks =
      Strs(sqlite->ResultHistory(captures_[1], ResultKind::kMask, pipeline::result::kLesionMask));
  EXPECT_EQ(masks.size(), 2u);  // the automated mask and the clinician's
  EXPECT_EQ(Strs(pg->ResultHistory(captures_[1], ResultKind::kMask, pipeline::result::kLesionMask)),
            masks);
  EXPECT_EQ(Strs(pg->ListTokens()), Strs(sqlite->ListTokens()));
  EXPECT_EQ(Strs(pg->ListAudit({"", 0, 10000})), Strs(sqlite->ListAudit({"", 0, 10000})));
  EXPECT_EQ(Strs(pg->ListAssignments(std::nullopt, "token:ann1")),
            Strs(sqlite->ListAssignments(std::nullopt, "token:ann1")));
  EXPECT_EQ(pg->AnnotationQueue("token:ann1", 10), sqlite->AnnotationQueue("token:ann1", 10));
  auto sorted = [](std::vector<std::string> v) {  // a set: no order is promised
    std::sort(v.begin(), v.end());
    return v;
  };
  EXPECT_EQ(sorted(pg->PatientBlobs("P001")), sorted(sqlite->PatientBlobs("P001")));
  const QueueCounts qs = sqlite->CountQueue();
  const QueueCounts qp = pg->CountQueue();
  EXPECT_EQ(qp.queued, qs.queued);
  EXPECT_EQ(qp.processed, qs.processed);
  EXPECT_EQ(qp.processed, 5);
  EXPECT_EQ(pg->IntegrityCheck(), "ok");  // the queue counts agree, every trigger enabled
  const auto token = pg->VerifyToken(device_token_);
  ASSERT_TRUE(token);
  EXPECT_EQ(token->patient_scope, std::vector<std::string>{"P001"});

  // New rows continue after the copied ids, and after the erased patient's.
  NewCapture c;
  c.patient_id = "P001";
  c.site = "scalp";
  c.width = c.height = 8;
  EXPECT_GT(pg->InsertCapture(c, {Sha256Hex("new"), 1}, "device:a").capture.id, erased_capture_);
  PatientInfo p;
  p.id = "P009";
  EXPECT_NO_THROW(pg->CreatePatient(p, "cli"));

  // The text summary of --verify-only now names the new capture's table as different.
  const auto verify =
      testing::RunCli("db migrate --from " + Dir() + " --to '" + url_ + "' --verify-only");
  EXPECT_EQ(verify.exit_code, 1) << verify.out << verify.err;
  EXPECT_NE(verify.out.find("DIFFERS captures: 6 rows in the source, 7 in the target"),
            std::string::npos)
      << verify.out;
  EXPECT_NE(verify.out.find("ok      tokens: 2 rows"), std::string::npos) << verify.out;
}

TEST_F(MigratePostgresTest, ASecondMigrateIntoTheNonEmptyTargetIsRefusedAndChangesNothing) {
  ASSERT_TRUE(MigrateToPostgres(Dir(), url_).committed);
  const auto audit = Strs(Postgres()->ListAudit({"", 0, 10000}));
  const auto again = testing::RunCli("db migrate --from " + Dir() + " --to '" + url_ + "'");
  EXPECT_NE(again.exit_code, 0);
  EXPECT_NE(again.err.find("the target database is not empty (rows in patients, visits, "
                           "captures"),
            std::string::npos)
      << again.err;
  EXPECT_EQ(Strs(Postgres()->ListAudit({"", 0, 10000})), audit);
  MigrationOptions verify;
  verify.verify_only = true;
  const MigrationReport r = MigrateToPostgres(Dir(), url_, verify);
  EXPECT_TRUE(r.ok());
  EXPECT_FALSE(r.committed);
}

// The directory's pseudonym key becomes the cluster's: a subject id a coordinator or an exported
// dataset already uses is the same from every node after the migration.
// After the commit the directory is marked: a node or a metadata tool opening its old
// skintrack.db (no --database) is refused with what to do; with --database it opens. A migration
// that did not commit leaves no mark.
TEST_F(MigratePostgresTest, AMigratedDirectoryRefusesToServeItsOldCopy) {
  const std::string marker = Dir() + "/MIGRATED";
  MigrationOptions verify;
  verify.verify_only = true;
  try {
    EXPECT_FALSE(MigrateToPostgres(Dir(), url_, verify).committed);  // the target is empty
  } catch (const Error&) {
  }
  EXPECT_FALSE(std::filesystem::exists(marker));
  ASSERT_TRUE(MigrateToPostgres(Dir(), url_).committed);
  ASSERT_TRUE(std::filesystem::exists(marker));
  for (const auto& open : std::vector<std::function<void()>>{
           [&] { Store::OpenDataDir(Dir()); }, [&] { OpenDataDirRepository(Dir()); }}) {
    const Error e = ErrorOf(open);
    EXPECT_EQ(e.code(), ErrorCode::kConflict);
    EXPECT_NE(std::string(e.what()).find("was migrated to postgresql://"), std::string::npos)
        << e.what();
    EXPECT_NE(std::string(e.what()).find("remove " + marker), std::string::npos) << e.what();
  }
  const auto run = testing::RunCli("patient list --data-dir " + Dir());
  EXPECT_NE(run.exit_code, 0);
  EXPECT_NE(run.err.find("--database"), std::string::npos) << run.err;
  StoreOptions node;
  node.repository.database = url_;
  auto store = Store::OpenDataDir(Dir(), node);
  EXPECT_EQ(store->repository().ListPatients().size(), 2U);
  EXPECT_TRUE(MigrateToPostgres(Dir(), url_, verify).ok());  // read-only: still allowed
}

TEST_F(MigratePostgresTest, ThePseudonymKeyIsCopiedAndEveryNodeUsesIt) {
  const pipeline::PseudonymKey key = pipeline::LoadOrCreatePseudonymKey(Dir());
  const std::string subject = pipeline::SubjectId(key, "P001");
  const MigrationReport r = MigrateToPostgres(Dir(), url_);
  ASSERT_TRUE(r.committed);
  const auto row = std::find_if(r.tables.begin(), r.tables.end(), [](const TableVerification& t) {
    return t.table == "pseudonym key";
  });
  ASSERT_NE(row, r.tables.end());
  EXPECT_TRUE(row->ok());
  EXPECT_EQ(row->target_rows, 1);
  // A new node (its own, empty data directory) gets the key from the database, writes no file.
  testing::TempDir node("migrate-node");
  auto repo = Postgres();
  const pipeline::PseudonymKey shared = pipeline::LoadOrCreatePseudonymKey(node.str(), *repo);
  EXPECT_EQ(shared.secret, key.secret);
  EXPECT_EQ(pipeline::SubjectId(shared, "P001"), subject);
  EXPECT_FALSE(std::filesystem::exists(node.path() / "pseudonym.key"));
  // The migrated directory itself keeps working as a node: its file is the database's key.
  EXPECT_EQ(pipeline::LoadOrCreatePseudonymKey(Dir(), *repo).secret, key.secret);
  // A node whose directory has a key of its own is refused: its subject ids would differ.
  testing::TempDir other("migrate-other-key");
  pipeline::LoadOrCreatePseudonymKey(other.str());
  const Error e = ErrorOf([&] { pipeline::LoadOrCreatePseudonymKey(other.str(), *repo); });
  EXPECT_EQ(e.code(), ErrorCode::kConflict);
  EXPECT_NE(std::string(e.what()).find("is not the pseudonym key of the database"),
            std::string::npos);
  // --verify-only compares the key too.
  MigrationOptions verify;
  verify.verify_only = true;
  EXPECT_TRUE(MigrateToPostgres(Dir(), url_, verify).ok());
}

TEST_F(MigratePostgresTest, ATargetOnWhichANodeAlreadyMadeAKeyIsRefused) {
  pipeline::LoadOrCreatePseudonymKey(Dir());
  testing::TempDir node("migrate-early-node");
  auto repo = Postgres();
  pipeline::LoadOrCreatePseudonymKey(node.str(), *repo);  // a node started first
  const auto run = testing::RunCli("db migrate --from " + Dir() + " --to '" + url_ + "'");
  EXPECT_NE(run.exit_code, 0);
  EXPECT_NE(run.err.find("already has a pseudonym key"), std::string::npos) << run.err;
  EXPECT_TRUE(repo->ListPatients().empty());
}

TEST_F(MigratePostgresTest, ARowChangedInTransitFailsVerificationAndNothingIsCommitted) {
  const MigrationReport r =
      internal::MigrateToPostgres(Dir(), url_, {}, [](const internal::MigrateExec& exec) {
        exec(
            "UPDATE captures SET last_error = 'changed' WHERE id = (SELECT MIN(id) FROM "
            "captures)");
      });
  EXPECT_FALSE(r.ok());
  EXPECT_FALSE(r.committed);
  for (const auto& t : r.tables) {
    EXPECT_EQ(t.ok(), t.table != "captures") << t.table;
    EXPECT_EQ(t.source_rows, t.target_rows) << t.table;
  }
  EXPECT_TRUE(Postgres()->ListPatients().empty());
  EXPECT_TRUE(Postgres()->ListAudit({"", 0, 10}).empty());
  // Rolled back: the same migration now goes through.
  EXPECT_TRUE(MigrateToPostgres(Dir(), url_).committed);
}

TEST_F(MigratePostgresTest, AReferencedBlobMissingFromTheDirectoryFailsAndNothingIsCommitted) {
  const std::string sha = Sqlite()->FindCapture(captures_[0])->blob.sha256;
  std::filesystem::path blob;
  for (const auto& e : std::filesystem::recursive_directory_iterator(dir_.path() / "blobs")) {
    if (e.is_regular_file() && e.path().filename().string().find(sha) != std::string::npos) {
      blob = e.path();
    }
  }
  ASSERT_FALSE(blob.empty()) << "no blob file named after " << sha;
  std::filesystem::remove(blob);
  const auto run = testing::RunCli("db migrate --from " + Dir() + " --to '" + url_ + "'");
  EXPECT_EQ(run.exit_code, 1) << run.out << run.err;
  EXPECT_NE(
      run.out.find("MISSING 1 referenced blob(s) absent from " + Dir() + "/blobs, e.g. " + sha),
      std::string::npos)
      << run.out;
  EXPECT_NE(run.out.find("verification failed: rolled back"), std::string::npos) << run.out;
  EXPECT_TRUE(Postgres()->ListPatients().empty());
}

TEST_F(MigratePostgresTest, ADamagedSourceRowIsRefusedAndNothingIsWritten) {
  // SQLite keeps what a foreign writer gives a column of INTEGER affinity if it is no number.
  internal::ExecSqlite(Dir() + "/skintrack.db",
                       "INSERT INTO patients (pseudonym, created_at) VALUES ('PX', 'yesterday')");
  const Error e = ErrorOf([&] { MigrateToPostgres(Dir(), url_); });
  EXPECT_EQ(e.code(), ErrorCode::kStorage);
  EXPECT_NE(std::string(e.what()).find("table patients, row "), std::string::npos) << e.what();
  EXPECT_NE(std::string(e.what()).find("column created_at holds text 'yesterday' where the "
                                       "schema has an integer"),
            std::string::npos)
      << e.what();
  EXPECT_TRUE(Postgres()->ListPatients().empty());
}

TEST_F(MigratePostgresTest, ATargetOfAnotherSchemaOrADirectoryInUseIsRefused) {
  const int latest = static_cast<int>(internal::PgMigrations().size());
  Postgres();  // creates the schema
  internal::ExecPostgres(url_, "INSERT INTO schema_version (version, name, applied_at) VALUES (" +
                                   std::to_string(latest + 1) + ", '9999_future', 1)");
  Error e = ErrorOf([&] { MigrateToPostgres(Dir(), url_); });
  EXPECT_EQ(e.code(), ErrorCode::kConflict);
  EXPECT_NE(std::string(e.what()).find("newer than this build's"), std::string::npos) << e.what();
  internal::ExecPostgres(url_,
                         "DELETE FROM schema_version WHERE version >= " + std::to_string(latest));
  e = ErrorOf([&] { MigrateToPostgres(Dir(), url_); });
  EXPECT_EQ(e.code(), ErrorCode::kConflict);
  EXPECT_NE(std::string(e.what()).find("older than this build's"), std::string::npos) << e.what();

  const std::string fresh = testing::FreshPostgresDatabase();
  auto server = Store::OpenDataDir(Dir());
  e = ErrorOf([&] { MigrateToPostgres(Dir(), fresh); });
  EXPECT_EQ(e.code(), ErrorCode::kConflict);
  EXPECT_NE(std::string(e.what()).find("in use by another skintrack process"), std::string::npos);
}

TEST_F(MigratePostgresTest, ABadSourceOrTargetIsRefusedWithAClearErrorAndTouchesNothing) {
  const auto audit = Strs(Sqlite()->ListAudit({"", 0, 10000}));
  auto target_untouched = [&] {
    pg::PgConnection c(url_);
    return c.Exec("SELECT to_regclass('schema_version') IS NULL").Text(0, 0) == "t";
  };
  const testing::TempDir empty("migrate-empty");
  struct Case {
    std::string args;
    std::string message;
  };
  const std::string bad_database =
      "postgresql://skintrack@/no_such_db" + url_.substr(url_.find('?'));
  const std::vector<Case> cases = {
      {"--from " + Dir() + "/missing --to '" + url_ + "'", "/missing is not a directory"},
      {"--from " + empty.path().string() + " --to '" + url_ + "'", "no skintrack database in"},
      {"--from " + Dir() + " --to mysql://db/st", "postgresql://[user@]host[:port]/dbname"},
      {"--from " + Dir() + " --to '" + bad_database + "'", "no_such_db"},
      {"--from " + Dir(), "--to"},
      {"--to '" + url_ + "'", "--from"},
  };
  for (const Case& c : cases) {
    const auto run = testing::RunCli("db migrate " + c.args);
    EXPECT_NE(run.exit_code, 0) << c.args;
    EXPECT_TRUE(run.out.empty()) << c.args << ": " << run.out;
    EXPECT_NE(run.err.find(c.message), std::string::npos) << c.args << ": " << run.err;
  }
  EXPECT_TRUE(target_untouched());
  EXPECT_FALSE(std::filesystem::exists(empty.path() / "LOCK"));  // a mistyped path stays as it was
  EXPECT_EQ(Strs(Sqlite()->ListAudit({"", 0, 10000})), audit);
  // --verify-only against a database no migration wrote says so.
  const auto verify =
      testing::RunCli("db migrate --from " + Dir() + " --to '" + url_ + "' --verify-only");
  EXPECT_NE(verify.exit_code, 0);
  EXPECT_NE(verify.err.find("the target database has no skintrack schema"), std::string::npos)
      << verify.err;
  EXPECT_TRUE(target_untouched());
}

TEST_F(MigratePostgresTest, AColumnOrTableTheCopyDoesNotListIsRefusedOnEitherSide) {
  Postgres();  // creates the schema
  internal::ExecPostgres(url_, "ALTER TABLE captures ADD COLUMN colour TEXT");
  Error e = ErrorOf([&] { MigrateToPostgres(Dir(), url_); });
  EXPECT_NE(std::string(e.what()).find("the target database's schema (captures: unknown columns "
                                       "colour)"),
            std::string::npos)
      << e.what();
  internal::ExecPostgres(url_, "ALTER TABLE captures DROP COLUMN colour");

  internal::ExecSqlite(Dir() + "/skintrack.db",
                       "CREATE TABLE consents (id INTEGER PRIMARY KEY);"
                       "ALTER TABLE visits ADD COLUMN room TEXT");
  e = ErrorOf([&] { MigrateToPostgres(Dir(), url_); });
  EXPECT_NE(std::string(e.what()).find("the source database's schema (unknown table consents; "
                                       "visits: unknown columns room)"),
            std::string::npos)
      << e.what();
  EXPECT_TRUE(Postgres()->ListPatients().empty());
}

TEST_F(MigratePostgresTest, EachSequenceContinuesPastTheCopiedIds) {
  ASSERT_TRUE(MigrateToPostgres(Dir(), url_).committed);
  pg::PgConnection c(url_);
  for (const migrate::Table& t : migrate::Tables()) {
    if (!t.identity) continue;
    const std::int64_t max_id =
        c.Exec(std::string("SELECT COALESCE(MAX(id), 0) FROM ") + t.name).Int(0, 0);
    // nextval in a transaction that is rolled back: the test leaves the sequence used once more.
    c.Exec("BEGIN");
    const std::int64_t next =
        c.Exec("SELECT nextval(pg_get_serial_sequence($1, 'id'))", pg::Params().Add(t.name))
            .Int(0, 0);
    c.Exec("ROLLBACK");
    EXPECT_GT(next, max_id) << t.name;
  }
}

TEST(MigrateUrl, PasswordsAreRedacted) {
  EXPECT_EQ(RedactedUrl("postgresql://st:secret@db:5432/st"), "postgresql://st:***@db:5432/st");
  EXPECT_EQ(RedactedUrl("postgresql://db/st?password=x&sslmode=require"),
            "postgresql://db/st?password=***&sslmode=require");
  EXPECT_EQ(RedactedUrl("postgresql://st@/st?host=/tmp"), "postgresql://st@/st?host=/tmp");
}

}  // namespace
}  // namespace skintrack::storage
