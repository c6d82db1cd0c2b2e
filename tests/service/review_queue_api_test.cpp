// GET /v1/review-queue (issue 14 follow-up): the captures whose annotations wait for a clinician,
// the one waiting longest first, with how many are submitted and reviewed. The router without
// sockets on an in-memory store (annotation_api_fixture.h).
#include "annotation_api_fixture.h"

namespace skintrack::service {
namespace {

using nlohmann::json;

class ReviewQueueApiTest : public AnnotationApiTest {
 protected:
  // Capture ids of the queue, in its order, as `who` reads it.
  std::vector<std::int64_t> QueueIds(const Caller& who, const std::string& query = "") {
    const HttpResponse r = Call("GET", "/v1/review-queue" + query, who);
    EXPECT_EQ(r.status, 200) << r.body;
    const json body = Body(r);  // kept: the loop must not run over a temporary's member
    std::vector<std::int64_t> ids;
    for (const json& c : body["captures"]) ids.push_back(c["id"]);
    return ids;
  }

  // The author's annotation, saved then submitted; returns the annotation id.
  std::int64_t Submit(const Caller& who, std::int64_t capture) {
    const json doc = PlaqueDocument(RectMask({40, 40, 80, 60}));
    EXPECT_EQ(PutMine(who, capture, "save", 0, doc).status, 201);
    const HttpResponse r = PutMine(who, capture, "submit", 1, doc);
    EXPECT_EQ(r.status, 201) << r.body;
    return Body(r)["annotation_id"];
  }

  void Accept(std::int64_t annotation_id) {
    const HttpResponse r =
        Call("POST", "/v1/annotations/" + std::to_string(annotation_id) + "/review", clinician_,
             json{{"decision", "accepted"}, {"expected_version", 2}});
    ASSERT_EQ(r.status, 201) << r.body;
  }
};

TEST_F(ReviewQueueApiTest, OldestSubmissionFirstWithCounts) {
  const std::int64_t first = PushCapture(11, "2026-01-01T00:00:00Z");
  const std::int64_t second = PushCapture(12, "2026-01-02T00:00:00Z");
  const std::int64_t drafted = PushCapture(13, "2026-01-03T00:00:00Z");
  for (const std::int64_t c : {first, second, drafted}) Assign(c, {ann_a_.id, ann_b_.id});
  EXPECT_TRUE(QueueIds(clinician_).empty());

  // The second capture's work is submitted first: it waits longest, whatever the capture ids.
  const std::int64_t a_on_second = Submit(ann_a_, second);
  const std::int64_t b_on_first = Submit(ann_b_, first);
  // A draft waits for its author, not for a clinician.
  ASSERT_EQ(PutMine(ann_a_, drafted, "save", 0, PlaqueDocument(RectMask({0, 0, 10, 10}))).status,
            201);
  EXPECT_EQ(QueueIds(clinician_), (std::vector<std::int64_t>{second, first}));
  EXPECT_EQ(QueueIds(admin_), (std::vector<std::int64_t>{second, first}));

  const json entry = Body(Call("GET", "/v1/review-queue", clinician_))["captures"][0];
  EXPECT_EQ(entry["id"], second);
  EXPECT_EQ(entry["patient"], "P1");
  EXPECT_EQ(entry["site"], "left-forearm");
  EXPECT_EQ(entry["status"], "processed");
  EXPECT_EQ(entry["review"]["submitted"], 1);
  EXPECT_EQ(entry["review"]["reviewed"], 0);
  // A clinician sees the submitted version only (another author's draft is not theirs to see).
  const json versions =
      Body(Call("GET", "/v1/annotations/" + std::to_string(a_on_second) + "/versions",
                clinician_))["versions"];
  ASSERT_EQ(versions.size(), 1u);
  const json& version = versions[0];
  EXPECT_EQ(entry["review"]["waiting_since"], version["created_at"]) << "the submission's time";

  // One of two reviewed: still waiting, with both counts; all reviewed: out of the queue.
  Submit(ann_b_, second);
  Accept(a_on_second);
  const json mixed = Body(Call("GET", "/v1/review-queue", clinician_))["captures"];
  ASSERT_EQ(mixed.size(), 2u);
  EXPECT_EQ(mixed[0]["id"], first) << "the second capture now waits since its later submission";
  EXPECT_EQ(mixed[1]["id"], second);
  EXPECT_EQ(mixed[1]["review"]["submitted"], 1);
  EXPECT_EQ(mixed[1]["review"]["reviewed"], 1);
  Accept(b_on_first);
  EXPECT_EQ(QueueIds(clinician_), (std::vector<std::int64_t>{second}));
}

TEST_F(ReviewQueueApiTest, LimitLikeTheAnnotationQueue) {
  std::vector<std::int64_t> submitted;
  for (std::uint64_t seed = 21; seed < 24; ++seed) {
    const std::int64_t c = PushCapture(seed, "2026-02-01T00:00:00Z");
    Assign(c, {ann_a_.id});
    Submit(ann_a_, c);
    submitted.push_back(c);
  }
  EXPECT_EQ(QueueIds(clinician_, "?limit=2"),
            (std::vector<std::int64_t>{submitted[0], submitted[1]}));
  EXPECT_EQ(QueueIds(clinician_), submitted) << "100 by default";
  for (const char* bad : {"?limit=0", "?limit=10001", "?limit=two", "?limit=-1"}) {
    const HttpResponse r = Call("GET", std::string("/v1/review-queue") + bad, clinician_);
    EXPECT_EQ(r.status, 400) << bad;
    EXPECT_NE(Message(r).find("limit"), std::string::npos) << r.body;
  }
}

TEST_F(ReviewQueueApiTest, ClinicianAndAdminOnly) {
  const std::int64_t c = PushCapture(31, "2026-03-01T00:00:00Z");
  Assign(c, {ann_a_.id});
  Submit(ann_a_, c);
  // An annotator would learn of other annotators' submitted work (blind annotation).
  for (const Caller* who : {&ann_a_, &coordinator_, &device_}) {
    EXPECT_EQ(Call("GET", "/v1/review-queue", *who).status, 403);
  }
  EXPECT_EQ(Call("GET", "/v1/review-queue", Caller{}).status, 401);
  EXPECT_EQ(QueueIds(admin_), std::vector<std::int64_t>{c});
}

}  // namespace
}  // namespace skintrack::service
