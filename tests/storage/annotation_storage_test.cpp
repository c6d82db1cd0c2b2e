// Annotations in storage (migration 0008, docs/annotation.md): versions and optimistic
// concurrency, audit, assignments and the queue, the append-only triggers, blob references
// (erasure, check, recovery), the upgrade of a schema-7 database, and a full disk.
#include <SQLiteCpp/Database.h>
#include <SQLiteCpp/Statement.h>
#include <gtest/gtest.h>

#include <algorithm>
#include <atomic>
#include <filesystem>
#include <map>
#include <nlohmann/json.hpp>
#include <sstream>

#include "../support/error_code_of.h"
#include "../support/full_disk.h"
#include "../support/run_cli.h"
#include "../support/storage_backends.h"
#include "skintrack/core/error.h"
#include "skintrack/storage/sha256.h"
#include "skintrack/storage/store.h"
#include "sqlite_internal.h"

namespace skintrack::storage {
namespace {

using annotation::AnnotationState;
using annotation::ReviewDecision;
using skintrack::testing::Backend;
using skintrack::testing::TempDir;

constexpr char kAnn1[] = "token:aaaaaaaaaaaaaaaa";
constexpr char kAnn2[] = "token:bbbbbbbbbbbbbbbb";
constexpr char kReviewer[] = "token:cccccccccccccccc";

using skintrack::testing::CodeOf;

// Stand-in document bytes: the store keeps them as they are (the codec is annotation/document.h).
std::string Doc(int seed) { return R"({"labels":{"image_quality":)" + std::to_string(seed) + "}}"; }

NewAnnotationVersion Change(std::int64_t capture, const std::string& author, AnnotationState state,
                            int expected, std::optional<ReviewDecision> decision = std::nullopt) {
  NewAnnotationVersion v;
  v.capture_id = capture;
  v.author = author;
  v.state = state;
  v.decision = decision;
  v.expected_version = expected;
  return v;
}

// Run on every backend (../support/storage_backends.h).
class AnnotationStorage : public ::testing::TestWithParam<Backend> {
 protected:
  void SetUp() override {
    if (!backend_.Prepare()) GTEST_SKIP() << backend_.SkipReason();
    Open(backend_.Open(Options()));
  }

  StoreOptions Options() {
    StoreOptions options;
    options.repository.clock = [this] { return now_.load(); };
    return options;
  }
  void Open(std::unique_ptr<Store> store) {
    store_ = std::move(store);
    AddPatient("P001");
    capture_ = AddCapture("P001", 1);
  }
  Repository& repo() { return store_->repository(); }

  void AddPatient(const std::string& id) {
    PatientInfo info;
    info.id = id;
    repo().CreatePatient(info, "test");
  }
  std::int64_t AddCapture(const std::string& patient, int seed) {
    NewCapture c;
    c.patient_id = patient;
    c.site = "scalp";
    c.captured_at = seed;
    c.width = 64;
    c.height = 48;
    return store_->IngestCapture(c, "pixels-" + patient + std::to_string(seed), "test").capture.id;
  }
  AnnotationVersion Append(const NewAnnotationVersion& v, const std::string& content,
                           const std::string& actor = "") {
    now_ += 1000;
    return store_->AppendAnnotationVersion(v, content, actor.empty() ? v.author : actor);
  }
  bool Assign(std::int64_t capture, const std::string& annotator) {
    now_ += 1000;
    return repo().AssignCapture({capture, annotator}, "token:admin0000000000");
  }

  // Rows, blobs and audit entries: what "nothing written" compares.
  std::string Footprint() {
    const CheckReport check = store_->Check(false);
    std::ostringstream s;
    s << "blobs=" << check.stored_blobs << " refs=" << check.referenced_blobs
      << " audit=" << repo().ListAudit({"", 0, 10000}).size()
      << " annotated=" << repo().AnnotatedCaptures(0, 10000).size()
      << " latest=" << repo().LatestAnnotations(capture_).size()
      << " assigned=" << repo().ListAssignments(capture_, "").size()
      << " pending=" << store_->blobs().ListPending().size();
    return s.str();
  }

