// The scoring rules the pipeline and the CLI share (scoring/): known answers on tiny masks.
#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

#include "skintrack/core/error.h"
#include "skintrack/scoring/induration.h"
#include "skintrack/scoring/json.h"
#include "skintrack/scoring/quality.h"
#include "skintrack/scoring/site_area.h"
#include "skintrack/scoring/vasi_envelope.h"

namespace skintrack::scoring {
namespace {

cv::Mat Box(cv::Size size, cv::Rect box) {
  cv::Mat m(size, CV_8U, cv::Scalar(0));
  m(box).setTo(255);
  return m;
}

TEST(Induration, IsImputedFromTheVisibleSignsRoundingHalvesUp) {
  SeverityGrade e, d;
  e.grade = 3;
  d.grade = 2;
  const SeverityGrade i = ImputeInduration(e, d);
  EXPECT_EQ(i.grade, 3);  // round(2.5)
  EXPECT_EQ(i.provenance, Provenance::kImputed);
  EXPECT_NE(i.method.find("imputed"), std::string::npos);
  e.grade = 0;
  d.grade = 1;
  EXPECT_EQ(ImputeInduration(e, d).grade, 1);  // round(0.5)
  d.grade = 0;
  EXPECT_EQ(ImputeInduration(e, d).grade, 0);
}

TEST(VasiEnvelope, ClipsToTheSkinAndKeepsTheDepigmentedPixels) {
  const cv::Size size(60, 40);
  const cv::Mat lesion = Box(size, {10, 10, 10, 10});
  const cv::Mat skin = Box(size, {0, 0, 15, 40});  // covers half of the lesion
  const cv::Mat given = Box(size, {5, 5, 30, 30});
  const cv::Mat clipped = VasiEnvelope(lesion, skin, given);
  // (given & skin) | lesion: columns 5..14 of rows 5..34, plus the lesion's columns 15..19.
  EXPECT_EQ(cv::countNonZero(clipped), 10 * 30 + 5 * 10);
  EXPECT_EQ(cv::countNonZero(VasiEnvelope(lesion, cv::Mat(), given)), 30 * 30);
  // Without a segmenter envelope: VitiligoEnvelope of the lesion, which contains the lesion.
  const cv::Mat own = VasiEnvelope(lesion);
  EXPECT_EQ(cv::countNonZero(own & lesion), 100);
}

TEST(SiteArea, ScalesTheBaselinesSiteAreaByTheChangeInTheOverlap) {
  const cv::Size size(100, 100);
  SiteAreaInput in;
  in.baseline_skin = cv::Mat(size, CV_8U, cv::Scalar(255));
  in.baseline_lesion = Box(size, {40, 40, 20, 20});  // 400 px, 200 of them in the overlap
  in.seen = Box(size, {0, 0, 50, 100});              // the photo shows the left half
  in.lesion = Box(size, {45, 40, 5, 20});            // 100 px in the overlap: half as much
  const SiteArea a = MeasureSiteArea(in);
  ASSERT_TRUE(a.used) << a.note;
  EXPECT_DOUBLE_EQ(a.unseen_skin_fraction, 0.5);
  EXPECT_DOUBLE_EQ(a.lesion_fraction, 400.0 / 10000.0 * 100.0 / 200.0);
  EXPECT_FALSE(a.envelope_fraction.has_value());
  const nlohmann::json j = a;
  EXPECT_EQ(j["frame"], "baseline");
  EXPECT_DOUBLE_EQ(j["lesion_fraction"].get<double>(), 0.02);

  // No baseline lesion in the overlap: the overlap's own density.
  in.baseline_lesion = Box(size, {70, 40, 20, 20});
  EXPECT_DOUBLE_EQ(MeasureSiteArea(in).lesion_fraction, 100.0 / 5000.0);

  // Less than half of the baseline's skin in the photo: not used.
  in.seen = Box(size, {0, 0, 40, 100});
  EXPECT_FALSE(MeasureSiteArea(in).used);
  in.baseline_skin = cv::Mat(size, CV_8U, cv::Scalar(0));
  EXPECT_FALSE(MeasureSiteArea(in).used);
  in.lesion = cv::Mat(cv::Size(10, 10), CV_8U, cv::Scalar(0));
  EXPECT_THROW(MeasureSiteArea(in), Error);
}

TEST(QualityGate, PassesASharpSkinPhotoAndSaysWhyAFlatOneFails) {
  cv::Mat skin(300, 400, CV_8UC3, cv::Scalar(120, 150, 200));  // BGR, a light skin tone
  cv::randn(skin, cv::Scalar(120, 150, 200), cv::Scalar(25, 25, 25));
  const QualityReport good = CheckQuality(skin);
  EXPECT_TRUE(good.passed) << (good.reasons.empty() ? "" : good.reasons.front());
  const QualityReport dark = CheckQuality(cv::Mat(300, 400, CV_8UC3, cv::Scalar(2, 2, 2)));
  EXPECT_FALSE(dark.passed);
  EXPECT_GE(dark.reasons.size(), 2u);  // blurred, too dark, clipped, no skin
  const nlohmann::json j = dark;
  EXPECT_FALSE(j["passed"].get<bool>());
  EXPECT_EQ(j["reasons"].size(), dark.reasons.size());
  EXPECT_THROW(CheckQuality(cv::Mat(10, 10, CV_8UC1, cv::Scalar(0))), Error);
}

}  // namespace
}  // namespace skintrack::scoring
