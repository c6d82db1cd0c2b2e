// ProcessCapture runs its stages partly in parallel and reuses what a site's baseline gives every
// follow-up (issue 15): the prepared baseline of the registration, the masks' measurements beside
// the registration, one warp of the masks for the change and the site area. None of that may
// change a result: these tests compare with the stages run one by one, from the stored inputs.
#include <gtest/gtest.h>

#include <memory>
#include <nlohmann/json.hpp>
#include <opencv2/imgproc.hpp>

#include "phantom_store.h"
#include "skintrack/pipeline/baseline.h"
#include "skintrack/registration/registration.h"

namespace skintrack::pipeline {
namespace {

using nlohmann::json;
using testing::AppendCorrectedMask;
using testing::DrainQueue;
using testing::SmallSeries;
using testing::StoreSeries;

// The registration of `follow_up` to `baseline` computed afresh from the stored photos and the
// latest stored masks, as ProcessCapture specifies it.
registration::RegistrationResult RegisterFromTheStore(storage::Store& store, std::int64_t baseline,
                                                      std::int64_t follow_up) {
  const auto b = store.repository().FindCapture(baseline);
  const auto f = store.repository().FindCapture(follow_up);
  registration::RegistrationOptions ro;
  ro.fixed_mask = *LatestMask(store, baseline, result::kSkinMask) &
                  ~*LatestMask(store, baseline, result::kLesionMask);
  ro.moving_mask = *LatestMask(store, follow_up, result::kSkinMask) &
                   ~*LatestMask(store, follow_up, result::kLesionMask);
  return registration::RegisterToBaseline(DecodeStoredImage(store, *b),
                                          DecodeStoredImage(store, *f), ro);
}

// Each follow-up's stored registration is the one recomputed from the store, bit for bit.
void ExpectStoredRegistrationsRecomputed(storage::Store& store, std::int64_t baseline,
                                         const std::vector<std::int64_t>& follow_ups,
                                         const std::string& when) {
  for (const std::int64_t id : follow_ups) {
    const auto stored = StoredRegistration(store, *store.repository().FindCapture(id));
    ASSERT_TRUE(stored.has_value()) << when;
    EXPECT_EQ(stored->baseline_capture_id, baseline) << when;
    const cv::Matx23d fresh = RegisterFromTheStore(store, baseline, id).matrix;
    for (int i = 0; i < 6; ++i) {
      EXPECT_EQ(stored->result.matrix.val[i], fresh.val[i])
          << when << ", follow-up " << id << ", element " << i;
    }
  }
}

// A phantom series of one site, stored and processed as the workers would.
struct ProcessedSeries {
  std::unique_ptr<storage::Store> store = storage::Store::OpenInMemory();
  phantom::Series series;
  std::vector<std::int64_t> ids;
  PipelineOptions options;

  ProcessedSeries(std::uint64_t seed, int visits) : series(SmallSeries(seed, visits)) {
    ids = StoreSeries(*store, "P1", "left-forearm", series);
    EXPECT_EQ(DrainQueue(*store, options), visits);
  }
};

TEST(ProcessStages, RegistrationEqualsTheOneFromTheStoredPhotosAndMasksAfterACorrection) {
  ProcessedSeries p(41, 3);
  auto& store = p.store;
  const auto& s = p.series;
  const auto& ids = p.ids;
  const PipelineOptions& options = p.options;
  ExpectStoredRegistrationsRecomputed(*store, ids[0], {ids[1], ids[2]}, "first processing");
  // A corrected baseline mask changes the baseline's region of interest: the prepared baseline
  // kept for the first registrations must not be used again.
  cv::Mat corrected;
  cv::dilate(s.visits[0].lesion_mask, corrected,
             cv::getStructuringElement(cv::MORPH_ELLIPSE, {25, 25}));
  AppendCorrectedMask(*store, ids[0], corrected);
  ASSERT_EQ(OnCorrectedMask(*store, *store->repository().FindCapture(ids[0]), options, "c"), 2);
  ASSERT_EQ(DrainQueue(*store, options), 2);
  ExpectStoredRegistrationsRecomputed(*store, ids[0], {ids[1], ids[2]}, "after the correction");
}

TEST(ProcessStages, MasksAreStoredBeforeTheRegistrationAndScoresEqualARescore) {
  ProcessedSeries p(43, 2);
  auto& store = p.store;
  const auto& ids = p.ids;
  const PipelineOptions& options = p.options;
  const auto mask = LatestResult(*store, ids[1], result::kLesionMask);
  const auto skin = LatestResult(*store, ids[1], result::kSkinMask);
  const auto reg = LatestResult(*store, ids[1], result::kToBaseline);
  const auto change = LatestResult(*store, ids[1], result::kChange);
  ASSERT_TRUE(mask && skin && reg && change);
  EXPECT_LT(mask->id, skin->id);
  EXPECT_LT(skin->id, reg->id);
  EXPECT_LT(reg->id, change->id);
  // The measurements made beside the registration and the site area from the change's warp are
  // what the stage-by-stage path (a rescore) computes from the stored masks.
  const auto processed = LatestResult(*store, ids[1], result::kMeasurements);
  ASSERT_TRUE(processed.has_value());
  Rescore(*store, *store->repository().FindCapture(ids[1]), options, "test");
  const auto rescored = LatestResult(*store, ids[1], result::kMeasurements);
  ASSERT_TRUE(rescored.has_value());
  ASSERT_NE(processed->id, rescored->id);
  EXPECT_EQ(json::parse(processed->payload_json), json::parse(rescored->payload_json));
  EXPECT_TRUE(json::parse(processed->payload_json)["site_area"]["used"].get<bool>());
}

TEST(ProcessStages, BinaryMasksAreStoredAsOneBitPngsThatDecodeToTheSamePixels) {
  cv::Mat mask = cv::Mat::zeros(300, 400, CV_8UC1);
  cv::circle(mask, {200, 150}, 80, cv::Scalar(255), cv::FILLED);
  const std::string png = EncodePng(mask);
  ASSERT_GT(png.size(), 25u);
  EXPECT_EQ(static_cast<unsigned char>(png[24]), 1) << "IHDR bit depth";
  const std::vector<unsigned char> bytes(png.begin(), png.end());
  const cv::Mat back = cv::imdecode(bytes, cv::IMREAD_GRAYSCALE);
  ASSERT_EQ(back.size(), mask.size());
  EXPECT_EQ(cv::countNonZero(back != mask), 0);
  // A mask with other values (a soft edge) is not binary: 8 bits, lossless.
  mask.at<unsigned char>(10, 10) = 128;
  const std::string grey = EncodePng(mask);
  EXPECT_EQ(static_cast<unsigned char>(grey[24]), 8);
  const cv::Mat grey_back =
      cv::imdecode(std::vector<unsigned char>(grey.begin(), grey.end()), cv::IMREAD_GRAYSCALE);
  EXPECT_EQ(cv::countNonZero(grey_back != mask), 0);
}

}  // namespace
}  // namespace skintrack::pipeline
