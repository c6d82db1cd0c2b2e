// The scorers against SCORES.md: the worked PASI example, every area-bin edge, the continuous
// variant, missing regions, BSA, VASI, responder status and repigmentation grades.
#include "skintrack/scoring/scores.h"

#include <gtest/gtest.h>

#include <cmath>
#include <limits>

#include "skintrack/core/error.h"

namespace skintrack::scoring {
namespace {

SeverityGrade G(int grade, Provenance p = Provenance::kClinician) {
  SeverityGrade g;
  g.grade = grade;
  g.provenance = p;
  return g;
}

PasiRegionInput Region(PasiRegion r, double area, int e, int i, int d) {
  PasiRegionInput in;
  in.region = r;
  in.area_percent = area;
  in.erythema = G(e);
  in.induration = G(i);
  in.desquamation = G(d);
  return in;
}

std::vector<PasiRegionInput> WorkedExample() {
  // SCORES.md: head E2 I1 D2 A2; upper E2 I1 D2 A1; trunk E3 I2 D2 A2; lower E3 I2 D3 A2.
  return {Region(PasiRegion::kHeadNeck, 15, 2, 1, 2), Region(PasiRegion::kUpperLimbs, 5, 2, 1, 2),
          Region(PasiRegion::kTrunk, 20, 3, 2, 2), Region(PasiRegion::kLowerLimbs, 25, 3, 2, 3)};
}

TEST(PasiAreaScore, EveryBinEdgeIsHalfOpen) {
  EXPECT_EQ(PasiAreaScore(0.0), 0);
  EXPECT_EQ(PasiAreaScore(1e-9), 1);
  EXPECT_EQ(PasiAreaScore(9.999), 1);
  EXPECT_EQ(PasiAreaScore(10.0), 2);
  EXPECT_EQ(PasiAreaScore(29.999), 2);
  EXPECT_EQ(PasiAreaScore(30.0), 3);
  EXPECT_EQ(PasiAreaScore(49.999), 3);
  EXPECT_EQ(PasiAreaScore(50.0), 4);
  EXPECT_EQ(PasiAreaScore(69.999), 4);
  EXPECT_EQ(PasiAreaScore(70.0), 5);
  EXPECT_EQ(PasiAreaScore(89.999), 5);
  EXPECT_EQ(PasiAreaScore(90.0), 6);
  EXPECT_EQ(PasiAreaScore(100.0), 6);
  // The integer form's gap (9.5 %) falls into a bin.
  EXPECT_EQ(PasiAreaScore(9.5), 1);
}

TEST(PasiAreaScore, RejectsOutOfRange) {
  EXPECT_THROW(PasiAreaScore(-0.1), Error);
  EXPECT_THROW(PasiAreaScore(100.1), Error);
  EXPECT_THROW(PasiAreaScore(std::numeric_limits<double>::quiet_NaN()), Error);
  EXPECT_THROW(ContinuousAreaScore(-1), Error);
}

TEST(ContinuousAreaScore, PiecewiseLinearAndEqualAtEdges) {
  EXPECT_DOUBLE_EQ(ContinuousAreaScore(0), 0.0);
  EXPECT_DOUBLE_EQ(ContinuousAreaScore(5), 1.0);
  EXPECT_DOUBLE_EQ(ContinuousAreaScore(20), 2.5);
  EXPECT_DOUBLE_EQ(ContinuousAreaScore(95), 6.0);
  EXPECT_DOUBLE_EQ(ContinuousAreaScore(100), 6.0);
  for (double edge : {10.0, 30.0, 50.0, 70.0, 90.0}) {
    EXPECT_DOUBLE_EQ(ContinuousAreaScore(edge), PasiAreaScore(edge)) << edge;
  }
  // Monotone everywhere.
  double last = -1;
  for (double p = 0; p <= 100; p += 0.25) {
    const double v = ContinuousAreaScore(p);
    EXPECT_GE(v, last) << p;
    last = v;
  }
}

TEST(Pasi, WorkedExampleIs12Point6) {
  const PasiResult r = ComputePasi(WorkedExample());
  EXPECT_NEAR(r.pasi, 12.6, 1e-9);
  ASSERT_EQ(r.regions.size(), 4u);
  EXPECT_NEAR(r.regions[0].contribution, 1.0, 1e-12);
  EXPECT_NEAR(r.regions[1].contribution, 1.0, 1e-12);
  EXPECT_NEAR(r.regions[2].contribution, 4.2, 1e-12);
  EXPECT_NEAR(r.regions[3].contribution, 6.4, 1e-12);
  EXPECT_TRUE(r.complete);
  EXPECT_TRUE(r.missing.empty());
  EXPECT_FALSE(r.any_imputed);
  EXPECT_EQ(r.algorithm_version, kScoringVersion);
  // Continuous: A = 2.25 (15 %), 1.0 (5 %), 2.5 (20 %), 2.75 (25 %).
  EXPECT_NEAR(r.pasi_continuous, 0.1 * 5 * 2.25 + 0.2 * 5 * 1.0 + 0.3 * 7 * 2.5 + 0.4 * 8 * 2.75,
              1e-9);
}

TEST(Pasi, MissingRegionIsReportedNotZero) {
  auto in = WorkedExample();
  in.erase(in.begin() + 2);  // no trunk capture
  const PasiResult r = ComputePasi(in);
  EXPECT_FALSE(r.complete);
  ASSERT_EQ(r.missing.size(), 1u);
  EXPECT_EQ(r.missing[0], PasiRegion::kTrunk);
  EXPECT_NEAR(r.pasi, 12.6 - 4.2, 1e-9);  // partial value over the regions present
}

TEST(Pasi, ImputedSubScoreIsFlagged) {
  auto in = WorkedExample();
  in[1].induration.provenance = Provenance::kImputed;
  EXPECT_TRUE(ComputePasi(in).any_imputed);
}

TEST(Pasi, RejectsDuplicateRegionAndBadGrades) {
  auto in = WorkedExample();
  in.push_back(in[0]);
  EXPECT_THROW(ComputePasi(in), Error);
  auto bad = WorkedExample();
  bad[0].erythema.grade = 5;
  EXPECT_THROW(ComputePasi(bad), Error);
  bad = WorkedExample();
  bad[0].area_percent = 101;
  EXPECT_THROW(ComputePasi(bad), Error);
}

TEST(Pasi, MaximumIs72) {
  std::vector<PasiRegionInput> in;
  for (PasiRegion r : {PasiRegion::kHeadNeck, PasiRegion::kUpperLimbs, PasiRegion::kTrunk,
                       PasiRegion::kLowerLimbs}) {
    in.push_back(Region(r, 100, 4, 4, 4));
  }
  EXPECT_NEAR(ComputePasi(in).pasi, 72.0, 1e-9);
}

TEST(Bsa, SiteShareTimesFractionAndCategories) {
  const BodySite& forearm = FindBodySite("left-forearm");
  EXPECT_NEAR(SiteInvolvedBsaPercent(forearm, 0.5), forearm.bsa_percent * 0.5, 1e-12);
  EXPECT_THROW(SiteInvolvedBsaPercent(forearm, 1.5), Error);
  EXPECT_STREQ(BsaSeverity(2.99), "mild");
  EXPECT_STREQ(BsaSeverity(3.0), "moderate");
  EXPECT_STREQ(BsaSeverity(10.0), "moderate");
  EXPECT_STREQ(BsaSeverity(10.01), "severe");
}

TEST(ScorePsoriasisVisit, AggregatesSitesToRegions) {
  PsoriasisSiteMeasurement a, b;
  a.site = "left-forearm";  // 3 % BSA
  a.lesion_fraction = 0.2;
  a.erythema = G(2, Provenance::kMeasured);
  a.induration = G(1, Provenance::kImputed);
  a.desquamation = G(1, Provenance::kMeasured);
  b.site = "right-forearm";
  b.lesion_fraction = 0.4;
  b.erythema = G(3, Provenance::kMeasured);
  b.induration = G(2, Provenance::kClinician);
  b.desquamation = G(2, Provenance::kMeasured);
  const PsoriasisVisitScore v = ScorePsoriasisVisit({a, b});
  const double fa = FindBodySite("left-forearm").bsa_percent;
  const double fb = FindBodySite("right-forearm").bsa_percent;
  EXPECT_NEAR(v.bsa_percent, fa * 0.2 + fb * 0.4, 1e-12);
  ASSERT_EQ(v.pasi.regions.size(), 1u);
  const PasiRegionScore& r = v.pasi.regions[0];
  EXPECT_EQ(r.input.region, PasiRegion::kUpperLimbs);
  EXPECT_NEAR(r.input.area_percent, 100.0 * (fa * 0.2 + fb * 0.4) / (fa + fb), 1e-9);
  // The most involved site is the representative lesion: its grades and provenance travel.
  EXPECT_EQ(r.input.erythema.grade, 3);
  EXPECT_EQ(r.input.induration.provenance, Provenance::kClinician);
  EXPECT_FALSE(v.pasi.complete);
  EXPECT_EQ(v.pasi.missing.size(), 3u);
  ASSERT_EQ(v.region_coverage_percent.size(), 1u);
  EXPECT_GT(v.region_coverage_percent[0].second, 0.0);
  EXPECT_LT(v.region_coverage_percent[0].second, 100.0);
}

TEST(ScorePsoriasisVisit, RejectsUnknownAndDuplicateSites) {
  PsoriasisSiteMeasurement a;
  a.site = "left-wing";
  try {
    ScorePsoriasisVisit({a});
    FAIL();
  } catch (const Error& e) {
    EXPECT_EQ(e.code(), ErrorCode::kNotFound);
  }
  a.site = "face";
  EXPECT_THROW(ScorePsoriasisVisit({a, a}), Error);
}

TEST(PasiResponse, ThresholdsAndExactZero) {
  auto r = ComputePasiResponse(12.6, 6.3);
  EXPECT_TRUE(r.defined);
  EXPECT_NEAR(r.change_percent, 50.0, 1e-9);
  EXPECT_TRUE(r.pasi50);
  EXPECT_FALSE(r.pasi75);
  r = ComputePasiResponse(12.6, 12.6 * 0.25);
  EXPECT_TRUE(r.pasi75);
  EXPECT_FALSE(r.pasi90);
  r = ComputePasiResponse(10.0, 1.0);
  EXPECT_TRUE(r.pasi90);
  EXPECT_FALSE(r.pasi100);  // 90 % is not clear
  r = ComputePasiResponse(10.0, 0.0);
  EXPECT_TRUE(r.pasi100);
  r = ComputePasiResponse(10.0, 1e-12);
  EXPECT_FALSE(r.pasi100);  // exactly zero, not "close to"
  r = ComputePasiResponse(10.0, 4.99);
  EXPECT_TRUE(r.pasi50);
  r = ComputePasiResponse(10.0, 5.01);
  EXPECT_FALSE(r.pasi50);
}

TEST(PasiResponse, WorseningIsNegativeAndZeroBaselineUndefined) {
  auto r = ComputePasiResponse(10.0, 15.0);
  EXPECT_NEAR(r.change_percent, -50.0, 1e-9);
  EXPECT_FALSE(r.pasi50);
  r = ComputePasiResponse(0.0, 3.0);
  EXPECT_FALSE(r.defined);
  EXPECT_FALSE(r.note.empty());
  EXPECT_FALSE(r.pasi50 || r.pasi75 || r.pasi90 || r.pasi100);
  EXPECT_THROW(ComputePasiResponse(-1, 0), Error);
  EXPECT_THROW(ComputePasiResponse(1, std::numeric_limits<double>::infinity()), Error);
}

TEST(VasiResponse, Thresholds) {
  auto r = ComputeVasiResponse(2.0, 0.5);
  EXPECT_NEAR(r.change_percent, 75.0, 1e-9);
  EXPECT_TRUE(r.vasi50);
  EXPECT_TRUE(r.vasi75);
  EXPECT_FALSE(r.vasi90);
  r = ComputeVasiResponse(2.0, 0.2);
  EXPECT_TRUE(r.vasi90);
  r = ComputeVasiResponse(0.0, 0.0);
  EXPECT_FALSE(r.defined);
}

TEST(VasiLadder, NearestLevel) {
  EXPECT_EQ(NearestVasiLevel(0), 0);
  EXPECT_EQ(NearestVasiLevel(4.9), 0);
  EXPECT_EQ(NearestVasiLevel(5.0), 10);  // half-way goes up
  EXPECT_EQ(NearestVasiLevel(17.4), 10);
  EXPECT_EQ(NearestVasiLevel(17.5), 25);
  EXPECT_EQ(NearestVasiLevel(37.6), 50);
  EXPECT_EQ(NearestVasiLevel(62.4), 50);
  EXPECT_EQ(NearestVasiLevel(82.6), 90);
  EXPECT_EQ(NearestVasiLevel(94.9), 90);
  EXPECT_EQ(NearestVasiLevel(95.0), 100);
  EXPECT_EQ(NearestVasiLevel(100), 100);
  EXPECT_THROW(NearestVasiLevel(101), Error);
}

TEST(Vasi, SitesTotalAndFace) {
  VasiSiteInput face{"face", 0.5, 80.0, Provenance::kMeasured, std::nullopt};
  VasiSiteInput hand{"left-hand", 0.25, 40.0, Provenance::kMeasured, 25};
  const VasiResult r = ComputeVasi({face, hand});
  const double face_bsa = FindBodySite("face").bsa_percent;
  const double hand_bsa = FindBodySite("left-hand").bsa_percent;
  ASSERT_EQ(r.sites.size(), 2u);
  EXPECT_EQ(r.sites[0].level, 75);  // 80 % -> nearest 75
  EXPECT_NEAR(r.sites[0].vasi, face_bsa * 0.5 * 0.75, 1e-12);
  EXPECT_NEAR(r.sites[0].vasi_continuous, face_bsa * 0.5 * 0.80, 1e-12);
  EXPECT_EQ(r.sites[1].level, 25);  // the clinician's level wins over the measured 40 %
  EXPECT_EQ(r.sites[1].level_provenance, Provenance::kClinician);
  EXPECT_NEAR(r.t_vasi, face_bsa * 0.5 * 0.75 + hand_bsa * 0.25 * 0.25, 1e-12);
  EXPECT_NEAR(r.f_vasi, face_bsa * 0.5 * 0.75, 1e-12);
  EXPECT_TRUE(r.face_imaged);
  EXPECT_LE(r.f_vasi, 3.0);
  EXPECT_FALSE(r.variant.empty());
}

TEST(Vasi, RejectsBadInput) {
  EXPECT_THROW(ComputeVasi({{"face", 1.2, 50, Provenance::kMeasured, std::nullopt}}), Error);
  EXPECT_THROW(ComputeVasi({{"face", 0.5, 50, Provenance::kMeasured, 30}}), Error);
  EXPECT_THROW(ComputeVasi({{"nose", 0.5, 50, Provenance::kMeasured, std::nullopt}}), Error);
}

TEST(Repigmentation, PercentAndGrades) {
  EXPECT_EQ(RepigmentationGrade(-10), 0);
  EXPECT_EQ(RepigmentationGrade(0), 0);
  EXPECT_EQ(RepigmentationGrade(0.5), 1);
  EXPECT_EQ(RepigmentationGrade(25), 1);
  EXPECT_EQ(RepigmentationGrade(25.5), 2);
  EXPECT_EQ(RepigmentationGrade(50), 2);
  EXPECT_EQ(RepigmentationGrade(51), 3);
  EXPECT_EQ(RepigmentationGrade(75), 3);
  EXPECT_EQ(RepigmentationGrade(76), 4);
  EXPECT_EQ(RepigmentationGrade(99.9), 4);
  EXPECT_EQ(RepigmentationGrade(100), 5);
  auto r = ComputeRepigmentation(200, 50);
  EXPECT_TRUE(r.defined);
  EXPECT_NEAR(r.percent, 75.0, 1e-12);
  EXPECT_EQ(r.grade, 3);
  r = ComputeRepigmentation(200, 0);
  EXPECT_EQ(r.grade, 5);
  r = ComputeRepigmentation(0, 10);
  EXPECT_FALSE(r.defined);
  EXPECT_THROW(ComputeRepigmentation(-1, 0), Error);
}

TEST(Provenance, NamesRoundTrip) {
  for (Provenance p : {Provenance::kMeasured, Provenance::kClinician, Provenance::kImputed,
                       Provenance::kConsensus}) {
    EXPECT_EQ(ParseProvenance(ProvenanceName(p)), p);
  }
  EXPECT_STREQ(ProvenanceName(Provenance::kConsensus), "consensus");
  EXPECT_THROW(ParseProvenance("guessed"), Error);
}

// A region's area is a consensus when every site's area is a person's mask and one at least is a
// consensus; a measured site makes it measured.
TEST(Provenance, ConsensusAreaOfARegion) {
  const auto region_area = [](Provenance left, Provenance right) {
    PsoriasisSiteMeasurement a, b;
    a.site = "left-forearm";
    b.site = "right-forearm";
    a.lesion_fraction = b.lesion_fraction = 0.1;
    a.area_provenance = left;
    b.area_provenance = right;
    return ScorePsoriasisVisit({a, b}).pasi.regions.at(0).input.area_provenance;
  };
  EXPECT_EQ(region_area(Provenance::kConsensus, Provenance::kConsensus), Provenance::kConsensus);
  EXPECT_EQ(region_area(Provenance::kClinician, Provenance::kConsensus), Provenance::kConsensus);
  EXPECT_EQ(region_area(Provenance::kClinician, Provenance::kClinician), Provenance::kClinician);
  EXPECT_EQ(region_area(Provenance::kConsensus, Provenance::kMeasured), Provenance::kMeasured);
  EXPECT_EQ(region_area(Provenance::kConsensus, Provenance::kImputed), Provenance::kImputed);
}

}  // namespace
}  // namespace skintrack::scoring
