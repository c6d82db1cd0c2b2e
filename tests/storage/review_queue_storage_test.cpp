// Repository::ReviewQueue on every backend (../support/storage_backends.h): the captures with an
// annotation whose latest version is submitted, the one waiting longest first by its submission
// time, then by insertion order; drafts and reviewed versions are not queued. The route on top of
// it is tested in tests/service/review_queue_api_test.cpp.
#include <gtest/gtest.h>

#include <atomic>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "../support/storage_backends.h"
#include "skintrack/core/error.h"
#include "skintrack/storage/store.h"

namespace skintrack::storage {
namespace {

using annotation::AnnotationState;
using annotation::ReviewDecision;
using skintrack::testing::Backend;
using Ids = std::vector<std::int64_t>;

constexpr char kAnn1[] = "token:aaaaaaaaaaaaaaaa";
constexpr char kAnn2[] = "token:bbbbbbbbbbbbbbbb";
constexpr char kReviewer[] = "token:cccccccccccccccc";

class ReviewQueueStorage : public ::testing::TestWithParam<Backend> {
 protected:
  void SetUp() override {
    if (!backend_.Prepare()) GTEST_SKIP() << backend_.SkipReason();
    StoreOptions options;
    options.repository.clock = [this] { return now_.load(); };
    store_ = backend_.Open(options);
    PatientInfo info;
    info.id = "P001";
    store_->repository().CreatePatient(info, "test");
  }
  Repository& repo() { return store_->repository(); }

  std::int64_t AddCapture(int seed) {
    NewCapture c;
    c.patient_id = "P001";
    c.site = "scalp";
    c.captured_at = seed;
    c.width = 64;
    c.height = 48;
    return store_->IngestCapture(c, "pixels-" + std::to_string(seed), "test").capture.id;
  }
  // Appends a version at the clock's current time (callers move the clock themselves, so two
  // versions can share a time).
  void Append(std::int64_t capture, const std::string& author, AnnotationState state, int expected,
              std::optional<ReviewDecision> decision = std::nullopt) {
    NewAnnotationVersion v;
    v.capture_id = capture;
    v.author = author;
    v.state = state;
    v.decision = decision;
    v.expected_version = expected;
    const std::string actor = state == AnnotationState::kReviewed ? kReviewer : author;
    store_->AppendAnnotationVersion(v, R"({"labels":{}})", actor);
  }
  void Tick() { now_ += 1000; }

  testing::BackendFactory backend_{GetParam(), "review-queue"};
  std::atomic<TimeMs> now_{1700000000000};
  std::unique_ptr<Store> store_;
};

TEST_P(ReviewQueueStorage, OldestSubmissionFirstAndOnlyWhatWaits) {
  const std::int64_t a = AddCapture(1);
  const std::int64_t b = AddCapture(2);
  const std::int64_t c = AddCapture(3);
  const std::int64_t d = AddCapture(4);
  EXPECT_TRUE(repo().ReviewQueue(10).empty());

  Append(d, kAnn1, AnnotationState::kDraft, 0);  // a draft waits for its author
  Tick();
  Append(c, kAnn1, AnnotationState::kSubmitted, 0);  // c waits longest, whatever the ids
  Tick();
  Append(a, kAnn1, AnnotationState::kSubmitted, 0);
  Tick();
  Append(b, kAnn1, AnnotationState::kSubmitted, 0);
  Append(a, kAnn2, AnnotationState::kSubmitted, 0);  // a second one on a: a keeps its place
  EXPECT_EQ(repo().ReviewQueue(10), (Ids{c, a, b}));
  EXPECT_EQ(repo().ReviewQueue(2), (Ids{c, a}));

  // c reviewed: out; a half reviewed: still waiting, now since its later submission.
  Tick();
  Append(c, kAnn1, AnnotationState::kReviewed, 1, ReviewDecision::kAccepted);
  Append(a, kAnn1, AnnotationState::kReviewed, 1, ReviewDecision::kCorrected);
  EXPECT_EQ(repo().ReviewQueue(10), (Ids{b, a})) << "a's remaining submission shares b's time "
                                                    "and came after it";

  // Rejected, then submitted again: back in the queue, from the new submission's time.
  Tick();
  Append(b, kAnn1, AnnotationState::kReviewed, 1, ReviewDecision::kRejected);
  EXPECT_EQ(repo().ReviewQueue(10), (Ids{a}));
  Tick();
  Append(b, kAnn1, AnnotationState::kSubmitted, 2);
  Append(d, kAnn1, AnnotationState::kSubmitted, 1);
  EXPECT_EQ(repo().ReviewQueue(10), (Ids{a, b, d}));
}

TEST_P(ReviewQueueStorage, ALimitOutsideItsRangeIsRefused) {
  for (const int limit : {0, -1, 10001}) {
    try {
      repo().ReviewQueue(limit);
      ADD_FAILURE() << "limit " << limit << " accepted";
    } catch (const Error& e) {
      EXPECT_EQ(e.code(), ErrorCode::kInvalidArgument) << limit;
      EXPECT_NE(std::string(e.what()).find("review queue"), std::string::npos) << e.what();
    }
  }
  EXPECT_TRUE(repo().ReviewQueue(10000).empty());
}

INSTANTIATE_TEST_SUITE_P(Backends, ReviewQueueStorage,
                         ::testing::Values(Backend::kMemory, Backend::kFiles, Backend::kPostgres),
                         testing::BackendParamName());

}  // namespace
}  // namespace skintrack::storage
