// Capture intake limits through the router, without sockets (docs/service.md, "Capture intake
// limits"): the captured_at window, retries answered from the upload's hash (409 when the facts
// differ), the decode limit and the bounded number of ?wait=true waiters.
#include <gtest/gtest.h>

#include <chrono>
#include <future>
#include <nlohmann/json.hpp>
#include <opencv2/imgcodecs.hpp>
#include <opencv2/imgproc.hpp>
#include <thread>

#include "skintrack/pipeline/pseudonym.h"
#include "skintrack/pipeline/time_format.h"
#include "skintrack/pipeline/workers.h"
#include "skintrack/service/service.h"
#include "skintrack/storage/sha256.h"
#include "skintrack/storage/store.h"

namespace skintrack::service {
namespace {

using nlohmann::json;
using Clock = std::chrono::steady_clock;

const pipeline::PseudonymKey kKey{pipeline::PseudonymKey::Scheme::kHmacSha256, "test-key"};

// A distinct small JPEG per seed.
std::string Jpeg(int seed) {
  cv::Mat img(96, 128, CV_8UC3, cv::Scalar(90, 140, 200));
  cv::circle(img, {20 + seed % 80, 48}, 12 + seed % 7, cv::Scalar(60, 60, 220), cv::FILLED);
  std::vector<unsigned char> b;
  cv::imencode(".jpg", img, b, {cv::IMWRITE_JPEG_QUALITY, 90});
  return std::string(b.begin(), b.end());
}

class CaptureIntakeTest : public ::testing::Test {
 protected:
  void SetUp() override {
    store_ = storage::Store::OpenInMemory();
    context_.reset(new ApiContext{*store_, nullptr, &metrics_, IntakeLimits{}, 1.0, kKey,
                                  pipeline::PipelineOptions{}});
    AddApiRoutes(router_, *context_);
    storage::NewToken t;
    t.role = storage::Role::kAdmin;
    admin_ = store_->repository().CreateToken(t, "test").token;
    storage::PatientInfo p;
    p.id = "P1";
    store_->repository().CreatePatient(p, "test");
  }

  HttpResponse Push(const std::string& bytes, const std::string& query,
                    const std::string& site = "left-forearm") {
    HttpRequest r;
    r.method = "POST";
    r.path = "/v1/patients/P1/sites/" + site + "/captures";
    r.query = ParseQuery(query);
    r.headers["authorization"] = "Bearer " + admin_;
    r.headers["content-type"] = "image/jpeg";
    r.body = bytes;
    return router_.Dispatch(r);
  }

  static json Body(const HttpResponse& r) { return json::parse(r.body); }
  static std::string Header(const HttpResponse& r, const std::string& name) {
    for (const auto& [k, v] : r.headers) {
      if (k == name) return v;
    }
    return "";
  }
  std::int64_t Stored() {
    const storage::QueueCounts q = store_->repository().CountQueue();
    return q.queued + q.processing + q.processed + q.failed;
  }

