// Unit tests of RegisterToBaseline on small synthetic scenes with exact answers (seconds).
#include "skintrack/registration/registration.h"

#include <gtest/gtest.h>

#include <iostream>
#include <opencv2/imgproc.hpp>

#include "skintrack/core/error.h"
#include "synthetic.h"

namespace skintrack::registration {
namespace {

using skintrack::testing::MapError;
using skintrack::testing::RandomBlobs;
using skintrack::testing::RenderScene;
using skintrack::testing::Similarity;

const cv::Size kSize(320, 240);
const cv::Point2d kCentre(159.5, 119.5);

struct Pair {
  cv::Mat fixed, moving;
  cv::Matx23d truth;  // moving pixel -> fixed pixel
};

Pair MakePair(const cv::Matx23d& truth, std::uint64_t seed = 7, double gain = 1.0,
              double offset = 0.0) {
  const auto blobs = RandomBlobs(seed, 260, kSize);
  return {RenderScene(blobs, kSize, cv::Matx23d(1, 0, 0, 0, 1, 0)),
          RenderScene(blobs, kSize, truth, true, gain, offset), truth};
}

Pair ExpectRecovered(const cv::Matx23d& truth, TransformModel model, double mean_tol,
                     double max_tol, double gain = 1.0, double offset = 0.0) {
  Pair p = MakePair(truth, 7, gain, offset);
  RegistrationOptions options;
  options.model = model;
  const RegistrationResult r = RegisterToBaseline(p.fixed, p.moving, options);
  EXPECT_TRUE(r.converged) << r.stop_reason;
  const auto [mean, worst] = MapError(r.matrix, truth, kSize);
  EXPECT_LT(mean, mean_tol) << "matrix " << cv::Mat(r.matrix) << "\ntruth " << cv::Mat(truth)
                            << "\n"
                            << r.stop_reason << "\n"
                            << r.refinement_note;
  EXPECT_LT(worst, max_tol);
  EXPECT_GT(r.quality, 0.3);
  EXPECT_GT(r.overlap_fraction, 0.4);
  EXPECT_EQ(r.fixed_size, kSize);
  EXPECT_EQ(r.moving_size, kSize);
  return p;
}

TEST(Registration, MatrixConventionIsMovingToFixedPixels) {
  // Moving pixel (x, y) shows the scene point (x + 6.25, y - 4.5): the matrix must carry +6.25,
  // -4.5 in its last column (cv::warpAffine convention), not ITK's fixed -> moving inverse.
  const cv::Matx23d truth(1, 0, 6.25, 0, 1, -4.5);
  Pair p = ExpectRecovered(truth, TransformModel::kSimilarity, 0.06, 0.12);
  const RegistrationResult r = RegisterToBaseline(p.fixed, p.moving);
  EXPECT_NEAR(r.matrix(0, 2), 6.25, 0.05);
  EXPECT_NEAR(r.matrix(1, 2), -4.5, 0.05);
}

TEST(Registration, RecoversSimilarity) {
  ExpectRecovered(Similarity(17, 1.12, {9.5, -6.0}, kCentre), TransformModel::kSimilarity, 0.05,
                  0.12);
}

TEST(Registration, RecoversLargeRotationAndScale) {
  ExpectRecovered(Similarity(-45, 0.8, {-20, 12}, kCentre), TransformModel::kSimilarity, 0.08, 0.2);
}

TEST(Registration, RecoversUnderLightingChange) {
  ExpectRecovered(Similarity(8, 0.95, {4, 7}, kCentre), TransformModel::kSimilarity, 0.08, 0.2, 0.7,
                  25);
}

// A lighting ramp (gain 0.8 on the left to 1.2 on the right, in the moving view only) smears the
// joint histogram that mutual information relies on; the polish models it as a smooth gain.
TEST(Registration, PolishRecoversSubPixelUnderALightingRamp) {
  const cv::Matx23d truth = Similarity(-14, 1.07, {5.3, -3.7}, kCentre);
  Pair p = MakePair(truth, 11);
  cv::Mat ramp(kSize, CV_32FC3);
  for (int y = 0; y < kSize.height; ++y) {
    for (int x = 0; x < kSize.width; ++x) {
      const float g = 0.8f + 0.4f * static_cast<float>(x) / (kSize.width - 1);
      ramp.at<cv::Vec3f>(y, x) = cv::Vec3f(g, g, g);
    }
  }
  cv::Mat moving;
  p.moving.convertTo(moving, CV_32FC3);
  moving = moving.mul(ramp);
  moving.convertTo(p.moving, CV_8UC3);

  RegistrationOptions options;
  const RegistrationResult polished = RegisterToBaseline(p.fixed, p.moving, options);
  options.polish = false;
  const RegistrationResult plain = RegisterToBaseline(p.fixed, p.moving, options);
  ASSERT_TRUE(polished.converged) << polished.stop_reason;
  EXPECT_TRUE(polished.polished) << polished.polish_note;
  EXPECT_FALSE(plain.polished);
  const double with = MapError(polished.matrix, truth, kSize).first;
  const double without = MapError(plain.matrix, truth, kSize).first;
  std::cout << "mean error with polish " << with << " px, without " << without << " px\n";
  EXPECT_LT(with, 0.02) << polished.polish_note;
  EXPECT_LT(with, without);
}

TEST(Registration, RecoversRigid) {
  const RegistrationResult r = [] {
    Pair p =
        ExpectRecovered(Similarity(30, 1.0, {-7, 3}, kCentre), TransformModel::kRigid, 0.05, 0.12);
    RegistrationOptions o;
    o.model = TransformModel::kRigid;
    return RegisterToBaseline(p.fixed, p.moving, o);
  }();
  // A rigid result has no scale.
  EXPECT_NEAR(r.matrix(0, 0) * r.matrix(1, 1) - r.matrix(0, 1) * r.matrix(1, 0), 1.0, 1e-9);
  EXPECT_EQ(r.model, TransformModel::kRigid);
}

TEST(Registration, RecoversAffine) {
  const cv::Matx23d truth(1.06, 0.08, -5, -0.04, 0.93, 9);
  ExpectRecovered(truth, TransformModel::kAffine, 0.08, 0.2);
}

TEST(Registration, IntensityOnlyRecoversSmallShiftOfGaussianBlobs) {
  // Smooth blobs and no feature start: the intensity refinement alone (SimpleITK's test idea).
  const auto blobs = RandomBlobs(3, 40, kSize, 5, 14);
  const cv::Matx23d truth(1, 0, 3.3, 0, 1, -2.1);
  const cv::Mat fixed = RenderScene(blobs, kSize, cv::Matx23d(1, 0, 0, 0, 1, 0), false);
  const cv::Mat moving = RenderScene(blobs, kSize, truth, false);
  RegistrationOptions options;
  options.use_features = false;
  options.model = TransformModel::kRigid;
  const RegistrationResult r = RegisterToBaseline(fixed, moving, options);
  EXPECT_TRUE(r.converged) << r.stop_reason;
  EXPECT_TRUE(r.refined) << r.refinement_note;
  EXPECT_LT(MapError(r.matrix, truth, kSize).first, 0.05)
      << cv::Mat(r.matrix) << "\n"
      << r.stop_reason << " " << r.iterations << " " << r.refinement_note;
}

TEST(Registration, UnrelatedPairIsNotConverged) {
  const cv::Mat a = RenderScene(RandomBlobs(11, 260, kSize), kSize, cv::Matx23d(1, 0, 0, 0, 1, 0));
  const cv::Mat b = RenderScene(RandomBlobs(12, 260, kSize), kSize, cv::Matx23d(1, 0, 0, 0, 1, 0));
  const RegistrationResult r = RegisterToBaseline(a, b);
  EXPECT_FALSE(r.converged) << "quality " << r.quality << ": " << r.stop_reason;
  EXPECT_FALSE(r.stop_reason.empty());
  EXPECT_LT(r.quality, RegistrationOptions{}.min_quality);
}

TEST(Registration, SameResultTwiceForASeed) {
  // Both with the feature start and with the ITK stage alone: ITK's threaded metric reductions
  // are order-dependent unless the metric runs as one work unit (threads = 1, the default).
  const Pair p = MakePair(Similarity(12, 1.05, {3, -2}, kCentre), 7, 0.9, 10);
  for (bool features : {true, false}) {
    RegistrationOptions options;
    options.seed = 5;
    options.use_features = features;
    const RegistrationResult a = RegisterToBaseline(p.fixed, p.moving, options);
    const RegistrationResult b = RegisterToBaseline(p.fixed, p.moving, options);
    for (int i = 0; i < 6; ++i) EXPECT_EQ(a.matrix.val[i], b.matrix.val[i]) << i << " " << features;
    EXPECT_EQ(a.quality, b.quality);
    EXPECT_EQ(a.iterations, b.iterations);
    EXPECT_EQ(a.feature_inliers, b.feature_inliers);
  }
}

// The pipeline prepares a site's baseline once for all its follow-ups: registering with the
// prepared baseline must give exactly what the images give, with and without masks, with and
// without the feature start, for two follow-ups in turn (nothing of one stays in the other).
TEST(Registration, PreparedBaselineGivesTheSameResultBitForBit) {
  const Pair a = MakePair(Similarity(12, 1.05, {3, -2}, kCentre), 7, 0.9, 10);
  const Pair b = MakePair(Similarity(-20, 0.95, {-4, 6}, kCentre), 7, 1.1, -5);
  cv::Mat fixed_mask(kSize, CV_8UC1, cv::Scalar(255));
  cv::rectangle(fixed_mask, cv::Rect(40, 30, 60, 50), cv::Scalar(0), cv::FILLED);
  cv::Mat moving_mask(kSize, CV_8UC1, cv::Scalar(255));
  cv::circle(moving_mask, {220, 160}, 30, cv::Scalar(0), cv::FILLED);
  for (bool masked : {false, true}) {
    for (bool features : {true, false}) {
      RegistrationOptions options;
      options.use_features = features;
      if (masked) options.fixed_mask = fixed_mask;
      const auto prepared = PrepareBaseline(a.fixed, options);
      EXPECT_EQ(PreparedSize(*prepared), kSize);
      EXPECT_GT(PreparedBytes(*prepared), kSize.area() * sizeof(float) / 2);
      for (const Pair* p : {&a, &b}) {
        RegistrationOptions plain = options;
        if (masked) plain.moving_mask = moving_mask;
        RegistrationOptions with_prepared = plain;
        with_prepared.fixed_mask = cv::Mat();
        const RegistrationResult x = RegisterToBaseline(a.fixed, p->moving, plain);
        const RegistrationResult y = RegisterToBaseline(*prepared, p->moving, with_prepared);
        const RegistrationResult z =
            RegisterToBaseline(*prepared, *PrepareCapture(p->moving, with_prepared), with_prepared);
        const std::string what =
            "masked " + std::to_string(masked) + " features " + std::to_string(features);
        for (const RegistrationResult* other : {&y, &z}) {
          for (int i = 0; i < 6; ++i) EXPECT_EQ(x.matrix.val[i], other->matrix.val[i]) << what;
          EXPECT_EQ(x.quality, other->quality) << what;
          EXPECT_EQ(x.iterations, other->iterations) << what;
          EXPECT_EQ(x.feature_inliers, other->feature_inliers) << what;
          EXPECT_EQ(x.converged, other->converged) << what;
          EXPECT_EQ(x.fixed_size, other->fixed_size) << what;
          EXPECT_EQ(x.moving_size, other->moving_size) << what;
        }
      }
    }
  }
}

// A prepared capture detects its features without the moving mask and filters them by it; that
// equals detecting within the mask only because OpenCV's SIFT keeps its 3000 best before it
// applies a mask. A fine texture gives more candidates than that, so the cut is exercised.
TEST(Registration, PreparedCaptureFeaturesEqualDetectionWithinTheMask) {
  const cv::Size size(800, 600);
  cv::Mat texture(size, CV_8UC1);
  cv::RNG rng(3);
  rng.fill(texture, cv::RNG::UNIFORM, 0, 255);
  cv::GaussianBlur(texture, texture, cv::Size(0, 0), 1.2);
  cv::Mat fixed, moving;
  cv::cvtColor(texture, fixed, cv::COLOR_GRAY2BGR);
  cv::warpAffine(fixed, moving, Similarity(4, 1.02, {6, -4}, {399.5, 299.5}), size,
                 cv::INTER_LINEAR, cv::BORDER_REFLECT);
  RegistrationOptions options;
  options.moving_mask = cv::Mat(size, CV_8UC1, cv::Scalar(255));
  cv::circle(options.moving_mask, {300, 300}, 180, cv::Scalar(0), cv::FILLED);
  const RegistrationResult x = RegisterToBaseline(fixed, moving, options);
  const RegistrationResult y = RegisterToBaseline(*PrepareBaseline(fixed, options),
                                                  *PrepareCapture(moving, options), options);
  EXPECT_GT(x.feature_matches, 100);
  EXPECT_EQ(x.feature_matches, y.feature_matches);
  EXPECT_EQ(x.feature_inliers, y.feature_inliers);
  for (int i = 0; i < 6; ++i) EXPECT_EQ(x.matrix.val[i], y.matrix.val[i]) << i;
  EXPECT_EQ(x.quality, y.quality);
}

TEST(Registration, PreparedBaselineRefusesOptionsItWasNotPreparedWith) {
  const Pair p = MakePair(Similarity(5, 1.0, {2, 1}, kCentre));
  const auto prepared = PrepareBaseline(p.fixed);
  RegistrationOptions other;
  other.working_long_side = 128;
  EXPECT_THROW(RegisterToBaseline(*prepared, p.moving, other), Error);
  RegistrationOptions with_mask;
  with_mask.fixed_mask = cv::Mat(kSize, CV_8UC1, cv::Scalar(255));
  EXPECT_THROW(RegisterToBaseline(*prepared, p.moving, with_mask), Error);
  cv::Mat grey;
  cv::cvtColor(p.moving, grey, cv::COLOR_BGR2GRAY);
  EXPECT_THROW(RegisterToBaseline(*prepared, grey), Error);
  EXPECT_THROW(RegisterToBaseline(*prepared, *PrepareCapture(grey)), Error);
  EXPECT_THROW(RegisterToBaseline(*prepared, *PrepareCapture(p.moving, other)), Error);
  RegistrationOptions wrong_mask;
  wrong_mask.moving_mask = cv::Mat(10, 10, CV_8UC1, cv::Scalar(255));
  EXPECT_THROW(RegisterToBaseline(*prepared, *PrepareCapture(p.moving), wrong_mask), Error);
  EXPECT_THROW(PrepareBaseline(cv::Mat()), Error);
  EXPECT_THROW(PrepareCapture(cv::Mat()), Error);
}

TEST(Registration, MasksWarpConsistentlyWithImages) {
  const Pair p = MakePair(Similarity(25, 1.1, {6, -3}, kCentre));
  const RegistrationResult r = RegisterToBaseline(p.fixed, p.moving);
  ASSERT_TRUE(r.converged) << r.stop_reason;
  cv::Mat grey, mask;
  cv::cvtColor(p.moving, grey, cv::COLOR_BGR2GRAY);
  cv::threshold(grey, mask, 150, 255, cv::THRESH_BINARY);
  const cv::Mat warped_mask = WarpMaskToBaseline(mask, r);
  ASSERT_EQ(warped_mask.size(), kSize);
  ASSERT_EQ(warped_mask.type(), CV_8UC1);
  // Nearest neighbour: no new label values.
  cv::Mat other = (warped_mask != 0) & (warped_mask != 255);
  EXPECT_EQ(cv::countNonZero(other), 0);
  // The warped mask marks the same pixels as thresholding the warped image, and (the alignment
  // being right) as thresholding the baseline itself, except along edges.
  cv::Mat warped_grey, fixed_grey, from_warped, from_fixed;
  cv::cvtColor(WarpImageToBaseline(p.moving, r), warped_grey, cv::COLOR_BGR2GRAY);
  cv::cvtColor(p.fixed, fixed_grey, cv::COLOR_BGR2GRAY);
  cv::threshold(warped_grey, from_warped, 150, 255, cv::THRESH_BINARY);
  cv::threshold(fixed_grey, from_fixed, 150, 255, cv::THRESH_BINARY);
  cv::Mat inside;
  cv::warpAffine(cv::Mat(kSize, CV_8UC1, cv::Scalar(255)), inside, r.matrix, kSize,
                 cv::INTER_NEAREST);
  cv::erode(inside, inside, cv::Mat(), cv::Point(-1, -1), 2);
  const double n = cv::countNonZero(inside);
  ASSERT_GT(n, 0.4 * kSize.area());
  const double disagree_warped = cv::countNonZero((from_warped != warped_mask) & inside);
  const double disagree_fixed = cv::countNonZero((from_fixed != warped_mask) & inside);
  EXPECT_LT(disagree_warped / n, 0.01);
  EXPECT_LT(disagree_fixed / n, 0.02);
  EXPECT_GT(cv::countNonZero(warped_mask & inside), 100);
}

TEST(Registration, MovingMaskExcludesAChangedRegion) {
  // A bright patch appears in the moving view only (a new lesion); masking it out must not hurt.
  Pair p = MakePair(Similarity(10, 1.0, {5, 5}, kCentre));
  cv::rectangle(p.moving, cv::Rect(100, 80, 90, 70), cv::Scalar(250, 250, 250), cv::FILLED);
  RegistrationOptions options;
  options.moving_mask = cv::Mat(kSize, CV_8UC1, cv::Scalar(255));
  cv::rectangle(options.moving_mask, cv::Rect(95, 75, 100, 80), cv::Scalar(0), cv::FILLED);
  const RegistrationResult r = RegisterToBaseline(p.fixed, p.moving, options);
  EXPECT_TRUE(r.converged) << r.stop_reason;
  EXPECT_LT(MapError(r.matrix, p.truth, kSize).first, 0.1);
}

TEST(Registration, DeformableFieldAgreesWithMatrixWhenThereIsNoDeformation) {
  const Pair p = MakePair(Similarity(5, 1.02, {3, 1}, kCentre));
  RegistrationOptions options;
  options.deformable = true;
  options.deformable_grid_px = 80;
  options.max_iterations = 30;  // keeps the B-spline stage to about a second
  const RegistrationResult r = RegisterToBaseline(p.fixed, p.moving, options);
  ASSERT_TRUE(r.converged) << r.stop_reason;
  EXPECT_FALSE(r.deformable_note.empty());
  if (r.deformable_applied) {
    ASSERT_EQ(r.field.type(), CV_32FC2);
    ASSERT_EQ(r.field.size(), kSize);
    const cv::Matx23d inverse = [&] {
      cv::Matx23d inv;
      cv::invertAffineTransform(p.truth, inv);
      return inv;
    }();
    double sum = 0;
    int n = 0;
    for (int y = 20; y < kSize.height - 20; y += 10) {
      for (int x = 20; x < kSize.width - 20; x += 10) {
        const cv::Vec2f m = r.field.at<cv::Vec2f>(y, x);
        const double tx = inverse(0, 0) * x + inverse(0, 1) * y + inverse(0, 2);
        const double ty = inverse(1, 0) * x + inverse(1, 1) * y + inverse(1, 2);
        sum += std::hypot(m[0] - tx, m[1] - ty);
        ++n;
      }
    }
    EXPECT_LT(sum / n, 0.3);
    // Masks follow the field too.
    const cv::Mat warped = WarpMaskToBaseline(cv::Mat(kSize, CV_8UC1, cv::Scalar(255)), r);
    EXPECT_GT(cv::countNonZero(warped), kSize.area() / 2);
  } else {
    EXPECT_TRUE(r.field.empty());
  }
}

void ExpectInvalid(const std::function<void()>& f, const std::string& fragment) {
  try {
    f();
    ADD_FAILURE() << "no exception; expected one mentioning '" << fragment << "'";
  } catch (const Error& e) {
    EXPECT_EQ(e.code(), ErrorCode::kInvalidArgument);
    EXPECT_NE(std::string(e.what()).find(fragment), std::string::npos) << e.what();
  }
}

TEST(Registration, BadInputsGiveClearErrors) {
  const Pair p = MakePair(Similarity(0, 1, {1, 1}, kCentre));
  ExpectInvalid([&] { RegisterToBaseline(cv::Mat(), p.moving); }, "baseline image is empty");
  ExpectInvalid([&] { RegisterToBaseline(p.fixed, cv::Mat()); }, "moving image is empty");
  cv::Mat grey;
  cv::cvtColor(p.moving, grey, cv::COLOR_BGR2GRAY);
  ExpectInvalid([&] { RegisterToBaseline(p.fixed, grey); }, "channels");
  ExpectInvalid([&] { RegisterToBaseline(p.fixed, cv::Mat(10, 10, CV_8UC3)); }, "32 x 32");
  ExpectInvalid([&] { RegisterToBaseline(cv::Mat(64, 64, CV_8UC2), cv::Mat(64, 64, CV_8UC2)); },
                "channels");
  RegistrationOptions bad_mask;
  bad_mask.fixed_mask = cv::Mat(10, 10, CV_8UC1, cv::Scalar(255));
  ExpectInvalid([&] { RegisterToBaseline(p.fixed, p.moving, bad_mask); }, "fixed_mask");
  RegistrationOptions bad_option;
  bad_option.histogram_bins = 1;
  ExpectInvalid([&] { RegisterToBaseline(p.fixed, p.moving, bad_option); }, "histogram_bins");
  ExpectInvalid([] { ParseTransformModel("shear"); }, "shear");
  RegistrationResult r;
  r.moving_size = kSize;
  r.fixed_size = kSize;
  ExpectInvalid([&] { WarpMaskToBaseline(cv::Mat(5, 5, CV_8UC1), r); }, "size");
}

TEST(Registration, ModelNamesRoundTrip) {
  for (TransformModel m :
       {TransformModel::kRigid, TransformModel::kSimilarity, TransformModel::kAffine}) {
    EXPECT_EQ(ParseTransformModel(TransformModelName(m)), m);
  }
}

TEST(Registration, NormalizedMutualInformationBounds) {
  cv::Mat a(64, 64, CV_8UC1);
  cv::randu(a, 0, 255);
  cv::Mat inverted = 255 - a;
  // An invertible intensity map keeps all information (up to bin-edge effects).
  EXPECT_GT(NormalizedMutualInformation(a, inverted, cv::Mat()), 0.99);
  cv::Mat b(64, 64, CV_8UC1);
  cv::randu(b, 0, 255);
  EXPECT_LT(NormalizedMutualInformation(a, b, cv::Mat(), 8), 0.1);
  EXPECT_EQ(NormalizedMutualInformation(a, b, cv::Mat(64, 64, CV_8UC1, cv::Scalar(0))), 0.0);
}

}  // namespace
}  // namespace skintrack::registration
