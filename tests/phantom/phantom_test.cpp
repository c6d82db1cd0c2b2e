#include "skintrack/phantom/phantom.h"

#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>
#include <opencv2/imgcodecs.hpp>
#include <opencv2/imgproc.hpp>

#include "../support/run_cli.h"
#include "skintrack/core/colour.h"
#include "skintrack/core/error.h"

namespace skintrack::phantom {
namespace {

using skintrack::testing::RunCli;
using skintrack::testing::TempDir;

PhantomOptions Small(Condition c, std::uint64_t seed = 11) {
  PhantomOptions o;
  o.condition = c;
  o.size = cv::Size(320, 240);
  o.visits = 3;
  o.seed = seed;
  return o;
}

bool Identical(const cv::Mat& a, const cv::Mat& b) {
  return a.size() == b.size() && a.type() == b.type() && cv::norm(a, b, cv::NORM_INF) == 0;
}

double Dice(const cv::Mat& a, const cv::Mat& b) {
  const double inter = cv::countNonZero(a & b);
  const double sum = cv::countNonZero(a) + cv::countNonZero(b);
  return sum > 0 ? 2 * inter / sum : 1.0;
}

cv::Mat WarpToBaseline(const cv::Mat& img, const cv::Matx23d& m, cv::Size size, int interp) {
  cv::Mat out;
  cv::warpAffine(img, out, cv::Mat(m), size, interp, cv::BORDER_CONSTANT, cv::Scalar::all(0));
  return out;
}

TEST(Phantom, SameSeedSamePixelsOtherSeedOtherPixels) {
  for (Condition c : {Condition::kPsoriasis, Condition::kVitiligo}) {
    const Series a = GeneratePhantom(Small(c));
    const Series b = GeneratePhantom(Small(c));
    const Series other = GeneratePhantom(Small(c, 12));
    ASSERT_EQ(a.visits.size(), 3u);
    for (size_t k = 0; k < a.visits.size(); ++k) {
      EXPECT_TRUE(Identical(a.visits[k].image, b.visits[k].image)) << "visit " << k;
      EXPECT_TRUE(Identical(a.visits[k].lesion_mask, b.visits[k].lesion_mask));
      EXPECT_TRUE(Identical(a.visits[k].skin_mask, b.visits[k].skin_mask));
      EXPECT_FALSE(Identical(a.visits[k].image, other.visits[k].image));
    }
    EXPECT_EQ(TruthJson(a), TruthJson(b));
  }
}

TEST(Phantom, AddingVisitsKeepsEarlierPoses) {
  PhantomOptions o = Small(Condition::kPsoriasis);
  const Series three = GeneratePhantom(o);
  o.visits = 5;
  const Series five = GeneratePhantom(o);
  for (int k = 0; k < 3; ++k) {
    EXPECT_EQ(three.visits[k].truth.pose.rotation_deg, five.visits[k].truth.pose.rotation_deg);
    EXPECT_EQ(three.visits[k].truth.to_baseline, five.visits[k].truth.to_baseline);
  }
}

TEST(Phantom, BaselineIsIdentityAndMasksAreBinary) {
  const Series s = GeneratePhantom(Small(Condition::kVitiligo));
  const VisitTruth& t0 = s.visits[0].truth;
  EXPECT_EQ(t0.to_baseline, cv::Matx23d(1, 0, 0, 0, 1, 0));
  for (const Visit& v : s.visits) {
    EXPECT_EQ(v.image.type(), CV_8UC3);
    EXPECT_EQ(v.image.size(), cv::Size(320, 240));
    for (const cv::Mat* m : {&v.skin_mask, &v.lesion_mask, &v.envelope_mask}) {
      ASSERT_EQ(m->type(), CV_8UC1);
      EXPECT_EQ(cv::countNonZero(*m == 0) + cv::countNonZero(*m == 255), m->rows * m->cols);
    }
    // Lesions lie on skin; depigmented pixels lie inside the envelope.
    EXPECT_EQ(cv::countNonZero(v.lesion_mask & ~v.skin_mask), 0);
    EXPECT_EQ(cv::countNonZero(v.lesion_mask & ~v.envelope_mask), 0);
    EXPECT_NEAR(v.truth.lesion_fraction,
                double(cv::countNonZero(v.lesion_mask)) / cv::countNonZero(v.skin_mask), 1e-12);
  }
}

// Geometry-only series: the warped visit-K masks and pixels must land on visit 0's.
TEST(Phantom, TruthMatrixAlignsMasksAndPixelsWithBaseline) {
  PhantomOptions o = Small(Condition::kPsoriasis, 5);
  o.size = cv::Size(400, 300);
  o.visits = 4;
  o.lesion_changes = false;
  o.lighting_changes = false;
  o.noise_sigma = 0;
  const Series s = GeneratePhantom(o);
  const Visit& base = s.visits[0];
  for (int k = 1; k < 4; ++k) {
    const Visit& v = s.visits[k];
    const cv::Matx23d& m = v.truth.to_baseline;
    // Where visit k saw the site, its warped masks equal the baseline's.
    const cv::Mat seen = WarpToBaseline(cv::Mat(v.image.size(), CV_8U, cv::Scalar(255)), m, o.size,
                                        cv::INTER_NEAREST);
    cv::Mat inner;
    cv::erode(seen, inner, cv::Mat(), cv::Point(-1, -1), 3);
    const cv::Mat skin = WarpToBaseline(v.skin_mask, m, o.size, cv::INTER_NEAREST) & inner;
    const cv::Mat lesion = WarpToBaseline(v.lesion_mask, m, o.size, cv::INTER_NEAREST) & inner;
    EXPECT_GT(Dice(skin, base.skin_mask & inner), 0.98) << "visit " << k;
    if (cv::countNonZero(base.lesion_mask & inner) > 200) {
      EXPECT_GT(Dice(lesion, base.lesion_mask & inner), 0.93) << "visit " << k;
    }
    // Pixels: the true matrix explains the image much better than one off by two pixels.
    auto error = [&](const cv::Matx23d& mm) {
      const cv::Mat warped = WarpToBaseline(v.image, mm, o.size, cv::INTER_LINEAR);
      cv::Mat diff;
      cv::absdiff(warped, base.image, diff);
      cv::Mat interior_skin;
      cv::erode(base.skin_mask & inner, interior_skin, cv::Mat(), cv::Point(-1, -1), 2);
      return cv::mean(diff, interior_skin)[1];
    };
    cv::Matx23d off = m;
    off(0, 2) += 2.0;
    const double good = error(m), bad = error(off);
    EXPECT_LT(good, 6.0) << "visit " << k;
    EXPECT_GT(bad, good * 1.3) << "visit " << k;
  }
}

TEST(Phantom, MapToBaselineMatchesMatrixForAffinePoses) {
  const Series s = GeneratePhantom(Small(Condition::kPsoriasis));
  for (int k = 0; k < 3; ++k) {
    const cv::Matx23d& m = s.visits[k].truth.to_baseline;
    EXPECT_TRUE(s.visits[k].truth.matrix_exact);
    for (cv::Point2d p : {cv::Point2d(0, 0), cv::Point2d(319, 239), cv::Point2d(100.5, 37.25)}) {
      const cv::Point2d b = s.MapToBaseline(k, p);
      EXPECT_NEAR(b.x, m(0, 0) * p.x + m(0, 1) * p.y + m(0, 2), 1e-9);
      EXPECT_NEAR(b.y, m(1, 0) * p.x + m(1, 1) * p.y + m(1, 2), 1e-9);
    }
  }
  EXPECT_THROW(s.MapToBaseline(3, {0, 0}), Error);
}

TEST(Phantom, DeformedPosesHaveExactMapAndApproximateMatrix) {
  PhantomOptions o = Small(Condition::kVitiligo);
  o.deformation_px = 6;
  o.perspective = 1e-4;
  const Series s = GeneratePhantom(o);
  const VisitTruth& t = s.visits[1].truth;
  EXPECT_FALSE(t.matrix_exact);
  double worst = 0;
  bool differs = false;
  for (int y = 0; y < 240; y += 20) {
    for (int x = 0; x < 320; x += 20) {
      const cv::Point2d b = s.MapToBaseline(1, {double(x), double(y)});
      const cv::Point2d a(t.to_baseline(0, 0) * x + t.to_baseline(0, 1) * y + t.to_baseline(0, 2),
                          t.to_baseline(1, 0) * x + t.to_baseline(1, 1) * y + t.to_baseline(1, 2));
      worst = std::max(worst, cv::norm(a - b));
      differs = differs || cv::norm(a - b) > 0.05;
    }
  }
  EXPECT_TRUE(differs);    // the deformation is really there
  EXPECT_LT(worst, 40.0);  // and the fitted affine is still a sensible approximation
}

TEST(Phantom, EverySkinTypeHasItsToneAndVisibleLesions) {
  double previous_ita = 1e9;
  for (int type = 1; type <= 6; ++type) {
    for (Condition c : {Condition::kPsoriasis, Condition::kVitiligo}) {
      PhantomOptions o = Small(c, 100 + type);
      o.fitzpatrick = type;
      o.visits = 1;
      const Series s = GeneratePhantom(o);
      const Visit& v = s.visits[0];
      const char* expected_group[6] = {"very_light", "light", "intermediate",
                                       "tan",        "brown", "dark"};
      EXPECT_STREQ(ItaGroup(s.tone.ita_target), expected_group[type - 1]) << "type " << type;
      EXPECT_NEAR(s.tone.ita_measured, s.tone.ita_target, 8.0) << "type " << type;
      if (c == Condition::kPsoriasis) {
        EXPECT_LT(s.tone.ita_target, previous_ita);
        previous_ita = s.tone.ita_target;
      }
      ASSERT_GT(v.truth.lesion_pixels, 100) << "type " << type;
      EXPECT_GT(v.truth.lesion_fraction, 0.03);
      EXPECT_LT(v.truth.lesion_fraction, 0.6);
      const cv::Mat lab = BgrToLab(v.image);
      const cv::Mat normal = v.skin_mask & ~v.lesion_mask;
      const cv::Scalar in = cv::mean(lab, v.lesion_mask), out = cv::mean(lab, normal);
      if (c == Condition::kPsoriasis) {
        // Scale (white, low chroma) covers part of a plaque: compare its median a*.
        std::vector<float> a_in;
        for (int y = 0; y < lab.rows; ++y) {
          for (int x = 0; x < lab.cols; ++x) {
            if (v.lesion_mask.at<unsigned char>(y, x)) a_in.push_back(lab.at<cv::Vec3f>(y, x)[1]);
          }
        }
        std::nth_element(a_in.begin(), a_in.begin() + a_in.size() / 2, a_in.end());
        EXPECT_GT(a_in[a_in.size() / 2] - out[1], 3.0)
            << "plaques must be redder than skin, type " << type;
        EXPECT_GE(v.truth.erythema_grade, 1);
        EXPECT_GT(v.truth.erythema_delta_a, 0);
      } else {
        EXPECT_GT(in[0] - out[0], 5.0) << "patches must be lighter than skin, type " << type;
        EXPECT_LT(in[2] - out[2], 0.0) << "and less yellow, type " << type;
        EXPECT_GE(v.truth.depigmentation_level, 75);
      }
    }
  }
}

TEST(Phantom, TreatmentResponseShapesTheSeries) {
  for (Condition c : {Condition::kPsoriasis, Condition::kVitiligo}) {
    PhantomOptions o = Small(c, 21);
    o.visits = 4;
    o.new_lesions = false;
    o.response = Response::kResponder;
    const Series good = GeneratePhantom(o);
    const double first = good.visits.front().truth.lesion_fraction_site;
    const double last = good.visits.back().truth.lesion_fraction_site;
    EXPECT_LT(last, 0.6 * first) << ConditionName(c);
    o.response = Response::kNonResponder;
    const Series none = GeneratePhantom(o);
    const double n0 = none.visits.front().truth.lesion_fraction_site;
    const double n3 = none.visits.back().truth.lesion_fraction_site;
    EXPECT_NEAR(n3 / n0, 1.0, 0.2) << ConditionName(c);
    if (c == Condition::kVitiligo) {
      EXPECT_GT(good.visits.back().truth.repigmentation_percent, 30.0);
      EXPECT_LT(good.visits.back().truth.depigmentation, good.visits.front().truth.depigmentation);
    } else {
      EXPECT_LE(good.visits.back().truth.erythema_grade, good.visits.front().truth.erythema_grade);
    }
  }
}

// The hard cases for the segmenters: diffuse erythema is drawn into the skin but not into the
// truth; a lesion coverage sets the baseline share of lesions; no lesions means empty truth.
TEST(Phantom, DiffuseErythemaReddensSkinButIsNoLesion) {
  PhantomOptions plain = Small(Condition::kPsoriasis);
  PhantomOptions red = plain;
  red.diffuse_erythema = 5;
  const Series a = GeneratePhantom(plain), b = GeneratePhantom(red), b2 = GeneratePhantom(red);
  for (size_t k = 0; k < a.visits.size(); ++k) {
    EXPECT_TRUE(Identical(a.visits[k].lesion_mask, b.visits[k].lesion_mask)) << k;
    EXPECT_TRUE(Identical(a.visits[k].skin_mask, b.visits[k].skin_mask)) << k;
    EXPECT_TRUE(Identical(b.visits[k].image, b2.visits[k].image)) << k;
    // Normal skin is redder somewhere (a* up to +5) and nowhere less red.
    const cv::Mat normal = a.visits[k].skin_mask & ~a.visits[k].lesion_mask;
    std::vector<cv::Mat> la, lb;
    cv::split(BgrToLab(a.visits[k].image), la);
    cv::split(BgrToLab(b.visits[k].image), lb);
    const cv::Mat da = lb[1] - la[1];
    double lo = 0, hi = 0;
    cv::minMaxLoc(da, &lo, &hi, nullptr, nullptr, normal);
    EXPECT_GT(hi, 3.0) << k;
    EXPECT_GT(lo, -1.5) << k;
  }
  EXPECT_EQ(nlohmann::json::parse(TruthJson(b))["options"]["diffuse_erythema"], 5.0);
  // Defaults leave truth.json as it was (data-samples stay reproducible).
  EXPECT_EQ(TruthJson(a).find("diffuse_erythema"), std::string::npos);
  EXPECT_EQ(TruthJson(a).find("lesion_coverage"), std::string::npos);
}

TEST(Phantom, LesionCoverageAndNoLesions) {
  for (Condition c : {Condition::kPsoriasis, Condition::kVitiligo}) {
    PhantomOptions o = Small(c);
    o.response = Response::kNonResponder;
    o.lesion_coverage = 0.6;
    const Series s = GeneratePhantom(o);
    EXPECT_NEAR(s.visits[0].truth.lesion_fraction_site, 0.6, 0.05) << ConditionName(c);
    EXPECT_GT(s.visits[0].truth.lesion_fraction, 0.45) << ConditionName(c);
    EXPECT_TRUE(Identical(GeneratePhantom(o).visits[1].image, s.visits[1].image));
    o.lesion_coverage = 0;
    o.lesions = false;
    const Series none = GeneratePhantom(o);
    for (const Visit& v : none.visits) {
      EXPECT_EQ(cv::countNonZero(v.lesion_mask), 0) << ConditionName(c);
      EXPECT_EQ(v.truth.lesion_fraction, 0.0);
      EXPECT_EQ(v.truth.erythema_grade, 0);
    }
  }
}

TEST(Phantom, OptionsAreChecked) {
  auto rejects = [](auto change) {
    PhantomOptions o;
    change(o);
    EXPECT_THROW(o.Check(), Error);
  };
  rejects([](PhantomOptions& o) { o.visits = 0; });
  rejects([](PhantomOptions& o) { o.fitzpatrick = 7; });
  rejects([](PhantomOptions& o) { o.size = cv::Size(8, 100); });
  rejects([](PhantomOptions& o) { o.min_scale = 2.0; });
  rejects([](PhantomOptions& o) { o.site = "elbow/../x"; });
  rejects([](PhantomOptions& o) { o.jpeg_quality = 101; });
  rejects([](PhantomOptions& o) { o.max_shift = -0.1; });
  rejects([](PhantomOptions& o) { o.diffuse_erythema = 13; });
  rejects([](PhantomOptions& o) { o.lesion_coverage = 0.9; });
  rejects([](PhantomOptions& o) { o.lesion_coverage = 0.005; });
  rejects([](PhantomOptions& o) {
    o.lesions = false;
    o.lesion_coverage = 0.5;
  });
  EXPECT_THROW(ParseResponse("cured"), Error);
  PhantomOptions fine;
  EXPECT_NO_THROW(fine.Check());
}

TEST(PhantomFiles, WritesImagesMasksAndTruth) {
  TempDir dir("phantom");
  PhantomOptions o = Small(Condition::kVitiligo);
  o.jpeg_quality = 90;
  const Series s = GeneratePhantom(o);
  WriteSeries(s, dir.str());
  namespace fs = std::filesystem;
  for (int k = 0; k < 3; ++k) {
    const std::string base = dir.str() + "/visit-" + std::to_string(k);
    ASSERT_TRUE(fs::exists(base + ".jpg"));
    EXPECT_TRUE(Identical(cv::imread(base + ".jpg", cv::IMREAD_COLOR), s.visits[k].image));
    EXPECT_TRUE(
        Identical(cv::imread(base + ".lesion.png", cv::IMREAD_UNCHANGED), s.visits[k].lesion_mask));
    EXPECT_TRUE(
        Identical(cv::imread(base + ".skin.png", cv::IMREAD_UNCHANGED), s.visits[k].skin_mask));
    EXPECT_TRUE(fs::exists(base + ".envelope.png"));
  }
  std::ifstream in(dir.path() / "truth.json");
  const auto j = nlohmann::json::parse(in);
  EXPECT_EQ(j["options"]["condition"], "vitiligo");
  ASSERT_EQ(j["visits"].size(), 3u);
  const auto& v1 = j["visits"][1];
  EXPECT_EQ(v1["image"], "visit-1.jpg");
  EXPECT_EQ(v1["to_baseline"].size(), 2u);
  EXPECT_EQ(v1["correspondences"].size(), 63u);
  EXPECT_DOUBLE_EQ(v1["to_baseline"][0][2].get<double>(), s.visits[1].truth.to_baseline(0, 2));
  EXPECT_TRUE(v1["depigmentation"].contains("ladder_level_percent"));
  EXPECT_EQ(j["skin_tone"]["fitzpatrick"], 3);
}

TEST(PhantomCli, WritesSeriesAndPrintsSummary) {
  TempDir dir("phantom-cli");
  auto r = RunCli("phantom --out " + dir.str() + " --visits 2 --size 200x160 --seed 3");
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_NE(r.out.find("phantom series: psoriasis"), std::string::npos) << r.out;
  EXPECT_TRUE(std::filesystem::exists(dir.path() / "visit-1.png"));
  EXPECT_TRUE(std::filesystem::exists(dir.path() / "truth.json"));
}

TEST(PhantomCli, BadArgumentsFailClearlyAndWriteNothing) {
  TempDir dir("phantom-bad");
  const std::string out = (dir.path() / "series").string();
  struct Case {
    std::string args, message;
  };
  const Case cases[] = {
      {"--visits 0", "--visits must be between 1 and 50"},
      {"--fitzpatrick 7", "--fitzpatrick must be between 1 and 6"},
      {"--size 100", "--size must look like"},
      {"--size 10x10", "--size must be between"},
      {"--condition eczema", "unknown condition 'eczema'"},
      {"--site elbow", "unknown body site 'elbow'"},
      {"--seed abc", "--seed must be a whole number"},
      {"--response cured", "unknown response 'cured'"},
      {"--colour red", "unknown option --colour"},
      {"--diffuse-erythema 20", "--diffuse-erythema must be between"},
      {"--lesion-coverage 0.95", "--lesion-coverage must be between"},
      {"--extensive --lesion-coverage 0.5", "not both"},
      {"--no-lesions --extensive", "lesion coverage needs lesions"},
  };
  for (const Case& c : cases) {
    auto r = RunCli("phantom --out " + out + " " + c.args);
    EXPECT_NE(r.exit_code, 0) << c.args;
    EXPECT_NE(r.err.find(c.message), std::string::npos) << c.args << ": " << r.err;
    EXPECT_FALSE(std::filesystem::exists(out)) << c.args;
  }
  auto r = RunCli("phantom --visits 2");
  EXPECT_EQ(r.exit_code, 2);
  EXPECT_NE(r.err.find("missing required option --out"), std::string::npos);
}

}  // namespace
}  // namespace skintrack::phantom