  std::unique_ptr<storage::Store> store_;
  Metrics metrics_;
  std::unique_ptr<ApiContext> context_;
  Router router_;
  std::string admin_;
};

const char kQuery[] = "condition=psoriasis&captured_at=2026-01-01T09:00:00Z";

// A device with an unset clock (1970) made its capture the site's baseline; 2999 and 9999 were
// accepted too.
TEST_F(CaptureIntakeTest, CapturedAtOutsideTheWindowIsRefusedAndNothingStored) {
  const std::string tomorrow_plus =
      pipeline::FormatRfc3339(storage::NowMs() + std::int64_t{25} * 3600 * 1000);
  for (const std::string& when :
       {std::string("1970-01-01T00:00:00Z"), std::string("1999-12-31T23:59:59Z"),
        std::string("2999-01-01T00:00:00Z"), std::string("9999-12-31T23:59:59Z"), tomorrow_plus}) {
    SCOPED_TRACE(when);
    const HttpResponse r = Push(Jpeg(1), "condition=psoriasis&captured_at=" + when);
    ASSERT_EQ(r.status, 400) << r.body;
    EXPECT_EQ(Body(r)["error"]["code"], "invalid_argument");
    EXPECT_NE(Body(r)["error"]["message"].get<std::string>().find("captured_at"),
              std::string::npos);
  }
  EXPECT_EQ(Stored(), 0);
  const std::string in_an_hour =
      pipeline::FormatRfc3339(storage::NowMs() + std::int64_t{3600} * 1000);
  EXPECT_EQ(Push(Jpeg(1), "condition=psoriasis&captured_at=" + in_an_hour).status, 201);
  // The bounds are configuration.
  context_->captured_at.earliest_ms = pipeline::ParseRfc3339("2025-01-01T00:00:00Z");
  EXPECT_EQ(Push(Jpeg(2), "condition=psoriasis&captured_at=2024-12-31T00:00:00Z").status, 400);
  EXPECT_EQ(Stored(), 1);
}

// A retry of the same bytes with other facts used to answer 200 and keep the old values silently.
TEST_F(CaptureIntakeTest, ARetryWithOtherFactsIsAConflictNamingTheField) {
  const std::string bytes = Jpeg(3);
  const HttpResponse first = Push(bytes, std::string(kQuery) + "&visit=week-0");
  ASSERT_EQ(first.status, 201) << first.body;
  const std::int64_t id = Body(first)["id"];
  const HttpResponse same = Push(bytes, std::string(kQuery) + "&visit=week-0");
  EXPECT_EQ(same.status, 200);
  EXPECT_EQ(Body(same)["id"], id);
  struct Case {
    std::string query, site, field;
  };
  for (const Case& c : {
           Case{"condition=psoriasis&captured_at=2026-01-02T09:00:00Z&visit=week-0", "left-forearm",
                "captured_at"},
           Case{"condition=vitiligo&captured_at=2026-01-01T09:00:00Z&visit=week-0", "left-forearm",
                "condition"},
           Case{std::string(kQuery) + "&visit=week-8", "left-forearm", "visit"},
           Case{std::string(kQuery), "left-forearm", "visit"},
           Case{std::string(kQuery) + "&visit=week-0", "right-forearm", "site"},
       }) {
    SCOPED_TRACE(c.query + " at " + c.site);
    const HttpResponse r = Push(bytes, c.query, c.site);
    ASSERT_EQ(r.status, 409) << r.body;
    const json e = Body(r)["error"];
    EXPECT_EQ(e["code"], "conflict");
    EXPECT_EQ(e["field"], c.field);
    EXPECT_EQ(e["capture_id"], id);
    EXPECT_NE(e["message"].get<std::string>().find(c.field), std::string::npos);
  }
  EXPECT_EQ(Stored(), 1);
  const auto stored = store_->repository().FindCapture(id);
  ASSERT_TRUE(stored);
  EXPECT_EQ(stored->captured_at, pipeline::ParseRfc3339("2026-01-01T09:00:00Z"));
}

// Duplicates used to be decoded again before the blob hash could be compared (2.2 s of CPU per
// retry of a 7700 x 7700 PNG). With every decoder taken, a retry still answers; new bytes get
// 503 + Retry-After and nothing is stored.
TEST_F(CaptureIntakeTest, RetriesAreAnsweredFromTheUploadHashWithoutDecoding) {
  const std::string bytes = Jpeg(4);
  const HttpResponse first = Push(bytes, kQuery);
  ASSERT_EQ(first.status, 201) << first.body;
  const auto by_upload = store_->repository().FindCaptureByUpload("P1", storage::Sha256Hex(bytes));
  ASSERT_TRUE(by_upload);
  EXPECT_EQ(by_upload->id, Body(first)["id"].get<std::int64_t>());

  context_->decode_wait_s = 0;
  const int slots = context_->decodes->capacity();
  for (int i = 0; i < slots; ++i) ASSERT_TRUE(context_->decodes->TryAcquire(0));
  const HttpResponse retry = Push(bytes, kQuery);
  EXPECT_EQ(retry.status, 200) << retry.body;
  EXPECT_EQ(Body(retry)["id"], Body(first)["id"]);
  const HttpResponse busy = Push(Jpeg(5), kQuery);
  EXPECT_EQ(busy.status, 503) << busy.body;
  EXPECT_EQ(Body(busy)["error"]["code"], "busy");
  EXPECT_EQ(Header(busy, "Retry-After"), "1");
  EXPECT_EQ(Stored(), 1);
  // Bad bytes are refused by the header checks without waiting for a decoder.
  EXPECT_EQ(Push("not a jpeg", kQuery).status, 415);

  // A decoder freed within the bounded wait lets the push through.
  context_->decode_wait_s = 5;
  auto later = std::async(std::launch::async, [&] {
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
    context_->decodes->Release();
  });
  EXPECT_EQ(Push(Jpeg(5), kQuery).status, 201);
  later.get();
  for (int i = 1; i < slots; ++i) context_->decodes->Release();
  EXPECT_EQ(context_->decodes->in_use(), 0);
  EXPECT_EQ(Stored(), 2);
}

// Each ?wait=true push held a handler thread for up to 120 s; 4 of them took every thread and
// /healthz timed out. Beyond the waiter limit a push is answered at once (the capture stored).
TEST_F(CaptureIntakeTest, WaitersBeyondTheLimitAreAnsweredAtOnce) {
  pipeline::WorkerPool idle(*store_, pipeline::PipelineOptions{});  // never started: no progress
  context_->workers = &idle;
  context_->max_wait_s = 3;
  context_->waiters = std::make_shared<ConcurrencyLimit>(2);
  std::vector<std::future<HttpResponse>> waiting(2);
  for (int i = 0; i < 2; ++i) {
    waiting[i] = std::async(std::launch::async, [this, i] {
      return Push(Jpeg(10 + i), std::string(kQuery) + "&wait=true");
    });
  }
  const auto deadline = Clock::now() + std::chrono::seconds(2);
  while (context_->waiters->in_use() < 2 && Clock::now() < deadline) {
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
  }
  ASSERT_EQ(context_->waiters->in_use(), 2);
  const auto t0 = Clock::now();
  const HttpResponse third = Push(Jpeg(12), std::string(kQuery) + "&wait=true");
  const double seconds = std::chrono::duration<double>(Clock::now() - t0).count();
  EXPECT_LT(seconds, 1.0);
  ASSERT_EQ(third.status, 201) << third.body;
  EXPECT_EQ(Header(third, "Skintrack-Wait"), "skipped");
  EXPECT_EQ(Body(third)["status"], "queued");
  EXPECT_TRUE(store_->repository().FindCapture(Body(third)["id"].get<std::int64_t>()));
  for (auto& w : waiting) {
    const HttpResponse r = w.get();
    EXPECT_EQ(r.status, 201);
    EXPECT_EQ(Header(r, "Skintrack-Wait"), "");  // waited (until max_wait_s)
  }
  EXPECT_EQ(context_->waiters->in_use(), 0);
  EXPECT_EQ(Stored(), 3);
}

TEST(ConcurrencyLimit, CountsSlotsAndRefusesAZeroCapacity) {
  EXPECT_THROW(ConcurrencyLimit(0), Error);
  ConcurrencyLimit limit(2);
  {
    const ConcurrencySlot a(limit, 0), b(limit, 0), c(limit, 0.05);
    EXPECT_TRUE(a.held());
    EXPECT_TRUE(b.held());
    EXPECT_FALSE(c.held());
    EXPECT_EQ(limit.in_use(), 2);
  }
  EXPECT_EQ(limit.in_use(), 0);
}

}  // namespace
}  // namespace skintrack::service