  testing::BackendFactory backend_{GetParam(), "ann"};
  std::atomic<TimeMs> now_{1700000000000};
  std::unique_ptr<Store> store_;
  std::int64_t capture_ = 0;
};

TEST(AnnotationTypes, NewRoleAndSourceHaveNames) {
  EXPECT_STREQ(RoleName(Role::kAnnotator), "annotator");
  EXPECT_EQ(ParseRole("annotator"), Role::kAnnotator);
  EXPECT_STREQ(ResultSourceName(ResultSource::kConsensus), "consensus");
  EXPECT_EQ(ParseResultSource("consensus"), ResultSource::kConsensus);
  EXPECT_EQ(CodeOf([] { ParseRole("qa"); }), ErrorCode::kInvalidArgument);
}

TEST_P(AnnotationStorage, EveryChangeIsANewVersionAndReadsSeeTheLatest) {
  const AnnotationVersion v1 = Append(Change(capture_, kAnn1, AnnotationState::kDraft, 0), Doc(1));
  EXPECT_EQ(v1.version, 1);
  EXPECT_EQ(v1.capture_id, capture_);
  EXPECT_EQ(v1.author, kAnn1);
  EXPECT_EQ(v1.author_role, Role::kAnnotator);
  EXPECT_EQ(v1.state, AnnotationState::kDraft);
  EXPECT_FALSE(v1.decision);
  EXPECT_EQ(v1.content.sha256, Sha256Hex(Doc(1)));
  EXPECT_EQ(v1.content.size, static_cast<std::int64_t>(Doc(1).size()));
  EXPECT_EQ(v1.created_at, now_.load());
  EXPECT_EQ(store_->ReadBlob(v1.content.sha256), Doc(1));

  NewAnnotationVersion submit = Change(capture_, kAnn1, AnnotationState::kSubmitted, 1);
  submit.note = "left edge unsure";
  submit.author_role = Role::kClinician;  // ignored: the role is the one at creation
  const AnnotationVersion v2 = Append(submit, Doc(2));
  NewAnnotationVersion review =
      Change(capture_, kAnn1, AnnotationState::kReviewed, 2, ReviewDecision::kAccepted);
  review.note = "fine";
  const AnnotationVersion v3 = Append(review, Doc(2), kReviewer);
  EXPECT_EQ(v2.annotation_id, v1.annotation_id);
  EXPECT_EQ(v3.annotation_id, v1.annotation_id);
  EXPECT_EQ(v3.version, 3);
  EXPECT_GT(v3.id, v2.id);
  EXPECT_EQ(v2.author_role, Role::kAnnotator);
  EXPECT_EQ(v3.actor, kReviewer);
  EXPECT_EQ(v3.author, kAnn1);
  EXPECT_EQ(v3.decision, ReviewDecision::kAccepted);
  EXPECT_EQ(v3.note, "fine");
  EXPECT_EQ(v3.content.sha256, v2.content.sha256);  // unchanged content: the same blob

  NewAnnotationVersion other = Change(capture_, kAnn2, AnnotationState::kDraft, 0);
  other.author_role = Role::kClinician;
  const AnnotationVersion w1 = Append(other, Doc(3));
  EXPECT_NE(w1.annotation_id, v1.annotation_id);
  EXPECT_EQ(w1.author_role, Role::kClinician);

  const auto latest = repo().LatestAnnotations(capture_);
  ASSERT_EQ(latest.size(), 2u);
  EXPECT_EQ(latest[0].id, v3.id);
  EXPECT_EQ(latest[1].id, w1.id);
  const auto history = repo().AnnotationHistory(v1.annotation_id);
  ASSERT_EQ(history.size(), 3u);
  for (int i = 0; i < 3; ++i) EXPECT_EQ(history[i].version, i + 1);
  EXPECT_EQ(history[1].note, "left edge unsure");
  EXPECT_EQ(repo().FindAnnotation(capture_, kAnn1)->id, v3.id);
  EXPECT_FALSE(repo().FindAnnotation(capture_, kReviewer));
  EXPECT_EQ(repo().FindAnnotationVersion(v2.id)->state, AnnotationState::kSubmitted);
  EXPECT_FALSE(repo().FindAnnotationVersion(v3.id + 100));
  EXPECT_TRUE(repo().AnnotationHistory(v1.annotation_id + 100).empty());
  EXPECT_TRUE(repo().LatestAnnotations(capture_ + 100).empty());
}

TEST_P(AnnotationStorage, AnnotatedCapturesPageInIdOrder) {
  const std::int64_t second = AddCapture("P001", 2);
  const std::int64_t third = AddCapture("P001", 3);
  AddCapture("P001", 4);  // never annotated
  Append(Change(third, kAnn1, AnnotationState::kDraft, 0), Doc(1));
  Append(Change(capture_, kAnn1, AnnotationState::kDraft, 0), Doc(1));
  Append(Change(capture_, kAnn2, AnnotationState::kDraft, 0), Doc(2));
  Append(Change(second, kAnn2, AnnotationState::kDraft, 0), Doc(2));
  EXPECT_EQ(repo().AnnotatedCaptures(0, 10), (std::vector<std::int64_t>{capture_, second, third}));
  EXPECT_EQ(repo().AnnotatedCaptures(0, 2), (std::vector<std::int64_t>{capture_, second}));
  EXPECT_EQ(repo().AnnotatedCaptures(second, 2), (std::vector<std::int64_t>{third}));
  EXPECT_EQ(CodeOf([&] { repo().AnnotatedCaptures(0, 0); }), ErrorCode::kInvalidArgument);
  EXPECT_EQ(CodeOf([&] { repo().AnnotatedCaptures(0, 10001); }), ErrorCode::kInvalidArgument);
}

TEST_P(AnnotationStorage, AStaleExpectedVersionIsAConflictAndWritesNothing) {
  Append(Change(capture_, kAnn1, AnnotationState::kDraft, 0), Doc(1));
  Append(Change(capture_, kAnn1, AnnotationState::kDraft, 1), Doc(2));
  const std::string before = Footprint();
  // A new content each time, so a blob left behind would show in the footprint.
  EXPECT_EQ(CodeOf([&] { Append(Change(capture_, kAnn1, AnnotationState::kDraft, 0), Doc(10)); }),
            ErrorCode::kConflict);
  EXPECT_EQ(CodeOf([&] { Append(Change(capture_, kAnn1, AnnotationState::kDraft, 1), Doc(11)); }),
            ErrorCode::kConflict);
  EXPECT_EQ(CodeOf([&] { Append(Change(capture_, kAnn1, AnnotationState::kDraft, 3), Doc(12)); }),
            ErrorCode::kConflict);
  EXPECT_EQ(CodeOf([&] { Append(Change(capture_, kAnn2, AnnotationState::kDraft, 1), Doc(13)); }),
            ErrorCode::kConflict);
  EXPECT_EQ(Footprint(), before);
  EXPECT_FALSE(store_->blobs().Exists(Sha256Hex(Doc(10))));
  EXPECT_EQ(repo().FindAnnotation(capture_, kAnn1)->version, 2);
  EXPECT_EQ(Append(Change(capture_, kAnn1, AnnotationState::kSubmitted, 2), Doc(2)).version, 3);
}

TEST_P(AnnotationStorage, BadInputIsRefusedBeforeAnythingIsWritten) {
  Append(Change(capture_, kAnn1, AnnotationState::kDraft, 0), Doc(1));
  const std::string before = Footprint();
  auto code = [&](const NewAnnotationVersion& v, const std::string& actor = kAnn1) {
    return CodeOf([&] { store_->AppendAnnotationVersion(v, Doc(20), actor); });
  };
  const int next = 1;
  EXPECT_EQ(code(Change(capture_, kAnn1, AnnotationState::kReviewed, next)),
            ErrorCode::kInvalidArgument);  // reviewed without a decision
  EXPECT_EQ(
      code(Change(capture_, kAnn1, AnnotationState::kSubmitted, next, ReviewDecision::kRejected)),
      ErrorCode::kInvalidArgument);  // a decision without a review
  EXPECT_EQ(code(Change(capture_, "bad author", AnnotationState::kDraft, 0)),
            ErrorCode::kInvalidArgument);
  EXPECT_EQ(code(Change(capture_, "", AnnotationState::kDraft, 0)), ErrorCode::kInvalidArgument);
  EXPECT_EQ(code(Change(capture_, kAnn1, AnnotationState::kDraft, -1)),
            ErrorCode::kInvalidArgument);
  EXPECT_EQ(code(Change(0, kAnn1, AnnotationState::kDraft, next)), ErrorCode::kInvalidArgument);
  NewAnnotationVersion noisy = Change(capture_, kAnn1, AnnotationState::kDraft, next);
  noisy.note = "bell\x07";
  EXPECT_EQ(code(noisy), ErrorCode::kInvalidArgument);
  noisy.note = std::string(kMaxTextLength + 1, 'a');
  EXPECT_EQ(code(noisy), ErrorCode::kInvalidArgument);
  EXPECT_EQ(code(Change(capture_, kAnn1, AnnotationState::kDraft, next), "bad actor"),
            ErrorCode::kInvalidArgument);
  EXPECT_EQ(code(Change(capture_ + 100, kAnn1, AnnotationState::kDraft, 0)), ErrorCode::kNotFound);
  EXPECT_EQ(CodeOf([&] {
              store_->AppendAnnotationVersion(
                  Change(capture_, kAnn1, AnnotationState::kDraft, next), "", kAnn1);
            }),
            ErrorCode::kInvalidArgument);  // an empty document
  // The repository checks the blob reference too.
  EXPECT_EQ(CodeOf([&] {
              repo().AppendAnnotationVersion(Change(capture_, kAnn1, AnnotationState::kDraft, next),
                                             {"not-a-hash", 3}, kAnn1);
            }),
            ErrorCode::kInvalidArgument);
  EXPECT_EQ(Footprint(), before);
}

TEST_P(AnnotationStorage, EachStepIsAuditedWithItsAction) {
  const AnnotationVersion v1 = Append(Change(capture_, kAnn1, AnnotationState::kDraft, 0), Doc(1));
  const AnnotationVersion v2 =
      Append(Change(capture_, kAnn1, AnnotationState::kSubmitted, 1), Doc(1));
  const AnnotationVersion v3 =
      Append(Change(capture_, kAnn1, AnnotationState::kReviewed, 2, ReviewDecision::kRejected),
             Doc(1), kReviewer);
  const auto audit = repo().ListAudit({"annotation:" + std::to_string(v1.annotation_id), 0, 10});
  ASSERT_EQ(audit.size(), 3u);
  EXPECT_EQ(audit[0].action, "annotation.save");
  EXPECT_EQ(audit[1].action, "annotation.submit");
  EXPECT_EQ(audit[2].action, "annotation.review");
  EXPECT_EQ(audit[0].actor, kAnn1);
  EXPECT_EQ(audit[2].actor, kReviewer);
  EXPECT_EQ(audit[0].before, "");
  EXPECT_EQ(audit[0].after, "annotation_version:" + std::to_string(v1.id));
  EXPECT_EQ(audit[1].before, "annotation_version:" + std::to_string(v1.id));
  EXPECT_EQ(audit[2].before, "annotation_version:" + std::to_string(v2.id));
  EXPECT_EQ(audit[2].after, "annotation_version:" + std::to_string(v3.id));
  const auto details = nlohmann::json::parse(audit[2].details_json);
  EXPECT_EQ(details["author"], kAnn1);
  EXPECT_EQ(details["state"], "reviewed");
  EXPECT_EQ(details["decision"], "rejected");
  EXPECT_EQ(details["version"], 3);
  EXPECT_EQ(details["capture_id"], capture_);
  EXPECT_FALSE(nlohmann::json::parse(audit[0].details_json).contains("decision"));
}

TEST_P(AnnotationStorage, AssigningTwiceIsANoOpAndListsNarrow) {
  const std::int64_t second = AddCapture("P001", 2);
  EXPECT_TRUE(Assign(capture_, kAnn1));
  const TimeMs first_at = now_.load();
  EXPECT_TRUE(Assign(second, kAnn1));
  EXPECT_TRUE(Assign(capture_, kAnn2));
  const std::string before = Footprint();
  EXPECT_FALSE(Assign(capture_, kAnn1));
  EXPECT_EQ(Footprint(), before);

  const auto of_capture = repo().ListAssignments(capture_, "");
  ASSERT_EQ(of_capture.size(), 2u);
  EXPECT_EQ(of_capture[0].annotator, kAnn1);
  EXPECT_EQ(of_capture[0].assigned_at, first_at);  // the first assignment stands
  EXPECT_EQ(of_capture[0].assigned_by, "token:admin0000000000");
  EXPECT_EQ(of_capture[1].annotator, kAnn2);
  const auto of_annotator = repo().ListAssignments(std::nullopt, kAnn1);
  ASSERT_EQ(of_annotator.size(), 2u);
  EXPECT_EQ(of_annotator[0].capture_id, capture_);
  EXPECT_EQ(of_annotator[1].capture_id, second);
  EXPECT_EQ(repo().ListAssignments(second, kAnn1).size(), 1u);
  EXPECT_TRUE(repo().ListAssignments(second, kAnn2).empty());
  EXPECT_EQ(CodeOf([&] { repo().ListAssignments(std::nullopt, ""); }), ErrorCode::kInvalidArgument);

  const auto audit = repo().ListAudit({"capture:" + std::to_string(capture_), 0, 100});
  int assigns = 0;
  for (const AuditEntry& e : audit) assigns += e.action == "annotation.assign";
  EXPECT_EQ(assigns, 2);

  EXPECT_EQ(CodeOf([&] { Assign(capture_ + 100, kAnn1); }), ErrorCode::kNotFound);
  EXPECT_EQ(CodeOf([&] { Assign(capture_, "no spaces"); }), ErrorCode::kInvalidArgument);
  EXPECT_EQ(CodeOf([&] {
              repo().AssignCapture({capture_, kAnn1}, "bad actor");
            }),
            ErrorCode::kInvalidArgument);
}

TEST_P(AnnotationStorage, TheQueueHoldsWhatTheAnnotatorStillHasToDo) {
  const std::int64_t b = AddCapture("P001", 2);
  const std::int64_t c = AddCapture("P001", 3);
  const std::int64_t d = AddCapture("P001", 4);
  // Assigned in the order c, a, b: the queue keeps the assignment order, not the id order.
  Assign(c, kAnn1);
  Assign(capture_, kAnn1);
  Assign(b, kAnn1);
  Assign(d, kAnn2);
  Append(Change(d, kAnn1, AnnotationState::kDraft, 0), Doc(1));  // not assigned: not queued
  using Ids = std::vector<std::int64_t>;
  EXPECT_EQ(repo().AnnotationQueue(kAnn1, 10), (Ids{c, capture_, b}));
  EXPECT_EQ(repo().AnnotationQueue(kAnn1, 2), (Ids{c, capture_}));
  EXPECT_EQ(repo().AnnotationQueue(kAnn2, 10), (Ids{d}));

  Append(Change(capture_, kAnn1, AnnotationState::kDraft, 0), Doc(1));  // a draft stays
  Append(Change(b, kAnn1, AnnotationState::kSubmitted, 0), Doc(2));     // submitted: done
  Append(Change(c, kAnn2, AnnotationState::kSubmitted, 0), Doc(3));     // someone else's
  EXPECT_EQ(repo().AnnotationQueue(kAnn1, 10), (Ids{c, capture_}));

  Append(Change(b, kAnn1, AnnotationState::kReviewed, 1, ReviewDecision::kRejected), Doc(2),
         kReviewer);  // rejected: back to the annotator
  Append(Change(capture_, kAnn1, AnnotationState::kSubmitted, 1), Doc(1));
  Append(Change(capture_, kAnn1, AnnotationState::kReviewed, 2, ReviewDecision::kCorrected), Doc(4),
         kReviewer);
  EXPECT_EQ(repo().AnnotationQueue(kAnn1, 10), (Ids{c, b}));
  EXPECT_TRUE(repo().AnnotationQueue(kReviewer, 10).empty());
  EXPECT_EQ(CodeOf([&] { repo().AnnotationQueue(kAnn1, 0); }), ErrorCode::kInvalidArgument);
  EXPECT_EQ(CodeOf([&] { repo().AnnotationQueue("", 10); }), ErrorCode::kInvalidArgument);
}

TEST_P(AnnotationStorage, ACheckIsCleanAndCountsAnnotationBlobs) {
  const CheckReport empty = store_->Check(true);
  Append(Change(capture_, kAnn1, AnnotationState::kDraft, 0), Doc(1));
  Append(Change(capture_, kAnn2, AnnotationState::kDraft, 0), Doc(2));
  Append(Change(capture_, kAnn2, AnnotationState::kSubmitted, 1), Doc(2));  // shares a blob
  const CheckReport check = store_->Check(true);
  EXPECT_TRUE(check.ok()) << check.unreferenced.size() << " unreferenced";
  EXPECT_EQ(check.referenced_blobs, empty.referenced_blobs + 2);
  EXPECT_EQ(check.stored_blobs, empty.stored_blobs + 2);
  EXPECT_TRUE(repo().IsBlobReferenced(Sha256Hex(Doc(1))));
  EXPECT_FALSE(repo().IsBlobReferenced(Sha256Hex(Doc(3))));
}

INSTANTIATE_TEST_SUITE_P(Backends, AnnotationStorage,
                         ::testing::Values(Backend::kMemory, Backend::kFiles, Backend::kPostgres),
                         testing::BackendParamName());

// ---- on files ----------------------------------------------------------------------------------

TEST(AnnotationFiles, ErasureRemovesThePatientsAnnotationsAndTheirBlobs) {
  TempDir dir("ann-erase");
  auto store = Store::OpenDataDir(dir.str());
  Repository& repo = store->repository();
  std::map<std::string, std::int64_t> capture;
  for (const std::string p : {"P001", "P002"}) {
    PatientInfo info;
    info.id = p;
    repo.CreatePatient(info, "test");
    NewCapture c;
    c.patient_id = p;
    c.site = "scalp";
    c.captured_at = 1;
    c.width = c.height = 8;
    capture[p] = store->IngestCapture(c, "pixels of " + p, "test").capture.id;
  }
  const std::int64_t gone = capture["P001"];
  const AnnotationVersion own = store->AppendAnnotationVersion(
      Change(gone, kAnn1, AnnotationState::kDraft, 0), Doc(1), kAnn1);
  store->AppendAnnotationVersion(Change(gone, kAnn1, AnnotationState::kSubmitted, 1), Doc(2),
                                 kAnn1);
  store->AppendAnnotationVersion(Change(gone, kAnn2, AnnotationState::kDraft, 0), Doc(3), kAnn2);
  // The same document on the other patient's capture: its blob must stay.
  store->AppendAnnotationVersion(Change(capture["P002"], kAnn2, AnnotationState::kDraft, 0), Doc(3),
                                 kAnn2);
  repo.AssignCapture({gone, kAnn1}, "admin");
  repo.AssignCapture({capture["P002"], kAnn1}, "admin");

  const auto blobs = repo.PatientBlobs("P001");
  for (int seed : {1, 2, 3}) {
    EXPECT_NE(std::find(blobs.begin(), blobs.end(), Sha256Hex(Doc(seed))), blobs.end()) << seed;
  }
  const EraseReport report = store->ErasePatient("P001", "admin");
  EXPECT_EQ(report.blobs_kept, 1);     // Doc(3)
  EXPECT_EQ(report.blobs_removed, 3);  // the photo, Doc(1), Doc(2)
  EXPECT_FALSE(store->blobs().Exists(Sha256Hex(Doc(1))));
  EXPECT_FALSE(store->blobs().Exists(Sha256Hex(Doc(2))));
  EXPECT_TRUE(store->blobs().Exists(Sha256Hex(Doc(3))));
  EXPECT_TRUE(repo.LatestAnnotations(gone).empty());
  EXPECT_TRUE(repo.AnnotationHistory(own.annotation_id).empty());
  EXPECT_FALSE(repo.FindAnnotationVersion(own.id));
  EXPECT_TRUE(repo.ListAssignments(gone, "").empty());
  EXPECT_EQ(repo.AnnotationQueue(kAnn1, 10), std::vector<std::int64_t>{capture["P002"]});
  EXPECT_EQ(repo.AnnotatedCaptures(0, 10), std::vector<std::int64_t>{capture["P002"]});
  EXPECT_EQ(repo.LatestAnnotations(capture["P002"]).size(), 1u);
  EXPECT_TRUE(store->Check(true).ok());
  const auto audit = repo.ListAudit({"patient:P001", 0, 10});
  ASSERT_FALSE(audit.empty());
  const auto details = nlohmann::json::parse(audit.back().details_json);
  EXPECT_EQ(details["annotations"], 2);
  EXPECT_EQ(details["annotation_versions"], 3);
  EXPECT_EQ(details["annotation_assignments"], 1);
}

// A put leaves its pending marker until the row is committed; a crash in between leaves it for
// start-up clean-up, which must see that the annotation references the blob.
TEST(AnnotationFiles, ABlobReferencedOnlyByAnAnnotationSurvivesRecovery) {
  TempDir dir("ann-recover");
  std::string sha;
  {
    auto store = Store::OpenDataDir(dir.str());
    PatientInfo info;
    info.id = "P001";
    store->repository().CreatePatient(info, "test");
    NewCapture c;
    c.patient_id = "P001";
    c.site = "scalp";
    c.captured_at = 1;
    c.width = c.height = 8;
    const std::int64_t id = store->IngestCapture(c, "pixels", "test").capture.id;
    const BlobPut put = store->blobs().Put(Doc(1));
    sha = put.ref.sha256;
    store->repository().AppendAnnotationVersion(Change(id, kAnn1, AnnotationState::kDraft, 0),
                                                put.ref, kAnn1);
  }  // the process "dies" before ClearPending
  auto store = Store::OpenDataDir(dir.str());
  EXPECT_EQ(store->last_recovery().pending_markers, 1);
  EXPECT_EQ(store->last_recovery().orphan_blobs_removed, 0);
  EXPECT_EQ(store->ReadBlob(sha), Doc(1));
  EXPECT_TRUE(store->Check(true).ok());
}

// The schema's own rules, on each backend with a database another writer could reach.
class AnnotationTriggers : public ::testing::TestWithParam<Backend> {
 protected:
  void SetUp() override {
    if (!backend_.Prepare()) GTEST_SKIP() << backend_.SkipReason();
    auto store = backend_.Open({});
    PatientInfo info;
    info.id = "P001";
    store->repository().CreatePatient(info, "test");
    NewCapture c;
    c.patient_id = "P001";
    c.site = "scalp";
    c.captured_at = 1;
    c.width = c.height = 8;
    capture_ = store->IngestCapture(c, "pixels", "test").capture.id;
    version_ = store->AppendAnnotationVersion(Change(capture_, kAnn1, AnnotationState::kDraft, 0),
                                              Doc(1), kAnn1);
    store->repository().AssignCapture({capture_, kAnn1}, "admin");
  }
  // Runs `sql` on the database as another writer would: the schema alone must refuse it.
  ErrorCode Exec(const std::string& sql) {
    return CodeOf([&] { ExecOrThrow(sql); });
  }
  void ExecOrThrow(const std::string& sql) {
    if (GetParam() == Backend::kPostgres) {
      internal::ExecPostgres(backend_.database_url(), sql);
    } else {
      internal::ExecSqlite(backend_.dir().str() + "/skintrack.db", sql);
    }
  }
  testing::BackendFactory backend_{GetParam(), "ann-triggers"};
  std::int64_t capture_ = 0;
  AnnotationVersion version_;
};

TEST_P(AnnotationTriggers, RowsCannotBeChangedOrDeletedOutsideAnErasure) {
  EXPECT_EQ(Exec("UPDATE annotations SET author = 'x'"), ErrorCode::kConflict);
  EXPECT_EQ(Exec("UPDATE annotation_versions SET note = 'x'"), ErrorCode::kConflict);
  EXPECT_EQ(Exec("UPDATE annotation_assignments SET assigned_by = 'x'"), ErrorCode::kConflict);
  EXPECT_EQ(Exec("DELETE FROM annotation_versions"), ErrorCode::kConflict);
  EXPECT_EQ(Exec("DELETE FROM annotations"), ErrorCode::kConflict);
  EXPECT_EQ(Exec("DELETE FROM annotation_assignments"), ErrorCode::kConflict);
  const std::string insert =
      "INSERT INTO annotation_versions (id, annotation_id, version, state, decision, "
      "content_sha256, content_size, actor, created_at) VALUES (999, " +
      std::to_string(version_.annotation_id) + ", ";
  const std::string rest = ", '" + Sha256Hex("x") + "', 1, 'a', 1)";
  EXPECT_EQ(Exec(insert + "3, 'draft', NULL" + rest), ErrorCode::kConflict);  // a gap
  EXPECT_EQ(Exec(insert + "1, 'draft', NULL" + rest), ErrorCode::kConflict);  // a repeat
  EXPECT_EQ(Exec(insert + "2, 'reviewed', NULL" + rest), ErrorCode::kConflict);
  EXPECT_EQ(Exec(insert + "2, 'draft', 'accepted'" + rest), ErrorCode::kConflict);
  EXPECT_EQ(Exec(insert + "2, 'final', NULL" + rest), ErrorCode::kConflict);
  {
    auto store = backend_.Open({});
    const auto history = store->repository().AnnotationHistory(version_.annotation_id);
    ASSERT_EQ(history.size(), 1u);
    EXPECT_EQ(history[0].note, "");
    EXPECT_EQ(history[0].author, kAnn1);
    EXPECT_EQ(store->repository().ListAssignments(capture_, "").size(), 1u);
  }
  // The refused statements were refused for what they changed: a well-formed next version goes in.
  EXPECT_NO_THROW(ExecOrThrow(insert + "2, 'reviewed', 'accepted'" + rest));
}

INSTANTIATE_TEST_SUITE_P(Backends, AnnotationTriggers,
                         ::testing::Values(Backend::kFiles, Backend::kPostgres),
                         testing::BackendParamName());

// ---- migration from schema 7 -------------------------------------------------------------------

// The definitions of the indexes and triggers of `table`, by name.
std::map<std::string, std::string> SchemaOf(const std::string& path, const std::string& table) {
  SQLite::Database db(path, SQLite::OPEN_READONLY);
  SQLite::Statement st(db,
                       "SELECT type || ' ' || name, COALESCE(sql, '') FROM sqlite_master WHERE "
                       "tbl_name = ? AND type IN ('index', 'trigger')");
  st.bind(1, table);
  std::map<std::string, std::string> out;
  while (st.executeStep()) out[st.getColumn(0).getString()] = st.getColumn(1).getString();
  return out;
}

TEST(AnnotationMigration, Schema7TokensAndResultsAreRebuiltWithTheirRowsIndexesAndTriggers) {
  TempDir dir("ann-migrate");
  const std::string path = dir.str() + "/skintrack.db";
  internal::MigrateSqliteTo(path, 7);
  const std::string sha = Sha256Hex("mask");
  internal::ExecSqlite(
      path,
      "INSERT INTO patients (id, pseudonym, created_at) VALUES (7, 'P-OLD', 1);"
      "INSERT INTO body_sites (id, name, pasi_region, vasi_region, bsa_percent, is_face) "
      "VALUES (1, 'scalp', 'head_neck', 'head_neck', 1.0, 0);"
      "INSERT INTO captures (id, patient_id, site_id, condition, captured_at, received_at, "
      "media_type, blob_sha256, byte_size, width, height) VALUES (42, 7, 1, 'psoriasis', 5, 6, "
      "'image/png', '" +
          Sha256Hex("pixels") +
          "', 6, 10, 10);"
          "INSERT INTO results (id, patient_id, capture_id, kind, name, version, source, "
          "algorithm, algorithm_version, value, payload_json, inputs_json, provenance_json, "
          "blob_sha256, blob_size, actor, created_at) VALUES (9, 7, 42, 'mask', 'lesion', 1, "
          "'clinician', 'brush', '1', NULL, '{}', '{}', '{}', '" +
          sha +
          "', 4, 'old-clinician', 7);"
          "INSERT INTO tokens (id, secret_sha256, role, scope_json, label, created_at, "
          "revoked_at) VALUES ('0123456789abcdef', '" +
          Sha256Hex("secret") + "', 'admin', '[]', 'old admin', 3, NULL), ('fedcba9876543210', '" +
          Sha256Hex("s2") +
          "', 'device', '[\"P-OLD\"]', 'old device', 4, 5);"
          "UPDATE id_sequences SET last_id = 42 WHERE name = 'captures';"
          "UPDATE id_sequences SET last_id = 9 WHERE name = 'results';");
  // Schema 7 refuses the new values: the rebuild is what lets them in.
  const std::string annotator_token =
      "INSERT INTO tokens (id, secret_sha256, role, created_at) VALUES ('aaaaaaaaaaaaaaaa', '" +
      Sha256Hex("s3") + "', 'annotator', 1)";
  EXPECT_EQ(CodeOf([&] { internal::ExecSqlite(path, annotator_token); }), ErrorCode::kConflict);
  const auto tokens_before = SchemaOf(path, "tokens");
  const auto results_before = SchemaOf(path, "results");
  ASSERT_EQ(tokens_before.size(), 2u);   // the two triggers
  ASSERT_EQ(results_before.size(), 4u);  // UNIQUE (id), results_blob and the two triggers

  {
    auto repo = OpenSqliteRepository(path);
    EXPECT_EQ(repo->SchemaVersion(), LatestSchemaVersion());
    EXPECT_EQ(repo->IntegrityCheck(), "ok");
    const auto tokens = repo->ListTokens();
    ASSERT_EQ(tokens.size(), 2u);
    EXPECT_EQ(tokens[0].label, "old admin");
    EXPECT_EQ(tokens[1].patient_scope, std::vector<std::string>{"P-OLD"});
    EXPECT_EQ(tokens[1].revoked_at, 5);
    const auto history = repo->ResultHistory(42, ResultKind::kMask, "lesion");
    ASSERT_EQ(history.size(), 1u);
    EXPECT_EQ(history[0].id, 9);
    EXPECT_EQ(history[0].actor, "old-clinician");
    EXPECT_EQ(history[0].source, ResultSource::kClinician);
    EXPECT_TRUE(repo->IsBlobReferenced(sha));

    // The new values go in now, through the repository.
    NewToken t;
    t.role = Role::kAnnotator;
    t.label = "first annotator";
    EXPECT_EQ(repo->CreateToken(t, "admin").info.role, Role::kAnnotator);
    NewResult r;
    r.capture_id = 42;
    r.kind = ResultKind::kMask;
    r.name = "lesion";
    r.source = ResultSource::kConsensus;
    r.algorithm = "majority";
    r.algorithm_version = "1";
    const Result consensus = repo->AppendResult(r, BlobRef{Sha256Hex("consensus"), 9}, "admin");
    EXPECT_EQ(consensus.version, 2);
    EXPECT_EQ(consensus.id, 10);  // the id sequence went on from the migrated rows
    EXPECT_EQ(consensus.source, ResultSource::kConsensus);
    EXPECT_EQ(repo->RevokeToken("0123456789abcdef", "admin").label, "old admin");
    NewAnnotationVersion v = Change(42, kAnn1, AnnotationState::kDraft, 0);
    EXPECT_EQ(repo->AppendAnnotationVersion(v, {Sha256Hex("doc"), 3}, kAnn1).version, 1);
  }
  EXPECT_EQ(SchemaOf(path, "tokens"), tokens_before);
  EXPECT_EQ(SchemaOf(path, "results"), results_before);
  EXPECT_EQ(SchemaOf(path, "tokens_v8").size(), 0u);
  EXPECT_EQ(SchemaOf(path, "results_v8").size(), 0u);
  // The triggers still hold: results are append-only, tokens only revocable.
  auto refused = [&](const std::string& sql) {
    return CodeOf([&] { internal::ExecSqlite(path, sql); }) == ErrorCode::kConflict;
  };
  EXPECT_TRUE(refused("UPDATE results SET value = 1 WHERE id = 9"));
  EXPECT_TRUE(refused("DELETE FROM results WHERE id = 9"));
  EXPECT_TRUE(refused("UPDATE tokens SET role = 'admin' WHERE id = 'fedcba9876543210'"));
  EXPECT_TRUE(refused("DELETE FROM tokens"));
  EXPECT_TRUE(
      refused("INSERT INTO results (id, patient_id, capture_id, kind, name, version, "
              "source, algorithm, algorithm_version, payload_json, inputs_json, "
              "provenance_json, actor, created_at) VALUES (11, 7, 42, 'mask', 'x', 1, "
              "'guess', 'a', '1', '{}', '{}', '{}', 'a', 1)"));
  EXPECT_TRUE(
      refused("INSERT INTO tokens (id, secret_sha256, role, created_at) VALUES "
              "('bbbbbbbbbbbbbbbb', '" +
              Sha256Hex("s4") + "', 'qa', 1)"));
  auto repo = OpenSqliteRepository(path);
  EXPECT_EQ(repo->ResultHistory(42, ResultKind::kMask, "lesion").size(), 2u);
  EXPECT_EQ(repo->ListTokens().size(), 3u);
}

// ---- a full disk -------------------------------------------------------------------------------

TEST(AnnotationFullDisk, WritesAreRefusedAndLeaveNoBlobReadsWork) {
  auto disk = std::make_shared<testing::Disk>();
  auto store = testing::OpenFullableStore(disk);
  PatientInfo info;
  info.id = "P001";
  store->repository().CreatePatient(info, "test");
  NewCapture c;
  c.patient_id = "P001";
  c.site = "scalp";
  c.captured_at = 1;
  c.width = c.height = 8;
  const std::int64_t id = store->IngestCapture(c, "pixels", "test").capture.id;
  store->AppendAnnotationVersion(Change(id, kAnn1, AnnotationState::kDraft, 0), Doc(1), kAnn1);
  disk->database_full = true;
  EXPECT_EQ(CodeOf([&] {
              store->AppendAnnotationVersion(Change(id, kAnn1, AnnotationState::kSubmitted, 1),
                                             Doc(2), kAnn1);
            }),
            ErrorCode::kStorageFull);
  EXPECT_FALSE(store->blobs().Exists(Sha256Hex(Doc(2))));
  EXPECT_EQ(CodeOf([&] {
              store->repository().AssignCapture({id, kAnn1}, "admin");
            }),
            ErrorCode::kStorageFull);
  EXPECT_EQ(disk->refused_database_writes.load(), 2);
  EXPECT_EQ(store->repository().FindAnnotation(id, kAnn1)->version, 1);
  EXPECT_TRUE(store->repository().ListAssignments(id, "").empty());
  EXPECT_TRUE(store->repository().AnnotationQueue(kAnn1, 10).empty());
  disk->database_full = false;
  EXPECT_TRUE(store->repository().AssignCapture({id, kAnn1}, "admin"));
}

}  // namespace
}  // namespace skintrack::storage
