#include <gtest/gtest.h>

#include <cmath>
#include <set>

#include "skintrack/core/body_sites.h"
#include "skintrack/core/colour.h"
#include "skintrack/core/error.h"

namespace skintrack {
namespace {

TEST(BodySites, SharesAddUpToWholeBody) {
  double total = 0;
  std::set<std::string> names;
  for (const BodySite& s : BodySiteCatalogue()) {
    total += s.bsa_percent;
    EXPECT_TRUE(names.insert(s.name).second) << "duplicate site " << s.name;
  }
  EXPECT_NEAR(total, 100.0, 1e-9);
}

TEST(BodySites, RegionsFollowRuleOfNines) {
  double pasi[4] = {0, 0, 0, 0};
  for (const BodySite& s : BodySiteCatalogue())
    pasi[static_cast<int>(s.pasi_region)] += s.bsa_percent;
  EXPECT_NEAR(pasi[0], 9.0, 1e-9);   // head and neck
  EXPECT_NEAR(pasi[1], 18.0, 1e-9);  // upper limbs
  EXPECT_NEAR(pasi[2], 37.0, 1e-9);  // trunk with perineum
  EXPECT_NEAR(pasi[3], 36.0, 1e-9);  // lower limbs with buttocks
}

TEST(BodySites, LookupAndErrors) {
  EXPECT_EQ(FindBodySite("face").is_face, true);
  EXPECT_EQ(FindBodySite("left-hand").vasi_region, VasiRegion::kHands);
  EXPECT_EQ(FindBodySite("right-forearm").pasi_region, PasiRegion::kUpperLimbs);
  try {
    FindBodySite("../etc");
    FAIL() << "expected an error";
  } catch (const Error& e) {
    EXPECT_EQ(e.code(), ErrorCode::kNotFound);
  }
  EXPECT_EQ(ParseCondition("vitiligo"), Condition::kVitiligo);
  EXPECT_THROW(ParseCondition("eczema"), Error);
}

TEST(Colour, ItaOfKnownTones) {
  EXPECT_NEAR(ItaDegrees(50.0 + std::tan(30.0 * M_PI / 180.0) * 20.0, 20.0), 30.0, 1e-9);
  EXPECT_STREQ(ItaGroup(60), "very_light");
  EXPECT_STREQ(ItaGroup(45), "light");
  EXPECT_STREQ(ItaGroup(30), "intermediate");
  EXPECT_STREQ(ItaGroup(20), "tan");
  EXPECT_STREQ(ItaGroup(0), "brown");
  EXPECT_STREQ(ItaGroup(-45), "dark");
  // The tone group of normal skin: its ITA group, unless a colour cast left it without yellow.
  EXPECT_STREQ(SkinToneGroup(70, 15), "light");  // ITA 53.1
  EXPECT_STREQ(SkinToneGroup(30, 12), "dark");
  EXPECT_STREQ(SkinToneGroup(40.6, 1.7), kToneUncertain);  // vitiligo-47's purple cast: ITA -80
  EXPECT_STREQ(SkinToneGroup(60, -3), kToneUncertain);
  EXPECT_STREQ(SkinToneGroup(60, kMinSkinYellowness), ItaGroup(ItaDegrees(60, 5)));
}

TEST(Colour, LabRoundTrip) {
  cv::Mat bgr(4, 4, CV_8UC3, cv::Scalar(90, 140, 200));
  cv::Mat lab = BgrToLab(bgr);
  const cv::Vec3f px = lab.at<cv::Vec3f>(2, 2);
  EXPECT_GT(px[0], 55);  // a light skin-like colour
  EXPECT_GT(px[1], 5);   // reddish
  EXPECT_GT(px[2], 15);  // yellowish
  cv::Mat back = LabToBgrFloat(lab);
  const cv::Vec3f b = back.at<cv::Vec3f>(1, 1);
  EXPECT_NEAR(b[0] * 255, 90, 1.0);
  EXPECT_NEAR(b[1] * 255, 140, 1.0);
  EXPECT_NEAR(b[2] * 255, 200, 1.0);
  EXPECT_THROW(BgrToLab(cv::Mat()), Error);
  EXPECT_THROW(BgrToLab(cv::Mat(2, 2, CV_8UC1)), Error);
}

}  // namespace
}  // namespace skintrack
