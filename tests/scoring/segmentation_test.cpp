// Segmentation and measurements on small synthetic images with known masks and known colours.
#include "skintrack/scoring/segmentation.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <opencv2/imgproc.hpp>

#include "skintrack/core/colour.h"
#include "skintrack/core/error.h"
#include "skintrack/scoring/change.h"
#include "skintrack/scoring/measure.h"

namespace skintrack::scoring {
namespace {

cv::Scalar LabToBgr8(double l, double a, double b) {
  cv::Mat lab(1, 1, CV_32FC3, cv::Scalar(l, a, b));
  cv::Mat bgr = LabToBgrFloat(lab);
  const cv::Vec3f v = bgr.at<cv::Vec3f>(0, 0);
  return cv::Scalar(v[0] * 255.0, v[1] * 255.0, v[2] * 255.0);
}

struct Scene {
  cv::Mat image;
  cv::Mat skin;    // truth
  cv::Mat lesion;  // truth
};

// A skin ellipse of the given CIELAB colour on a grey-blue background, with `lesions` discs of
// lesion colour, plus deterministic sensor noise.
Scene MakeScene(cv::Size size, const cv::Vec3d& skin_lab, const cv::Vec3d& lesion_lab,
                const std::vector<std::pair<cv::Point, int>>& lesions) {
  Scene s;
  s.image = cv::Mat(size, CV_8UC3, LabToBgr8(45, -3, -15));
  s.skin = cv::Mat::zeros(size, CV_8UC1);
  s.lesion = cv::Mat::zeros(size, CV_8UC1);
  const cv::Point centre(size.width / 2, size.height / 2);
  const cv::Size axes(size.width * 2 / 5, size.height * 2 / 5);
  cv::ellipse(s.skin, centre, axes, 0, 0, 360, cv::Scalar(255), cv::FILLED);
  s.image.setTo(LabToBgr8(skin_lab[0], skin_lab[1], skin_lab[2]), s.skin);
  for (const auto& [c, r] : lesions) cv::circle(s.lesion, c, r, cv::Scalar(255), cv::FILLED);
  s.lesion &= s.skin;
  s.image.setTo(LabToBgr8(lesion_lab[0], lesion_lab[1], lesion_lab[2]), s.lesion);
  cv::Mat noise(size, CV_16SC3);
  cv::RNG rng(7);
  rng.fill(noise, cv::RNG::NORMAL, 0, 2.0);
  cv::Mat img16;
  s.image.convertTo(img16, CV_16SC3);
  img16 += noise;
  img16.convertTo(s.image, CV_8UC3);
  return s;
}

Segmentation SegmentWith(Condition c, const cv::Mat& image) {
  ClassicalSegmenterOptions o;
  o.condition = c;
  return MakeClassicalSegmenter(o)->Segment(image);
}

const std::vector<std::pair<cv::Point, int>> kDiscs = {
    {{200, 180}, 40}, {{330, 260}, 30}, {{420, 200}, 25}};

TEST(Skin, LightAndDarkSkinOnBackground) {
  for (const cv::Vec3d& tone :
       {cv::Vec3d(72, 9, 14), cv::Vec3d(58, 13, 18), cv::Vec3d(32, 10, 12)}) {
    const Scene s = MakeScene({640, 480}, tone, tone, {});
    const cv::Mat skin = SegmentSkin(s.image);
    ASSERT_EQ(skin.size(), s.image.size());
    EXPECT_GT(CompareToTruth(skin, s.skin).dice, 0.98) << "L* " << tone[0];
  }
}

TEST(Psoriasis, RedDiscsFoundWithTheirArea) {
  const Scene s = MakeScene({640, 480}, {62, 12, 17}, {52, 26, 16}, kDiscs);
  const Segmentation seg = SegmentWith(Condition::kPsoriasis, s.image);
  EXPECT_TRUE(seg.lesion_found);
  const MaskAgreement a = CompareToTruth(seg.lesion_mask, s.lesion, s.skin);
  EXPECT_GT(a.dice, 0.93);
  EXPECT_LT(std::abs(a.area_error_points), 1.0);
  MeasureOptions mo;
  mo.condition = Condition::kPsoriasis;
  const Measurements m = Measure(s.image, seg, mo);
  EXPECT_EQ(m.lesion_count, 3);
  EXPECT_NEAR(m.delta_a, 14.0, 2.5);  // drawn with delta a* 14 (sRGB rounding aside)
  EXPECT_EQ(m.erythema.grade, 3);
  EXPECT_EQ(m.erythema.provenance, Provenance::kMeasured);
  ASSERT_TRUE(m.erythema.continuous.has_value());
  EXPECT_EQ(m.desquamation.grade, 0);  // no whitish pixels drawn
  EXPECT_EQ(m.induration.provenance, Provenance::kImputed);
  EXPECT_FALSE(m.induration.method.empty());
  ASSERT_TRUE(m.fraction_low && m.fraction_high && m.fraction_uncertainty);
  EXPECT_LE(*m.fraction_low, m.lesion_fraction);
  EXPECT_GE(*m.fraction_high, m.lesion_fraction);
  EXPECT_NEAR(m.ita_degrees, ItaDegrees(62, 17), 3.0);
}

TEST(Psoriasis, ScaleCountsAsPlaqueAndGradesDesquamation) {
  Scene s = MakeScene({640, 480}, {62, 12, 17}, {52, 26, 16}, kDiscs);
  // Cover the left half of the first plaque with silvery scale.
  cv::Mat scale = cv::Mat::zeros(s.image.size(), CV_8UC1);
  cv::circle(scale, {200, 180}, 40, cv::Scalar(255), cv::FILLED);
  scale(cv::Rect(200, 0, 440, 480)).setTo(0);
  s.image.setTo(LabToBgr8(84, 2, 4), scale);
  const Segmentation seg = SegmentWith(Condition::kPsoriasis, s.image);
  EXPECT_GT(CompareToTruth(seg.lesion_mask, s.lesion).dice, 0.9);
  MeasureOptions mo;
  mo.condition = Condition::kPsoriasis;
  mo.clinician_induration = 3;
  const Measurements m = Measure(s.image, seg, mo);
  // Half of the largest of three discs: about 0.25 of the plaque pixels.
  EXPECT_NEAR(m.scale_fraction, 0.5 * 1600.0 / (1600 + 900 + 625), 0.06);
  EXPECT_EQ(m.desquamation.grade, 2);
  EXPECT_EQ(m.induration.grade, 3);
  EXPECT_EQ(m.induration.provenance, Provenance::kClinician);
}

TEST(Psoriasis, ClearSkinHasNoLesion) {
  const Scene s = MakeScene({640, 480}, {62, 12, 17}, {62, 12, 17}, {});
  const Segmentation seg = SegmentWith(Condition::kPsoriasis, s.image);
  EXPECT_FALSE(seg.lesion_found);
  EXPECT_EQ(cv::countNonZero(seg.lesion_mask), 0);
  MeasureOptions mo;
  const Measurements m = Measure(s.image, seg, mo);
  EXPECT_EQ(m.lesion_fraction, 0.0);
  EXPECT_EQ(m.erythema.grade, 0);
}

TEST(Vitiligo, PalePatchesOnDarkAndLightSkin) {
  for (const auto& [skin, patch] : {std::pair{cv::Vec3d(34, 11, 14), cv::Vec3d(68, 12, 6)},
                                    std::pair{cv::Vec3d(70, 9, 15), cv::Vec3d(82, 6, 7)}}) {
    const Scene s = MakeScene({640, 480}, skin, patch, kDiscs);
    const Segmentation seg = SegmentWith(Condition::kVitiligo, s.image);
    const MaskAgreement a = CompareToTruth(seg.lesion_mask, s.lesion, s.skin);
    EXPECT_GT(a.dice, 0.93) << "skin L* " << skin[0];
    EXPECT_LT(std::abs(a.area_error_points), 1.0);
    MeasureOptions mo;
    mo.condition = Condition::kVitiligo;
    const Measurements m = Measure(s.image, seg, mo);
    EXPECT_GT(m.depigmentation_percent, 90.0);
    EXPECT_EQ(m.depigmentation_level, 100);
    EXPECT_GT(m.delta_l, 5.0);
    EXPECT_LT(m.delta_b, 0.0);
  }
}

TEST(Vitiligo, PigmentIslandsLowerTheResidualDepigmentation) {
  Scene s = MakeScene({640, 480}, {40, 12, 16}, {72, 10, 7}, {{{320, 240}, 120}});
  // Perifollicular islands of normal pigment: a grid of dots inside the patch.
  const cv::Scalar skin_bgr = LabToBgr8(40, 12, 16);
  cv::Mat islands = cv::Mat::zeros(s.image.size(), CV_8UC1);
  for (int y = 140; y <= 340; y += 24) {
    for (int x = 220; x <= 420; x += 24)
      cv::circle(islands, {x, y}, 7, cv::Scalar(255), cv::FILLED);
  }
  islands &= s.lesion;
  s.image.setTo(skin_bgr, islands);
  const cv::Mat truth = s.lesion & ~islands;
  const Segmentation seg = SegmentWith(Condition::kVitiligo, s.image);
  EXPECT_GT(CompareToTruth(seg.lesion_mask, truth).dice, 0.85);
  MeasureOptions mo;
  mo.condition = Condition::kVitiligo;
  const Measurements m = Measure(s.image, seg, mo);
  const double truth_depig = 100.0 * cv::countNonZero(truth) / cv::countNonZero(s.lesion);
  EXPECT_NEAR(m.depigmentation_percent, truth_depig, 10.0);
  EXPECT_GT(CompareToTruth(seg.envelope_mask, s.lesion).dice, 0.9);
}

TEST(Vitiligo, LighterButYellowerSurfaceIsNotDepigmented) {
  // Tan skin with a real patch (lighter, less yellow) and a disc of light wood colour (lighter,
  // as yellow, less red): only the patch is depigmentation.
  Scene s = MakeScene({640, 480}, {58, 13, 18}, {74, 11, 8}, {{{220, 240}, 50}});
  cv::Mat wood = cv::Mat::zeros(s.image.size(), CV_8UC1);
  cv::circle(wood, {420, 240}, 60, cv::Scalar(255), cv::FILLED);
  s.image.setTo(LabToBgr8(74, 9, 24), wood);
  const Segmentation seg = SegmentWith(Condition::kVitiligo, s.image);
  EXPECT_GT(CompareToTruth(seg.lesion_mask, s.lesion).dice, 0.9);
  EXPECT_LT(cv::countNonZero(seg.lesion_mask & wood), 0.05 * cv::countNonZero(wood));
}

// Where the patch of PatchCoveringTheEndOfTheSkinIsFoundWhole ends (x, pixels), and how deep the
// darkening toward the skin's outline reaches (pixels).
constexpr int kPatchEnd = 230;
constexpr float kRimDepth = 120;

TEST(Vitiligo, PatchCoveringTheEndOfTheSkinIsFoundWhole) {
  // The whole left end of the skin is depigmented, so that at first the patch is most of its own
  // local reference; the skin darkens toward its outline (a limb turning away from the camera),
  // which widens the spread of the normal skin.
  Scene s = MakeScene({640, 480}, {66, 10, 15}, {80, 6, 7}, {});
  cv::Mat patch = s.skin.clone();
  patch(cv::Rect(kPatchEnd, 0, 640 - kPatchEnd, 480)).setTo(0);
  s.image.setTo(LabToBgr8(80, 6, 7), patch);
  cv::Mat depth;
  cv::distanceTransform(s.skin, depth, cv::DIST_L2, 3);
  cv::Mat lab = BgrToLab(s.image);
  for (int y = 0; y < lab.rows; ++y) {
    for (int x = 0; x < lab.cols; ++x) {
      const float k = 1.0f - std::min(1.0f, depth.at<float>(y, x) / kRimDepth);
      lab.at<cv::Vec3f>(y, x)[0] *= 0.78f + 0.22f * std::sqrt(1.0f - k * k);
    }
  }
  cv::Mat bgr = LabToBgrFloat(lab);
  bgr.convertTo(s.image, CV_8UC3, 255.0);
  const Segmentation seg = SegmentWith(Condition::kVitiligo, s.image);
  const MaskAgreement a = CompareToTruth(seg.lesion_mask, patch, s.skin);
  // Measured 2026-11-26: two passes 0.920 and +4.1 points, three passes 0.94 and +2.2 points.
  EXPECT_GT(a.dice, 0.93);
  EXPECT_LT(std::abs(a.area_error_points), 3.0);
}

TEST(Vitiligo, PatchAtTheFrameEdgeUnderAWarmCastIsSkin) {
  // A limb crossing the left edge of the frame, yellowed by a warm cast; its end is depigmented
  // and, with little a* left, yellower than the skin window allows. A cream background of the
  // same hue must stay background.
  const cv::Size size(640, 480);
  cv::Mat image(size, CV_8UC3, LabToBgr8(82, 1, 13));
  cv::Mat skin = cv::Mat::zeros(size, CV_8UC1);
  cv::rectangle(skin, cv::Rect(0, 140, 520, 200), cv::Scalar(255), cv::FILLED);
  cv::circle(skin, {520, 240}, 100, cv::Scalar(255), cv::FILLED);
  image.setTo(LabToBgr8(60, 16, 28), skin);
  cv::Mat patch = cv::Mat::zeros(size, CV_8UC1);
  cv::rectangle(patch, cv::Rect(0, 160, 120, 160), cv::Scalar(255), cv::FILLED);
  image.setTo(LabToBgr8(88, 2, 19), patch);
  const Segmentation seg = SegmentWith(Condition::kVitiligo, image);
  EXPECT_GT(CompareToTruth(seg.skin_mask, skin).dice, 0.97);
  EXPECT_GT(CompareToTruth(seg.lesion_mask, patch).dice, 0.9);
}

// A skin ellipse drawn in CIELAB: `redness(x, y)` a* units added to the skin colour, plus
// deterministic sensor noise; the rest as in MakeScene.
template <typename Redness>
Scene MakeLabScene(cv::Size size, const cv::Vec3d& skin_lab, Redness redness) {
  Scene s = MakeScene(size, skin_lab, skin_lab, {});
  cv::Mat lab = BgrToLab(s.image);
  for (int y = 0; y < size.height; ++y) {
    auto* px = lab.ptr<cv::Vec3f>(y);
    const auto* sk = s.skin.ptr<unsigned char>(y);
    for (int x = 0; x < size.width; ++x) {
      if (sk[x]) px[x] = redness(x, y, px[x]);
    }
  }
  cv::Mat bgr = LabToBgrFloat(lab);
  bgr.convertTo(s.image, CV_8UC3, 255.0);
  return s;
}

// Mild blotchy erythema: soft patches (Gaussian bumps a hundred pixels across) of up to 5 a* units.
float Blotches(int x, int y) {
  const int centres[5][2] = {{170, 170}, {330, 300}, {460, 190}, {250, 330}, {420, 330}};
  float sum = 0;
  for (const auto& c : centres) {
    const float dx = static_cast<float>(x - c[0]), dy = static_cast<float>(y - c[1]);
    sum += 5.0f * std::exp(-(dx * dx + dy * dy) / (2.0f * 45.0f * 45.0f));
  }
  return std::min(sum, 5.5f);
}

TEST(Psoriasis, DiffuseBlotchyRednessIsNotAPlaque) {
  const Scene s = MakeLabScene({640, 480}, {62, 12, 17}, [](int x, int y, cv::Vec3f v) {
    v[1] += Blotches(x, y);
    return v;
  });
  const Segmentation seg = SegmentWith(Condition::kPsoriasis, s.image);
  const MaskAgreement a = CompareToTruth(seg.lesion_mask, s.lesion, s.skin);
  EXPECT_LT(a.predicted_fraction, 0.01);  // segmenter 1.1: 37 % of the skin
}

// The learned segmenter's features use the classical masks without the extensive-disease rules
// (they made the feature worthless on real photos): switched off, the blotches are marked again,
// as by segmenter 1.1, and the name says which rules made the mask.
TEST(Psoriasis, WithoutExtensiveDiseaseRulesBlotchesAreMarkedAsIn11) {
  const Scene s = MakeLabScene({640, 480}, {62, 12, 17}, [](int x, int y, cv::Vec3f v) {
    v[1] += Blotches(x, y);
    return v;
  });
  ClassicalSegmenterOptions o;
  o.condition = Condition::kPsoriasis;
  o.extensive_disease_rules = false;
  const auto segmenter = MakeClassicalSegmenter(o);
  EXPECT_EQ(segmenter->Name(), "classical-psoriasis/1.2-no-extensive-rules");
  const Segmentation seg = segmenter->Segment(s.image);
  EXPECT_GT(CompareToTruth(seg.lesion_mask, s.lesion, s.skin).predicted_fraction, 0.05);
}

// Extensive disease: a plaque field over 55 % of the skin around an island of normal skin (a
// quarter of it), a third of the plaque covered by thick white scale, on brown skin (delta a* 8).
// The normal skin is the minority and the scale is the least red part of the skin.
TEST(Psoriasis, ExtensivePlaquesWithThickScaleAreFoundWhole) {
  Scene s = MakeScene({640, 480}, {40, 12, 17}, {40, 12, 17}, {});
  const cv::Point centre(320, 240);
  cv::ellipse(s.lesion, centre, {230, 170}, 0, 0, 360, cv::Scalar(255), cv::FILLED);
  cv::ellipse(s.lesion, centre, {130, 95}, 0, 0, 360, cv::Scalar(0), cv::FILLED);
  s.lesion &= s.skin;
  s.image.setTo(LabToBgr8(35, 20, 16), s.lesion);
  // Scale: flecks over the plaque, a third of its pixels.
  cv::Mat scale = cv::Mat::zeros(s.image.size(), CV_8UC1);
  for (int y = 0; y < scale.rows; y += 14) {
    for (int x = (y / 14) % 2 * 7; x < scale.cols; x += 14) {
      cv::circle(scale, {x, y}, 5, cv::Scalar(255), cv::FILLED);
    }
  }
  cv::Mat eroded;
  cv::erode(s.lesion, eroded, cv::getStructuringElement(cv::MORPH_ELLIPSE, {9, 9}));
  scale &= eroded;
  s.image.setTo(LabToBgr8(82, 3, 6), scale);
  ASSERT_GT(cv::countNonZero(s.lesion), 0.5 * cv::countNonZero(s.skin));
  const Segmentation seg = SegmentWith(Condition::kPsoriasis, s.image);
  // Segmenter 1.1 filled the island of normal skin in as a hole of the plaque.
  EXPECT_GT(CompareToTruth(seg.lesion_mask, s.lesion).dice, 0.85);
}

// Thick plaques on brown skin (Fitzpatrick V): whitish scale over most of each plaque, red islands
// showing through it, and a faint pink rim that fades out over 24 pixels (a soft border).
struct ScaledPlaque {
  cv::Point centre;
  int radius;
};
const ScaledPlaque kScaledPlaques[] = {{{230, 220}, 95}, {{440, 270}, 75}};
constexpr int kRimWidth = 24;
constexpr float kRimRedness = 4.0f, kIslandRedness = 16.0f;

cv::Vec3f ThickScaledPlaques(int x, int y, cv::Vec3f v) {
  for (const ScaledPlaque& p : kScaledPlaques) {
    const double d = std::hypot(x - p.centre.x, y - p.centre.y);
    if (d > p.radius) continue;
    if (d > p.radius - kRimWidth) {
      v[1] += kRimRedness * static_cast<float>((p.radius - d) / kRimWidth);
    } else if (d < p.radius - kRimWidth - 6 && (x / 32 + y / 32) % 2 == 0 &&
               (x % 32 - 16) * (x % 32 - 16) + (y % 32 - 16) * (y % 32 - 16) < 144) {
      v[1] += kIslandRedness;  // a red island through the scale
      v[0] -= 4.0f;
    } else {
      v = cv::Vec3f(78, 3, 6);  // silvery scale
    }
  }
  return v;
}

TEST(Psoriasis, ThickWhiteScaledPlaquesOnBrownSkinAreFoundWhole) {
  Scene s = MakeLabScene({640, 480}, {40, 12, 17}, ThickScaledPlaques);
  // The truth: each plaque out to where its rim is a quarter of its peak redness.
  for (const ScaledPlaque& p : kScaledPlaques) {
    cv::circle(s.lesion, p.centre, p.radius - kRimWidth / 4, cv::Scalar(255), cv::FILLED);
  }
  s.lesion &= s.skin;
  const Segmentation seg = SegmentWith(Condition::kPsoriasis, s.image);
  // Segmenter 1.2: 0.80, one plaque reduced to its red islands (their step against the plaque's
  // own scale made the rim and scale look like a blotch around them).
  EXPECT_GT(CompareToTruth(seg.lesion_mask, s.lesion).dice, 0.9);
}

TEST(Segmentation, FullSizeBinaryMasksFromAReducedCopy) {
  const Scene s =
      MakeScene({2000, 1500}, {62, 12, 17}, {50, 27, 15}, {{{700, 600}, 130}, {{1200, 800}, 100}});
  const Segmentation seg = SegmentWith(Condition::kPsoriasis, s.image);
  for (const cv::Mat* m : {&seg.skin_mask, &seg.lesion_mask}) {
    ASSERT_EQ(m->size(), s.image.size());
    ASSERT_EQ(m->type(), CV_8UC1);
    EXPECT_EQ(cv::countNonZero((*m != 0) & (*m != 255)), 0);
  }
  EXPECT_GT(CompareToTruth(seg.lesion_mask, s.lesion).dice, 0.97);
}

TEST(Segmentation, BadInputIsRejected) {
  const auto seg = MakeClassicalSegmenter({});
  EXPECT_THROW(seg->Segment(cv::Mat()), Error);
  EXPECT_THROW(seg->Segment(cv::Mat(10, 10, CV_8UC1)), Error);
  ClassicalSegmenterOptions bad;
  bad.work_max_side = 10;
  EXPECT_THROW(MakeClassicalSegmenter(bad), Error);
  const cv::Mat img(100, 100, CV_8UC3, cv::Scalar(100, 120, 160));
  SuppliedMaskSegmenter wrong(Condition::kPsoriasis, cv::Mat::zeros(50, 50, CV_8UC1));
  EXPECT_THROW(wrong.Segment(img), Error);
  EXPECT_THROW(ReadImage("/nonexistent/x.png"), Error);
}

TEST(Measure, MaskSizeMismatchAndScale) {
  const Scene s = MakeScene({640, 480}, {62, 12, 17}, {52, 26, 16}, kDiscs);
  Segmentation seg;
  seg.skin_mask = s.skin;
  seg.lesion_mask = cv::Mat::zeros(10, 10, CV_8UC1);
  EXPECT_THROW(Measure(s.image, seg, {}), Error);
  SuppliedMaskSegmenter supplied(Condition::kPsoriasis, s.lesion, s.skin);
  const Segmentation good = supplied.Segment(s.image);
  EXPECT_EQ(good.segmenter, "supplied-mask/1.0");
  MeasureOptions mo;
  mo.pixels_per_mm = 4.0;
  const Measurements m = Measure(s.image, good, mo);
  ASSERT_TRUE(m.lesion_area_mm2.has_value());
  EXPECT_NEAR(*m.lesion_area_mm2, cv::countNonZero(s.lesion) / 16.0, 1e-9);
  EXPECT_FALSE(m.fraction_uncertainty.has_value());  // an annotator's mask has no thresholds
  mo.pixels_per_mm = -1;
  EXPECT_THROW(Measure(s.image, good, mo), Error);
}

TEST(Grades, ErythemaAndScalingBounds) {
  EXPECT_EQ(ErythemaGradeFromDeltaA(2.49), 0);
  EXPECT_EQ(ErythemaGradeFromDeltaA(2.5), 1);
  EXPECT_EQ(ErythemaGradeFromDeltaA(7.0), 2);
  EXPECT_EQ(ErythemaGradeFromDeltaA(12.0), 3);
  EXPECT_EQ(ErythemaGradeFromDeltaA(17.0), 4);
  EXPECT_EQ(ScalingGradeFromFraction(0.0), 0);
  EXPECT_EQ(ScalingGradeFromFraction(0.03), 1);
  EXPECT_EQ(ScalingGradeFromFraction(0.15), 2);
  EXPECT_EQ(ScalingGradeFromFraction(0.30), 3);
  EXPECT_EQ(ScalingGradeFromFraction(0.50), 4);
}

}  // namespace
}  // namespace skintrack::scoring
