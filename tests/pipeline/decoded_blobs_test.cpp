// The cache of decoded blobs (issue 15): bounded by bytes, least recently used out, and a caller
// never shares pixels with it; a mask written by the pipeline is read back from it unchanged.
#include "decoded_blobs.h"

#include <gtest/gtest.h>

#include <opencv2/imgcodecs.hpp>
#include <opencv2/imgproc.hpp>

#include "skintrack/pipeline/results.h"
#include "skintrack/storage/sha256.h"
#include "skintrack/storage/store.h"

namespace skintrack::pipeline {
namespace {

cv::Mat Gray(int value) { return cv::Mat(100, 100, CV_8U, cv::Scalar(value)); }  // 10,000 bytes

TEST(DecodedBlobs, KeepsTheRecentlyUsedWithinItsBudget) {
  detail::DecodedBlobs cache(25000);  // two 10,000-byte images, not three
  cache.Put("a", Gray(1));
  cache.Put("b", Gray(2));
  ASSERT_TRUE(cache.Get("a"));  // a is now the most recent
  cache.Put("c", Gray(3));      // b goes
  EXPECT_FALSE(cache.Get("b"));
  ASSERT_TRUE(cache.Get("a"));
  EXPECT_EQ(cache.Get("a")->at<unsigned char>(0, 0), 1);
  EXPECT_EQ(cache.Get("c")->at<unsigned char>(0, 0), 3);
  cache.Put("huge", cv::Mat(200, 200, CV_8U, cv::Scalar(9)));  // above the budget: not kept
  EXPECT_FALSE(cache.Get("huge"));
  EXPECT_TRUE(cache.Get("a"));
}

TEST(DecodedBlobs, ACallerThatDrawsOnItsCopyDoesNotChangeTheCachedPixels) {
  detail::DecodedBlobs cache(100000);
  cv::Mat original = Gray(5);
  cache.Put("k", original);
  original.setTo(0);  // the caller's own image after Put
  cv::Mat got = *cache.Get("k");
  got.setTo(7);  // and a copy it got
  EXPECT_EQ(cache.Get("k")->at<unsigned char>(50, 50), 5);
}

TEST(DecodedBlobs, AStoredMaskIsReadBackWithTheSamePixels) {
  auto store = storage::Store::OpenInMemory();
  storage::PatientInfo p;
  p.id = "P1";
  store->repository().CreatePatient(p, "test");
  storage::NewCapture c;
  c.patient_id = "P1";
  c.site = "scalp";
  c.width = c.height = 8;
  const auto capture = store->IngestCapture(c, "photo", "test").capture;
  cv::Mat mask(40, 60, CV_8U, cv::Scalar(0));
  cv::circle(mask, {30, 20}, 10, cv::Scalar(255), -1);
  ResultRecord r;
  r.kind = storage::ResultKind::kMask;
  r.name = result::kLesionMask;
  r.algorithm = "test-mask";
  r.blob = EncodePng(mask);
  Append(*store, capture.id, r, "worker:test");
  const auto back = LatestMask(*store, capture.id, result::kLesionMask);
  ASSERT_TRUE(back);
  EXPECT_EQ(cv::countNonZero(*back != mask), 0);
  // And the cache holds what the PNG decodes to.
  std::vector<unsigned char> bytes(r.blob->begin(), r.blob->end());
  EXPECT_EQ(cv::countNonZero(cv::imdecode(bytes, cv::IMREAD_GRAYSCALE) != *back), 0);
}

}  // namespace
}  // namespace skintrack::pipeline