namespace skintrack::phantom {
namespace {

// data-samples/ must be what the generator makes with the commands in data-samples/README.md.
// Compared with a tolerance (not bit for bit) so that a different SIMD path of OpenCV on another
// CPU does not fail the test, while any real change of the generator does.
TEST(PhantomSamples, CommittedSamplesAreReproducible) {
  struct Sample {
    const char* dir;
    Condition condition;
    int fitzpatrick;
  };
  for (const Sample& sample : {Sample{"psoriasis-forearm", Condition::kPsoriasis, 3},
                               Sample{"vitiligo-hand", Condition::kVitiligo, 5}}) {
    const std::string dir = std::string(SKINTRACK_SOURCE_DIR) + "/data-samples/" + sample.dir;
    PhantomOptions o;
    o.condition = sample.condition;
    o.visits = 4;
    o.seed = 7;
    o.fitzpatrick = sample.fitzpatrick;
    o.size = cv::Size(1024, 768);
    o.jpeg_quality = 90;
    const Series s = GeneratePhantom(o);
    std::ifstream in(dir + "/truth.json");
    ASSERT_TRUE(in) << dir;
    const auto committed = nlohmann::json::parse(in);
    const auto fresh = nlohmann::json::parse(TruthJson(s));
    for (int k = 0; k < 4; ++k) {
      const std::string base = dir + "/visit-" + std::to_string(k);
      const cv::Mat lesion = cv::imread(base + ".lesion.png", cv::IMREAD_UNCHANGED);
      const cv::Mat image = cv::imread(base + ".jpg", cv::IMREAD_COLOR);
      ASSERT_FALSE(lesion.empty()) << base;
      EXPECT_GT(Dice(lesion, s.visits[k].lesion_mask), 0.995) << base;
      cv::Mat diff;
      cv::absdiff(image, s.visits[k].image, diff);
      EXPECT_LT(cv::mean(diff)[0], 0.5) << base;
      const auto& a = committed["visits"][k];
      const auto& b = fresh["visits"][k];
      EXPECT_NEAR(a["lesion_fraction"].get<double>(), b["lesion_fraction"].get<double>(), 1e-3);
      for (int r = 0; r < 2; ++r) {
        for (int c = 0; c < 3; ++c) {
          EXPECT_NEAR(a["to_baseline"][r][c].get<double>(), b["to_baseline"][r][c].get<double>(),
                      1e-9);
        }
      }
    }
  }
}

}  // namespace
}  // namespace skintrack::phantom
