// The storage suite, run against every backend (../support/storage_backends.h): ":memory:"
// database + memory blobs, a data directory (SQLite file in WAL mode + file blobs) in a temporary
// directory, and a data directory whose metadata is in a fresh PostgreSQL database.
#include "skintrack/storage/store.h"

#include <gtest/gtest.h>
#include <sys/stat.h>

#include <atomic>
#include <filesystem>
#include <fstream>
#include <limits>
#include <sstream>
#include <thread>

#include "../support/error_code_of.h"
#include "../support/run_cli.h"
#include "../support/storage_backends.h"
#include "skintrack/core/error.h"
#include "skintrack/storage/sha256.h"

namespace skintrack::storage {
namespace {

using skintrack::testing::Backend;
using skintrack::testing::TempDir;

constexpr char kActor[] = "test";

std::string Bytes(int seed, std::size_t size = 1000) {
  std::string bytes(size, '\0');
  std::uint32_t x = 2463534242u + static_cast<std::uint32_t>(seed) * 7919u;
  for (char& c : bytes) {
    x ^= x << 13;
    x ^= x >> 17;
    x ^= x << 5;
    c = static_cast<char>(x);
  }
  return bytes;
}

NewCapture MakeCapture(const std::string& patient, const std::string& site, TimeMs at,
                       Condition condition = Condition::kPsoriasis) {
  NewCapture c;
  c.patient_id = patient;
  c.site = site;
  c.condition = condition;
  c.captured_at = at;
  c.device = "mirror-1";
  c.width = 640;
  c.height = 480;
  return c;
}

NewResult MakeScore(std::int64_t capture_id, double value,
                    ResultSource source = ResultSource::kAutomated) {
  NewResult r;
  r.capture_id = capture_id;
  r.kind = ResultKind::kScore;
  r.name = "pasi_site";
  r.source = source;
  r.algorithm = "pasi";
  r.algorithm_version = "1.0.0";
  r.value = value;
  r.payload_json = R"({"erythema":2})";
  r.inputs_json = R"({"capture":)" + std::to_string(capture_id) + "}";
  r.provenance_json = R"({"area":"measured"})";
  return r;
}

using skintrack::testing::CodeOf;

class StoreTest : public ::testing::TestWithParam<Backend> {
 protected:
  void SetUp() override {
    if (!backend_.Prepare()) GTEST_SKIP() << backend_.SkipReason();
    Open();
  }

  void Open(StoreOptions options = {}) {
    options.repository.clock = [this] { return now_.load(); };
    store_.reset();
    store_ = backend_.Open(options);
  }

  Repository& repo() { return store_->repository(); }

  void AddPatient(const std::string& id) {
    PatientInfo info;
    info.id = id;
    info.fitzpatrick = 3;
    info.age_band = "40-49";
    repo().CreatePatient(info, kActor);
  }

  Capture Ingest(const std::string& patient, const std::string& site, TimeMs at, int seed,
                 Condition condition = Condition::kPsoriasis) {
    return store_->IngestCapture(MakeCapture(patient, site, at, condition), Bytes(seed), kActor)
        .capture;
  }

  std::size_t AuditCount() { return repo().ListAudit({"", 0, 10000}).size(); }

  // Number of captures, blobs and audit entries: what "nothing written" compares.
  std::string Footprint() {
    const CheckReport check = store_->Check(false);
    std::ostringstream s;
    s << "blobs=" << check.stored_blobs << " refs=" << check.referenced_blobs
      << " audit=" << AuditCount() << " patients=" << repo().ListPatients().size()
      << " pending=" << store_->blobs().ListPending().size();
    return s.str();
  }

