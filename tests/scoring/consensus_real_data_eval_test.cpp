// Consensus and agreement on the DermX photos (several dermatologists per photo; label `eval`):
// the library's majority consensus, pairwise and leave-one-out Dice are checked against a
// computation written here pixel by pixel, and the agreement figures are printed per photo, with
// STAPLE beside majority vote. Skips with a message when SKINTRACK_SHARED_DATA_DIR is absent.
#include <gtest/gtest.h>

#include <cstdio>
#include <filesystem>
#include <vector>

#include "skintrack/scoring/consensus.h"
#include "skintrack/scoring/learned_dataset.h"

namespace skintrack::scoring {
namespace {

namespace fs = std::filesystem;
const fs::path kData = SKINTRACK_SHARED_DATA_DIR;

// Votes counted pixel by pixel: marked by at least half of `masks`.
cv::Mat CountedMajority(const std::vector<cv::Mat>& masks) {
  cv::Mat out = cv::Mat::zeros(masks[0].size(), CV_8U);
  for (int y = 0; y < out.rows; ++y) {
    for (int x = 0; x < out.cols; ++x) {
      size_t votes = 0;
      for (const cv::Mat& m : masks) votes += m.at<uchar>(y, x) != 0 ? 1 : 0;
      out.at<uchar>(y, x) = 2 * votes >= masks.size() ? 255 : 0;
    }
  }
  return out;
}

double CountedDice(const cv::Mat& a, const cv::Mat& b) {
  double both = 0, na = 0, nb = 0;
  for (int y = 0; y < a.rows; ++y) {
    for (int x = 0; x < a.cols; ++x) {
      const bool pa = a.at<uchar>(y, x) != 0, pb = b.at<uchar>(y, x) != 0;
      na += pa ? 1 : 0;
      nb += pb ? 1 : 0;
      both += pa && pb ? 1 : 0;
    }
  }
  return na + nb == 0 ? 1.0 : 2 * both / (na + nb);
}

void CheckSet(const char* condition, LearnedTarget target) {
  const fs::path root = kData / condition / "dermx";
  if (!fs::is_directory(root)) {
    GTEST_SKIP() << root << " is absent";
  }
  const auto photos =
      LoadAnnotatorFolder((root / "images").string(), (root / "annotators").string(), target);
  std::printf("%-36s %3s %9s %9s %9s %9s\n", condition, "n", "pairwise", "loo_maj", "loo_stap",
              "stap~maj");
  double loo_sum = 0, pair_sum = 0;
  int counted = 0;
  for (const AnnotatedPhoto& p : photos) {
    const auto& masks = p.annotator_masks;
    if (masks.size() < 2) continue;
    const ConsensusReport maj = BuildConsensus(masks, ConsensusMethod::kMajority);
    const ConsensusReport stap = BuildConsensus(masks, ConsensusMethod::kStaple);
    EXPECT_GE(CountedDice(maj.mask, CountedMajority(masks)), 0.999) << p.image.name;
    double pairs = 0;
    int n_pairs = 0;
    double loo = 0;
    for (size_t i = 0; i < masks.size(); ++i) {
      std::vector<cv::Mat> others;
      for (size_t j = 0; j < masks.size(); ++j) {
        if (j != i) others.push_back(masks[j]);
        if (j > i) {
          pairs += CountedDice(masks[i], masks[j]);
          ++n_pairs;
        }
      }
      const double independent = CountedDice(masks[i], CountedMajority(others));
      EXPECT_NEAR(maj.per_annotator[i].dice_vs_others, independent, 0.005) << p.image.name;
      loo += independent;
    }
    EXPECT_NEAR(maj.pairwise_dice_mean, pairs / n_pairs, 0.005) << p.image.name;
    double stap_loo = 0;
    for (const AnnotatorAgreement& a : stap.per_annotator) stap_loo += a.dice_vs_others;
    const double n = static_cast<double>(masks.size());
    std::printf("%-36s %3zu %9.3f %9.3f %9.3f %9.3f\n", p.image.name.c_str(), masks.size(),
                maj.pairwise_dice_mean, loo / n, stap_loo / n, MaskDice(stap.mask, maj.mask));
    loo_sum += loo / n;
    pair_sum += maj.pairwise_dice_mean;
    ++counted;
  }
  ASSERT_GT(counted, 0);
  std::printf("%-36s %3d %9.3f %9.3f   (means over photos)\n", condition, counted,
              pair_sum / counted, loo_sum / counted);
}

TEST(ConsensusRealData, PsoriasisDermx) { CheckSet("psoriasis", LearnedTarget::kPsoriasis); }
TEST(ConsensusRealData, VitiligoDermx) { CheckSet("vitiligo", LearnedTarget::kVitiligo); }

}  // namespace
}  // namespace skintrack::scoring