  testing::BackendFactory backend_{GetParam()};
  const TempDir& dir_ = backend_.dir();
  std::atomic<TimeMs> now_{1700000000000};
  std::unique_ptr<Store> store_;
};

TEST_P(StoreTest, CreatesPatientsAndRejectsDuplicatesAndBadIds) {
  AddPatient("P001");
  const auto p = repo().FindPatient("P001");
  ASSERT_TRUE(p);
  EXPECT_EQ(p->info.fitzpatrick, 3);
  EXPECT_EQ(p->info.age_band, "40-49");
  EXPECT_FALSE(repo().FindPatient("P002"));

  const std::string before = Footprint();
  EXPECT_EQ(CodeOf([&] { AddPatient("P001"); }), ErrorCode::kAlreadyExists);
  for (const std::string& bad : std::vector<std::string>{
           "", "../etc", "a/b", "a b", "..", ".", "x\ny", "\xc3\xa9", std::string(65, 'a')}) {
    EXPECT_EQ(CodeOf([&] { AddPatient(bad); }), ErrorCode::kInvalidArgument) << bad;
  }
  PatientInfo info;
  info.id = "P009";
  info.fitzpatrick = 7;
  EXPECT_EQ(CodeOf([&] { repo().CreatePatient(info, kActor); }), ErrorCode::kInvalidArgument);
  info.fitzpatrick = 2;
  info.attributes_json = "[1,2]";
  EXPECT_EQ(CodeOf([&] { repo().CreatePatient(info, kActor); }), ErrorCode::kInvalidArgument);
  info.attributes_json = "{}";
  EXPECT_EQ(CodeOf([&] { repo().CreatePatient(info, "bad actor"); }), ErrorCode::kInvalidArgument);
  EXPECT_EQ(Footprint(), before);
}

TEST_P(StoreTest, IngestIsIdempotentByPatientSiteAndContent) {
  AddPatient("P001");
  const IngestResult first =
      store_->IngestCapture(MakeCapture("P001", "left-forearm", 1000), Bytes(1), kActor);
  EXPECT_TRUE(first.created);
  EXPECT_EQ(first.capture.status, CaptureStatus::kQueued);
  EXPECT_EQ(first.capture.blob.sha256, Sha256Hex(Bytes(1)));
  EXPECT_EQ(first.capture.blob.size, 1000);
  EXPECT_EQ(first.capture.received_at, now_.load());
  EXPECT_EQ(store_->ReadBlob(first.capture.blob.sha256), Bytes(1));

  // A retry (even with a different timestamp) returns the stored capture and writes nothing.
  const std::string before = Footprint();
  const IngestResult again =
      store_->IngestCapture(MakeCapture("P001", "left-forearm", 2000), Bytes(1), kActor);
  EXPECT_FALSE(again.created);
  EXPECT_EQ(again.capture.id, first.capture.id);
  EXPECT_EQ(again.capture.captured_at, 1000);
  EXPECT_EQ(Footprint(), before);

  // The same bytes for another site are another capture sharing one blob.
  const IngestResult other =
      store_->IngestCapture(MakeCapture("P001", "right-forearm", 1000), Bytes(1), kActor);
  EXPECT_TRUE(other.created);
  EXPECT_NE(other.capture.id, first.capture.id);
  const CheckReport check = store_->Check(true);
  EXPECT_TRUE(check.ok());
  EXPECT_EQ(check.stored_blobs, 1);
  EXPECT_TRUE(store_->blobs().ListPending().empty());

  const auto audit = repo().ListAudit({"capture:" + std::to_string(first.capture.id), 0, 10});
  ASSERT_EQ(audit.size(), 1u);
  EXPECT_EQ(audit[0].action, "capture.ingest");
  EXPECT_EQ(audit[0].after, "blob:" + first.capture.blob.sha256);
}

TEST_P(StoreTest, BadCaptureInputChangesNothing) {
  StoreOptions small;
  small.max_blob_bytes = 5000;
  Open(small);
  AddPatient("P001");
  Ingest("P001", "left-forearm", 1000, 1);
  const std::string before = Footprint();
  auto bad = [&](const NewCapture& c, const std::string& bytes) {
    return CodeOf([&] { store_->IngestCapture(c, bytes, kActor); });
  };
  EXPECT_EQ(bad(MakeCapture("P404", "left-forearm", 1), Bytes(2)), ErrorCode::kNotFound);
  EXPECT_EQ(bad(MakeCapture("P001", "left-wing", 1), Bytes(2)), ErrorCode::kNotFound);
  EXPECT_EQ(bad(MakeCapture("../P001", "left-forearm", 1), Bytes(2)), ErrorCode::kInvalidArgument);
  EXPECT_EQ(bad(MakeCapture("P001", "../../etc/passwd", 1), Bytes(2)), ErrorCode::kInvalidArgument);
  EXPECT_EQ(bad(MakeCapture("P001", "left-forearm", 1), Bytes(2, 5001)), ErrorCode::kImageTooLarge);
  EXPECT_EQ(bad(MakeCapture("P001", "left-forearm", 1), ""), ErrorCode::kInvalidArgument);
  EXPECT_EQ(bad(MakeCapture("P001", "left-forearm", -5), Bytes(2)), ErrorCode::kInvalidArgument);
  NewCapture c = MakeCapture("P001", "left-forearm", 1);
  c.media_type = "text/html";
  EXPECT_EQ(bad(c, Bytes(2)), ErrorCode::kInvalidArgument);
  c = MakeCapture("P001", "left-forearm", 1);
  c.width = 0;
  EXPECT_EQ(bad(c, Bytes(2)), ErrorCode::kInvalidArgument);
  c = MakeCapture("P001", "left-forearm", 1);
  c.device = "dev/../x";
  EXPECT_EQ(bad(c, Bytes(2)), ErrorCode::kInvalidArgument);
  c = MakeCapture("P001", "left-forearm", 1);
  c.visit = std::string(100, 'v');
  EXPECT_EQ(bad(c, Bytes(2)), ErrorCode::kInvalidArgument);
  EXPECT_EQ(Footprint(), before);
  EXPECT_EQ(repo().TimeSeries({"P001", {}, {}, "", 0, kMaxTimeMs}).size(), 1u);
}

TEST_P(StoreTest, ResultsAreAppendOnlyWithQueryableHistory) {
  AddPatient("P001");
  const Capture cap = Ingest("P001", "trunk-anterior", 1000, 1);
  const Result v1 = store_->AppendResult(MakeScore(cap.id, 4.0), std::nullopt, "worker:a");
  const Result v2 =
      store_->AppendResult(MakeScore(cap.id, 3.5, ResultSource::kClinician), std::nullopt, "dr-x");
  const Result v3 = store_->AppendResult(MakeScore(cap.id, 4.2), std::nullopt, "worker:b");
  EXPECT_EQ(v1.version, 1);
  EXPECT_EQ(v2.version, 2);
  EXPECT_EQ(v3.version, 3);
  EXPECT_EQ(v2.source, ResultSource::kClinician);
  EXPECT_EQ(v2.actor, "dr-x");

  const auto history = repo().ResultHistory(cap.id, ResultKind::kScore, "pasi_site");
  ASSERT_EQ(history.size(), 3u);
  EXPECT_DOUBLE_EQ(*history[0].value, 4.0);
  EXPECT_DOUBLE_EQ(*history[1].value, 3.5);
  EXPECT_EQ(history[0].payload_json, R"({"erythema":2})");
  EXPECT_EQ(history[0].provenance_json, R"({"area":"measured"})");

  // A mask with its PNG blob, and a registration: each (kind, name) has its own version line.
  NewResult mask;
  mask.capture_id = cap.id;
  mask.kind = ResultKind::kMask;
  mask.name = "lesion";
  mask.algorithm = "segment";
  mask.algorithm_version = "0.3";
  const Result m = store_->AppendResult(mask, std::string_view(Bytes(7, 300)), "worker:a");
  EXPECT_EQ(m.version, 1);
  EXPECT_EQ(store_->ReadBlob(m.blob_sha256), Bytes(7, 300));
  const auto latest = repo().LatestResults(cap.id);
  ASSERT_EQ(latest.size(), 2u);
  EXPECT_EQ(latest[0].kind, ResultKind::kMask);
  EXPECT_EQ(latest[1].id, v3.id);

  // The audit trail links each version to the one it supersedes.
  const auto audit =
      repo().ListAudit({"capture:" + std::to_string(cap.id) + "/score/pasi_site", 0, 100});
  ASSERT_EQ(audit.size(), 3u);
  EXPECT_EQ(audit[0].before, "");
  EXPECT_EQ(audit[1].before, "result:" + std::to_string(v1.id));
  EXPECT_EQ(audit[2].after, "result:" + std::to_string(v3.id));

  // Bad results: nothing written.
  const std::string before = Footprint();
  EXPECT_EQ(CodeOf([&] { store_->AppendResult(MakeScore(999, 1), std::nullopt, kActor); }),
            ErrorCode::kNotFound);
  EXPECT_EQ(CodeOf([&] { store_->AppendResult(MakeScore(999, 1), std::string_view("x"), kActor); }),
            ErrorCode::kNotFound);
  NewResult r = MakeScore(cap.id, 1);
  r.payload_json = "{not json";
  EXPECT_EQ(CodeOf([&] { store_->AppendResult(r, std::nullopt, kActor); }),
            ErrorCode::kInvalidArgument);
  r = MakeScore(cap.id, std::numeric_limits<double>::quiet_NaN());
  EXPECT_EQ(CodeOf([&] { store_->AppendResult(r, std::nullopt, kActor); }),
            ErrorCode::kInvalidArgument);
  r = MakeScore(cap.id, 1);
  r.provenance_json = "{\"x\":\"" + std::string(kMaxJsonBytes, 'a') + "\"}";
  EXPECT_EQ(CodeOf([&] { store_->AppendResult(r, std::nullopt, kActor); }),
            ErrorCode::kInvalidArgument);
  r = MakeScore(cap.id, 1);
  r.name = "a/b";
  EXPECT_EQ(CodeOf([&] { store_->AppendResult(r, std::string_view("mask"), kActor); }),
            ErrorCode::kInvalidArgument);
  EXPECT_EQ(Footprint(), before);
  EXPECT_EQ(repo().ResultHistory(cap.id, ResultKind::kScore, "pasi_site").size(), 3u);
}

TEST_P(StoreTest, AssessmentsAreVersionedBesideResults) {
  AddPatient("P001");
  const Capture cap = Ingest("P001", "scalp", 1000, 1);
  NewAssessment a;
  a.capture_id = cap.id;
  a.grades_json = R"({"erythema":3,"induration":2,"desquamation":1})";
  a.note = "plaque at hairline";
  const Assessment a1 = store_->AppendAssessment(a, std::nullopt, "dr-x");
  const Assessment a2 = store_->AppendAssessment(a, std::string_view(Bytes(9, 200)), "dr-y");
  EXPECT_EQ(a1.version, 1);
  EXPECT_EQ(a2.version, 2);
  EXPECT_EQ(store_->ReadBlob(a2.mask_sha256), Bytes(9, 200));
  const auto history = repo().AssessmentHistory(cap.id);
  ASSERT_EQ(history.size(), 2u);
  EXPECT_EQ(history[0].note, "plaque at hairline");
  EXPECT_EQ(history[1].actor, "dr-y");
  a.note = std::string(kMaxTextLength + 1, 'n');
  EXPECT_EQ(CodeOf([&] { store_->AppendAssessment(a, std::nullopt, "dr-x"); }),
            ErrorCode::kInvalidArgument);
}

TEST_P(StoreTest, TimeSeriesIsInTimeOrderWithTheLatestScoreVersion) {
  AddPatient("P001");
  AddPatient("P002");
  // Ingested out of time order on purpose.
  const Capture late = Ingest("P001", "left-forearm", 3000, 1);
  const Capture early = Ingest("P001", "left-forearm", 1000, 2);
  const Capture mid = Ingest("P001", "left-forearm", 2000, 3);
  const Capture other_site = Ingest("P001", "scalp", 1500, 4);
  const Capture vitiligo = Ingest("P001", "left-forearm", 1200, 5, Condition::kVitiligo);
  Ingest("P002", "left-forearm", 500, 6);
  store_->AppendResult(MakeScore(early.id, 6.0), std::nullopt, kActor);
  store_->AppendResult(MakeScore(early.id, 5.0, ResultSource::kClinician), std::nullopt, kActor);
  store_->AppendResult(MakeScore(late.id, 2.0), std::nullopt, kActor);
  store_->AppendResult(MakeScore(other_site.id, 1.0), std::nullopt, kActor);

  SeriesQuery q{"P001",    std::string("left-forearm"), Condition::kPsoriasis, "pasi_site", 0,
                kMaxTimeMs};
  auto series = repo().TimeSeries(q);
  ASSERT_EQ(series.size(), 3u);
  EXPECT_EQ(series[0].capture.id, early.id);
  EXPECT_EQ(series[1].capture.id, mid.id);
  EXPECT_EQ(series[2].capture.id, late.id);
  ASSERT_TRUE(series[0].score);
  EXPECT_DOUBLE_EQ(*series[0].score->value, 5.0);  // the latest version
  EXPECT_EQ(series[0].score->version, 2);
  EXPECT_FALSE(series[1].score);
  EXPECT_DOUBLE_EQ(*series[2].score->value, 2.0);

  q.condition.reset();
  EXPECT_EQ(repo().TimeSeries(q).size(), 4u);
  q.site.reset();
  // All sites: the scores come from one scan of the patient's results (not one lookup per
  // capture), and must still be each capture's latest version.
  series = repo().TimeSeries(q);
  ASSERT_EQ(series.size(), 5u);
  EXPECT_EQ(series[0].capture.id, early.id);
  ASSERT_TRUE(series[0].score);
  EXPECT_DOUBLE_EQ(*series[0].score->value, 5.0);
  EXPECT_EQ(series[0].score->source, ResultSource::kClinician);
  EXPECT_EQ(series[1].capture.id, vitiligo.id);
  EXPECT_FALSE(series[1].score);
  EXPECT_EQ(series[2].capture.id, other_site.id);
  ASSERT_TRUE(series[2].score);
  EXPECT_DOUBLE_EQ(*series[2].score->value, 1.0);
  q.from = 1100;
  q.to = 2000;
  EXPECT_EQ(repo().TimeSeries(q).size(), 3u);
  q.from = 3000;
  q.to = 1000;
  EXPECT_EQ(CodeOf([&] { repo().TimeSeries(q); }), ErrorCode::kInvalidArgument);
  EXPECT_EQ(CodeOf([&] { repo().TimeSeries({"P404", {}, {}, "", 0, 1}); }), ErrorCode::kNotFound);
}

// The pipeline reads a site's quality verdicts, baseline choices and registrations through
// TimeSeries (one query per series, issue 15): the lookup must take the asked kind only.
TEST_P(StoreTest, TimeSeriesLooksUpTheLatestResultOfTheAskedKind) {
  AddPatient("P001");
  const Capture first = Ingest("P001", "scalp", 1000, 1);
  const Capture second = Ingest("P001", "scalp", 2000, 2);
  const Capture elsewhere = Ingest("P001", "left-forearm", 1500, 3);
  NewResult quality = MakeScore(first.id, 0.0);
  quality.kind = ResultKind::kMeasurement;
  quality.name = "quality";
  store_->AppendResult(quality, std::nullopt, kActor);
  quality.value = 1.0;
  store_->AppendResult(quality, std::nullopt, kActor);  // version 2 passes
  quality.capture_id = elsewhere.id;
  store_->AppendResult(quality, std::nullopt, kActor);
  NewResult same_name = MakeScore(second.id, 7.0);  // a score that happens to share the name
  same_name.name = "quality";
  store_->AppendResult(same_name, std::nullopt, kActor);

  SeriesQuery q{"P001", std::string("scalp"), std::nullopt, "quality", 0, kMaxTimeMs};
  q.score_kind = ResultKind::kMeasurement;
  for (bool one_site : {true, false}) {
    if (!one_site) q.site.reset();
    const auto series = repo().TimeSeries(q);
    ASSERT_EQ(series.size(), one_site ? 2u : 3u);
    ASSERT_TRUE(series[0].score);
    EXPECT_EQ(series[0].score->kind, ResultKind::kMeasurement);
    EXPECT_EQ(series[0].score->version, 2);
    EXPECT_DOUBLE_EQ(*series[0].score->value, 1.0);
    EXPECT_FALSE(series.back().score) << "the score named quality is not a measurement";
  }
  q.score_kind = ResultKind::kScore;
  q.site = "scalp";
  const auto scores = repo().TimeSeries(q);
  EXPECT_FALSE(scores[0].score);
  ASSERT_TRUE(scores[1].score);
  EXPECT_DOUBLE_EQ(*scores[1].score->value, 7.0);
}

TEST_P(StoreTest, WorkQueueClaimsRetriesAndRecoversExpiredLeases) {
  StoreOptions options;
  options.repository.max_attempts = 3;
  options.repository.retry_base_ms = 1000;
  Open(options);
  AddPatient("P001");
  const Capture a = Ingest("P001", "scalp", 1000, 1);
  now_ += 1;
  const Capture b = Ingest("P001", "scalp", 2000, 2);

  auto item = repo().ClaimWork("worker:1", 60000);
  ASSERT_TRUE(item);
  EXPECT_EQ(item->capture.id, a.id);  // oldest first
  EXPECT_EQ(item->capture.status, CaptureStatus::kProcessing);
  EXPECT_EQ(item->capture.attempts, 1);
  auto item2 = repo().ClaimWork("worker:2", 60000);
  ASSERT_TRUE(item2);
  EXPECT_EQ(item2->capture.id, b.id);
  EXPECT_FALSE(repo().ClaimWork("worker:3", 60000));

  repo().CompleteWork(a.id, "worker:1");
  EXPECT_EQ(repo().FindCapture(a.id)->status, CaptureStatus::kProcessed);
  EXPECT_EQ(CodeOf([&] { repo().CompleteWork(a.id, "worker:1"); }), ErrorCode::kConflict);
  EXPECT_EQ(CodeOf([&] { repo().CompleteWork(b.id, "worker:1"); }), ErrorCode::kConflict);
  EXPECT_EQ(CodeOf([&] { repo().CompleteWork(424242, "worker:1"); }), ErrorCode::kNotFound);

  // Retryable failure: back in the queue after the back-off, not before.
  EXPECT_EQ(repo().FailWork(b.id, "worker:2", "registration diverged", true),
            CaptureStatus::kQueued);
  EXPECT_FALSE(repo().ClaimWork("worker:3", 60000));
  now_ += 1000;
  item = repo().ClaimWork("worker:3", 60000);
  ASSERT_TRUE(item);
  EXPECT_EQ(item->capture.attempts, 2);
  EXPECT_EQ(item->capture.last_error, "registration diverged");

  // The worker dies: its lease expires and another worker takes over; the old one is refused.
  now_ += 60001;
  item = repo().ClaimWork("worker:4", 60000);
  ASSERT_TRUE(item);
  EXPECT_EQ(item->capture.id, b.id);
  EXPECT_EQ(item->capture.attempts, 3);
  EXPECT_EQ(CodeOf([&] { repo().CompleteWork(b.id, "worker:3"); }), ErrorCode::kConflict);
  // Attempts used up: a retryable failure still ends as failed.
  EXPECT_EQ(repo().FailWork(b.id, "worker:4",
                            std::string("bad\x01"
                                        "byte"),
                            true),
            CaptureStatus::kFailed);
  EXPECT_EQ(repo().FindCapture(b.id)->last_error, "bad?byte");
  const QueueCounts counts = repo().CountQueue();
  EXPECT_EQ(counts.processed, 1);
  EXPECT_EQ(counts.failed, 1);
  EXPECT_EQ(counts.queued + counts.processing, 0);

  // Requeue for reprocessing: only processed captures go back, attempts reset, audited.
  const std::size_t audit_before = AuditCount();
  EXPECT_EQ(repo().RequeueProcessed({a.id, b.id, 424242}, "new baseline", "worker:5"), 1);
  EXPECT_EQ(repo().FindCapture(a.id)->status, CaptureStatus::kQueued);
  EXPECT_EQ(repo().FindCapture(b.id)->status, CaptureStatus::kFailed);
  EXPECT_EQ(AuditCount(), audit_before + 1);
  const auto requeue = repo().ListAudit({"capture:" + std::to_string(a.id), 0, 10});
  EXPECT_EQ(requeue.back().action, "capture.requeue");
  item = repo().ClaimWork("worker:5", 60000);
  ASSERT_TRUE(item);
  EXPECT_EQ(item->capture.id, a.id);
  EXPECT_EQ(item->capture.attempts, 1);
  EXPECT_EQ(repo().RequeueProcessed({a.id}, "again", "worker:5"), 0);  // in progress: untouched
  EXPECT_EQ(CodeOf([&] { repo().RequeueProcessed({a.id}, "x", "bad actor!"); }),
            ErrorCode::kInvalidArgument);
}

// A change made outside the queue leases its processed capture; should the process die before it
// completes, the lease runs out and a worker processes the capture again.
TEST_P(StoreTest, AProcessedCaptureIsLeasedForAChangeAndRetakenWhenTheLeaseRunsOut) {
  Open({});
  AddPatient("P001");
  const Capture a = Ingest("P001", "scalp", 1000, 1);
  EXPECT_FALSE(repo().LeaseProcessed(a.id, "worker:edit", 60000, "corrected mask"));  // queued
  ASSERT_TRUE(repo().ClaimWork("worker:1", 60000));
  EXPECT_FALSE(repo().LeaseProcessed(a.id, "worker:edit", 60000, "corrected mask"));  // in work
  repo().CompleteWork(a.id, "worker:1");
  EXPECT_FALSE(repo().LeaseProcessed(424242, "worker:edit", 60000, "corrected mask"));
  EXPECT_EQ(CodeOf([&] { repo().LeaseProcessed(a.id, "bad actor!", 60000, "x"); }),
            ErrorCode::kInvalidArgument);
  EXPECT_EQ(CodeOf([&] { repo().LeaseProcessed(a.id, "worker:edit", 0, "x"); }),
            ErrorCode::kInvalidArgument);
  EXPECT_EQ(repo().FindCapture(a.id)->status,
            CaptureStatus::kProcessed);  // the refusals: no change

  // Leased and completed: processed again, nothing queued, the lease audited.
  ASSERT_TRUE(repo().LeaseProcessed(a.id, "worker:edit", 60000, "corrected mask"));
  EXPECT_EQ(repo().FindCapture(a.id)->status, CaptureStatus::kProcessing);
  EXPECT_FALSE(repo().ClaimWork("worker:2", 60000));  // held
  EXPECT_EQ(repo().ListAudit({"capture:" + std::to_string(a.id), 0, 10}).back().action,
            "capture.lease");
  repo().CompleteWork(a.id, "worker:edit");
  EXPECT_EQ(repo().FindCapture(a.id)->status, CaptureStatus::kProcessed);
  EXPECT_FALSE(repo().ClaimWork("worker:2", 60000));

  // Leased and never completed (the process died): after the lease a worker takes it.
  ASSERT_TRUE(repo().LeaseProcessed(a.id, "worker:edit", 60000, "corrected mask"));
  now_ += 60001;
  const auto item = repo().ClaimWork("worker:2", 60000);
  ASSERT_TRUE(item);
  EXPECT_EQ(item->capture.id, a.id);
  EXPECT_EQ(item->capture.attempts, 1);
  EXPECT_EQ(CodeOf([&] { repo().CompleteWork(a.id, "worker:edit"); }), ErrorCode::kConflict);
}

TEST_P(StoreTest, TokensStoreOnlyHashesAndVerify) {
  AddPatient("P001");
  NewToken t;
  t.role = Role::kDevice;
  t.patient_scope = {"P001"};
  t.label = "mirror in bathroom";
  const CreatedToken created = repo().CreateToken(t, "admin");
  EXPECT_EQ(created.token.size(), 85u);
  const auto info = repo().VerifyToken(created.token);
  ASSERT_TRUE(info);
  EXPECT_EQ(info->role, Role::kDevice);
  EXPECT_EQ(info->patient_scope, std::vector<std::string>{"P001"});

  std::string wrong = created.token;
  wrong.back() = wrong.back() == '0' ? '1' : '0';
  EXPECT_FALSE(repo().VerifyToken(wrong));
  EXPECT_FALSE(repo().VerifyToken(""));
  EXPECT_FALSE(repo().VerifyToken("stk_../../etc/passwd"));

  t.patient_scope = {"P404"};
  EXPECT_EQ(CodeOf([&] { repo().CreateToken(t, "admin"); }), ErrorCode::kNotFound);
  t.patient_scope = {};
  EXPECT_EQ(CodeOf([&] { repo().CreateToken(t, "admin"); }), ErrorCode::kInvalidArgument);

  NewToken expiring;
  expiring.role = Role::kCoordinator;
  expiring.expires_at = now_.load() + 1000;
  const CreatedToken e = repo().CreateToken(expiring, "admin");
  EXPECT_TRUE(repo().VerifyToken(e.token));
  now_ += 1000;
  EXPECT_FALSE(repo().VerifyToken(e.token));

  repo().RevokeToken(created.info.id, "admin");
  repo().RevokeToken(created.info.id, "admin");
  EXPECT_FALSE(repo().VerifyToken(created.token));
  EXPECT_EQ(CodeOf([&] { repo().RevokeToken("0123456789abcdef", "admin"); }), ErrorCode::kNotFound);
  EXPECT_EQ(repo().ListTokens().size(), 2u);
  EXPECT_EQ(repo().ListAudit({"token:" + created.info.id, 0, 10}).size(), 2u);

  if (GetParam() == Backend::kFiles) {
    // The secret part never reaches the disk.
    store_.reset();
    const std::string secret = created.token.substr(21);
    for (const auto& entry : std::filesystem::recursive_directory_iterator(dir_.path())) {
      if (!entry.is_regular_file()) continue;
      std::ifstream in(entry.path(), std::ios::binary);
      std::stringstream content;
      content << in.rdbuf();
      EXPECT_EQ(content.str().find(secret), std::string::npos) << entry.path();
    }
  }
}

TEST_P(StoreTest, ErasureRemovesPatientRowsAndUnsharedBlobs) {
  AddPatient("P001");
  AddPatient("P002");
  const Capture a1 = Ingest("P001", "scalp", 1000, 1);
  Ingest("P001", "scalp", 2000, 2);
  const Capture shared_a = Ingest("P001", "trunk-posterior", 1000, 3);
  const Capture shared_b = Ingest("P002", "trunk-posterior", 1000, 3);  // identical bytes
  const Capture newest = Ingest("P001", "neck", 3000, 12);              // the highest capture id
  NewResult mask;
  mask.capture_id = a1.id;
  mask.kind = ResultKind::kMask;
  mask.name = "lesion";
  mask.algorithm = "segment";
  mask.algorithm_version = "1";
  const Result m = store_->AppendResult(mask, std::string_view(Bytes(10, 50)), kActor);
  NewAssessment assessment;
  assessment.capture_id = a1.id;
  store_->AppendAssessment(assessment, std::string_view(Bytes(11, 60)), "dr-x");
  NewToken token;
  token.patient_scope = {"P001"};
  repo().CreateToken(token, "admin");

  const std::string sha1 = a1.blob.sha256;
  const EraseReport report = store_->ErasePatient("P001", "admin");
  EXPECT_EQ(report.blobs_removed, 5);  // three captures, the mask, the corrected mask
  EXPECT_EQ(report.blobs_kept, 1);     // P002 still has the shared bytes
  EXPECT_FALSE(repo().FindPatient("P001"));
  EXPECT_FALSE(repo().FindCapture(a1.id));
  EXPECT_FALSE(repo().FindCapture(shared_a.id));
  EXPECT_FALSE(repo().IsBlobReferenced(m.blob_sha256));  // the mask result row is gone
  EXPECT_FALSE(store_->blobs().Exists(sha1));
  EXPECT_FALSE(store_->blobs().Exists(m.blob_sha256));
  EXPECT_EQ(store_->ReadBlob(shared_b.blob.sha256), Bytes(3));
  EXPECT_TRUE(repo().FindCapture(shared_b.id));
  EXPECT_EQ(repo().CountQueue().queued, 1);  // only P002's capture is left
  EXPECT_TRUE(store_->Check(true).ok());
  EXPECT_TRUE(store_->blobs().ListPending().empty());
  const auto audit = repo().ListAudit({"patient:P001", 0, 10});
  ASSERT_EQ(audit.size(), 2u);
  EXPECT_EQ(audit[1].action, "patient.erase");
  EXPECT_EQ(audit[1].actor, "admin");
  // The erased id is free again (a new enrolment is a new patient) and unknown ids are refused.
  EXPECT_EQ(CodeOf([&] { store_->ErasePatient("P001", "admin"); }), ErrorCode::kNotFound);
  EXPECT_EQ(CodeOf([&] { store_->ErasePatient("../P002", "admin"); }), ErrorCode::kInvalidArgument);
  AddPatient("P001");
  EXPECT_TRUE(repo().TimeSeries({"P001", {}, {}, "", 0, kMaxTimeMs}).empty());
  // Ids are never reused: the audit log's "capture:<id>" keeps naming the erased capture only.
  EXPECT_GT(Ingest("P001", "scalp", 5000, 42).id, newest.id);
  mask.capture_id = shared_b.id;
  EXPECT_GT(store_->AppendResult(mask, std::nullopt, kActor).id, m.id);
}

TEST_P(StoreTest, VisitLabelsComeBackThroughEveryCaptureRead) {
  AddPatient("P001");
  NewCapture c = MakeCapture("P001", "scalp", 1000);
  c.visit = "week-0";
  const Capture a = store_->IngestCapture(c, Bytes(1), kActor).capture;
  c.site = "neck";
  c.captured_at = 1100;
  const Capture b = store_->IngestCapture(c, Bytes(2), kActor).capture;  // same visit again
  const Capture none = Ingest("P001", "scalp", 2000, 3);
  EXPECT_EQ(a.visit, "week-0");
  EXPECT_EQ(b.visit, "week-0");
  EXPECT_EQ(repo().FindCapture(b.id)->visit, "week-0");
  EXPECT_EQ(none.visit, "");
  // TimeSeries reads captures through its own column list (no join to patients or sites).
  const auto series = repo().TimeSeries({"P001", {}, {}, "", 0, kMaxTimeMs});
  ASSERT_EQ(series.size(), 3u);
  EXPECT_EQ(series[0].capture.visit, "week-0");
  EXPECT_EQ(series[1].capture.visit, "week-0");
  EXPECT_EQ(series[1].capture.site, "neck");
  EXPECT_EQ(series[2].capture.visit, "");
}

TEST_P(StoreTest, AuditIsPagedAndValidated) {
  for (int i = 0; i < 5; ++i) {
    repo().AppendAudit({0, 0, "coordinator:1", "export.download", "export:" + std::to_string(i), "",
                        "", R"({"rows":10})"});
  }
  const auto page1 = repo().ListAudit({"", 0, 3});
  ASSERT_EQ(page1.size(), 3u);
  const auto page2 = repo().ListAudit({"", page1.back().id, 3});
  ASSERT_EQ(page2.size(), 2u);
  EXPECT_EQ(page2[1].object, "export:4");
  EXPECT_EQ(page2[1].at, now_.load());
  EXPECT_EQ(CodeOf([&] { repo().ListAudit({"", 0, 0}); }), ErrorCode::kInvalidArgument);
  EXPECT_EQ(CodeOf([&] {
              repo().AppendAudit({0, 0, "x", "bad action!", "o", "", "", "{}"});
            }),
            ErrorCode::kInvalidArgument);
  EXPECT_EQ(AuditCount(), 5u);
}

TEST_P(StoreTest, ConcurrentIngestAndReadsNeverSeeBusyErrors) {
  AddPatient("P001");
  AddPatient("P002");
  constexpr int kWriters = 4;
  constexpr int kPerWriter = 40;
  std::atomic<int> errors{0};
  std::atomic<bool> done{false};
  std::vector<std::thread> threads;
  threads.reserve(kWriters);
  for (int w = 0; w < kWriters; ++w) {
    threads.emplace_back([&, w] {
      for (int i = 0; i < kPerWriter; ++i) {
        try {
          const int seed = w * 1000 + i;
          const Capture c = Ingest(w % 2 ? "P001" : "P002", "scalp", seed, seed);
          // Duplicate pushes from a retrying device, interleaved with other writers.
          Ingest(w % 2 ? "P001" : "P002", "scalp", seed, seed);
          if (i % 4 == 0) store_->AppendResult(MakeScore(c.id, i), std::nullopt, "worker:x");
          if (auto item = repo().ClaimWork("worker:" + std::to_string(w), 60000)) {
            repo().CompleteWork(item->capture.id, "worker:" + std::to_string(w));
          }
        } catch (const std::exception& e) {
          ++errors;
          ADD_FAILURE() << e.what();
        }
      }
    });
  }
  std::thread reader([&] {
    while (!done) {
      try {
        repo().TimeSeries({"P001", std::string("scalp"), {}, "pasi_site", 0, kMaxTimeMs});
        repo().TimeSeries({"P002", {}, {}, "pasi_site", 0, kMaxTimeMs});
      } catch (const std::exception& e) {
        ++errors;
        ADD_FAILURE() << e.what();
      }
    }
  });
  for (auto& t : threads) t.join();
  done = true;
  reader.join();
  EXPECT_EQ(errors.load(), 0);
  const size_t total = repo().TimeSeries({"P001", {}, {}, "", 0, kMaxTimeMs}).size() +
                       repo().TimeSeries({"P002", {}, {}, "", 0, kMaxTimeMs}).size();
  EXPECT_EQ(total, static_cast<size_t>(kWriters * kPerWriter));
  const QueueCounts counts = repo().CountQueue();
  EXPECT_EQ(counts.queued + counts.processing + counts.processed + counts.failed,
            kWriters * kPerWriter);
  EXPECT_EQ(counts.processing, 0);
  EXPECT_TRUE(store_->Check(true).ok());
}

INSTANTIATE_TEST_SUITE_P(Backends, StoreTest,
                         ::testing::Values(Backend::kMemory, Backend::kFiles, Backend::kPostgres),
                         testing::BackendParamName());

// ---- data-directory specifics ------------------------------------------------------------------

TEST(DataDir, LayoutLockAndRestartKeepsEverything) {
  TempDir dir("datadir");
  std::int64_t id = 0;
  {
    auto store = Store::OpenDataDir(dir.str());
    PatientInfo p;
    p.id = "P001";
    store->repository().CreatePatient(p, kActor);
    id = store->IngestCapture(MakeCapture("P001", "scalp", 1), Bytes(1), kActor).capture.id;
    EXPECT_EQ(CodeOf([&] { Store::OpenDataDir(dir.str()); }), ErrorCode::kConflict);
    auto item = store->repository().ClaimWork("worker:1", 600000);
    ASSERT_TRUE(item);
  }
  const std::string sha = Sha256Hex(Bytes(1));
  EXPECT_TRUE(std::filesystem::exists(dir.path() / "skintrack.db"));
  EXPECT_TRUE(
      std::filesystem::exists(dir.path() / "blobs" / sha.substr(0, 2) / sha.substr(2, 2) / sha));
  auto store = Store::OpenDataDir(dir.str());
  // The capture being processed when the process stopped goes back to the queue.
  EXPECT_EQ(store->last_recovery().requeued_captures, 1);
  EXPECT_EQ(store->repository().FindCapture(id)->status, CaptureStatus::kQueued);
  EXPECT_EQ(store->ReadBlob(sha), Bytes(1));
  EXPECT_TRUE(store->Check(true).ok());
}

TEST(DataDir, StartUpRemovesUncommittedBlobsAndTempFiles) {
  TempDir dir("recover");
  std::string orphan;
  {
    auto store = Store::OpenDataDir(dir.str());
    // A put whose row never came (the process died in between).
    orphan = store->blobs().Put(Bytes(5)).ref.sha256;
    EXPECT_TRUE(store->blobs().Exists(orphan));
  }
  // A partial temp file from a put that died while writing.
  std::ofstream(dir.path() / "blobs" / "tmp" / (Sha256Hex("x") + ".1-1.put")) << "partial";
  std::ofstream(dir.path() / "blobs" / "tmp" / "garbage") << "?";
  auto store = Store::OpenDataDir(dir.str());
  EXPECT_EQ(store->last_recovery().pending_markers, 3);
  EXPECT_EQ(store->last_recovery().orphan_blobs_removed, 1);
  EXPECT_FALSE(store->blobs().Exists(orphan));
  EXPECT_TRUE(std::filesystem::is_empty(dir.path() / "blobs" / "tmp"));
  const CheckReport check = store->Check(true);
  EXPECT_TRUE(check.ok());
  EXPECT_EQ(check.stored_blobs, 0);
}

TEST(DataDir, CheckReportsMissingCorruptAndStrayBlobs) {
  TempDir dir("check");
  std::string sha;
  {
    auto store = Store::OpenDataDir(dir.str());
    PatientInfo p;
    p.id = "P001";
    store->repository().CreatePatient(p, kActor);
    sha =
        store->IngestCapture(MakeCapture("P001", "scalp", 1), Bytes(1), kActor).capture.blob.sha256;
    const std::string sha2 =
        store->IngestCapture(MakeCapture("P001", "scalp", 2), Bytes(2), kActor).capture.blob.sha256;
    std::filesystem::remove(dir.path() / "blobs" / sha2.substr(0, 2) / sha2.substr(2, 2) / sha2);
  }
  const auto path = dir.path() / "blobs" / sha.substr(0, 2) / sha.substr(2, 2) / sha;
  std::filesystem::permissions(path, std::filesystem::perms::owner_write,
                               std::filesystem::perm_options::add);
  {
    std::fstream f(path, std::ios::in | std::ios::out | std::ios::binary);
    f.seekp(10);
    f.put('X');
  }
  const std::string stray = Sha256Hex("stray");
  std::filesystem::create_directories(dir.path() / "blobs" / stray.substr(0, 2) /
                                      stray.substr(2, 2));
  std::ofstream(dir.path() / "blobs" / stray.substr(0, 2) / stray.substr(2, 2) / stray) << "stray";
  auto store = Store::OpenDataDir(dir.str());
  const CheckReport check = store->Check(true);
  EXPECT_FALSE(check.ok());
  EXPECT_EQ(check.integrity, "ok");
  EXPECT_EQ(check.missing.size(), 1u);
  EXPECT_EQ(check.corrupt, std::vector<std::string>{sha});
  EXPECT_EQ(check.unreferenced, std::vector<std::string>{stray});
}

TEST(DataDir, RepositoryOnlyOpenWorksBesideTheOwningStore) {
  TempDir dir("beside");
  EXPECT_EQ(CodeOf([&] { OpenDataDirRepository(dir.str()); }), ErrorCode::kNotFound);
  auto store = Store::OpenDataDir(dir.str());
  auto tool = OpenDataDirRepository(dir.str());  // e.g. `skintrack token create` during serve
  PatientInfo p;
  p.id = "P001";
  tool->CreatePatient(p, "cli");
  const std::int64_t id =
      store->IngestCapture(MakeCapture("P001", "scalp", 1), Bytes(1), kActor).capture.id;
  EXPECT_EQ(tool->FindCapture(id)->blob.sha256, Sha256Hex(Bytes(1)));
  NewToken t;
  t.role = Role::kClinician;
  const CreatedToken token = tool->CreateToken(t, "cli");
  EXPECT_TRUE(store->repository().VerifyToken(token.token));
}

TEST(DataDir, RefusesAnUnusableDirectory) {
  TempDir dir("unusable");
  std::ofstream(dir.path() / "file") << "x";
  EXPECT_EQ(CodeOf([&] { Store::OpenDataDir((dir.path() / "file").string()); }), ErrorCode::kIo);
  EXPECT_EQ(CodeOf([&] { Store::OpenDataDir(""); }), ErrorCode::kInvalidArgument);
}

}  // namespace
}  // namespace skintrack::storage
