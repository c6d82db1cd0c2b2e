// The DermX photos (several dermatologists per photo; label `eval`) go through the whole path a
// dataset takes: each photo's dermatologist masks become a COCO file, the file is parsed and
// imported into a store (the photo through the capture intake as a new capture), the consensus is
// built and stored by pipeline::BuildCaptureConsensus, and the stored consensus mask and agreement
// figures are checked against a computation written here pixel by pixel. Prints the figures per
// photo. Skips with a message when ../shared/data is absent.
#include <gtest/gtest.h>

#include <cstdio>
#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>
#include <sstream>
#include <vector>

#include "skintrack/annotation/coco.h"
#include "skintrack/annotation/rle.h"
#include "skintrack/pipeline/annotation_dataset.h"
#include "skintrack/pipeline/annotations.h"
#include "skintrack/pipeline/results.h"
#include "skintrack/scoring/learned_dataset.h"
#include "skintrack/service/image_intake.h"
#include "skintrack/storage/sha256.h"

namespace skintrack::pipeline {
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

std::string Slurp(const fs::path& p) {
  std::ifstream in(p, std::ios::binary);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

// The photo's dermatologists' masks as the COCO file another tool would hand over.
std::string CocoOf(const scoring::AnnotatedPhoto& p, const std::string& file_name,
                   annotation::MaskClass lesion) {
  annotation::CocoDataset d;
  const cv::Size size = p.annotator_masks[0].size();
  d.images.push_back({1, size.width, size.height, file_name, {}, "", {}, {}, {}, {}, {}});
  d.categories.push_back({1, annotation::MaskClassName(lesion), "", {}});
  for (size_t i = 0; i < p.annotators.size(); ++i) {
    annotation::CocoAnnotation a;
    a.id = static_cast<std::int64_t>(i) + 1;
    a.image_id = 1;
    a.category_id = 1;
    a.segmentation = annotation::EncodeRle(p.annotator_masks[i]);
    a.annotator = p.annotators[i];
    d.annotations.push_back(a);
  }
  return annotation::WriteCoco(d);
}

CocoImportImage TakeIn(const fs::path& photo, const std::string& patient, Condition condition) {
  const std::string bytes = Slurp(photo);
  const service::ValidatedUpload img = service::ValidateUpload(bytes, "image/jpeg");
  CocoImportImage in;
  in.capture.patient_id = patient;
  in.capture.site = "trunk-anterior";
  in.capture.condition = condition;
  in.capture.captured_at = 1767225600000;
  in.capture.media_type = img.media_type;
  in.capture.width = img.width;
  in.capture.height = img.height;
  in.capture.orientation = img.orientation;
  in.capture.upload_sha256 = storage::Sha256Hex(bytes);
  in.bytes = img.bytes;
  return in;
}

struct Figures {
  double pairwise = 0;
  double loo = 0;
};

// The stored consensus and agreement of one imported photo against the counted ones.
Figures CheckPhoto(storage::Store& store, const scoring::AnnotatedPhoto& p, const fs::path& photo,
                   Condition condition, annotation::MaskClass lesion) {
  const std::string patient = condition == Condition::kPsoriasis ? "DERMX-PSO" : "DERMX-VIT";
  CocoImportOptions options;
  options.new_captures.push_back(TakeIn(photo, patient, condition));
  const auto dataset = annotation::ParseCoco(CocoOf(p, photo.filename().string(), lesion));
  const CocoImportReport r = ImportCocoDataset(store, dataset, options, "cli");
  EXPECT_EQ(r.annotations_imported, static_cast<int>(p.annotators.size()));
  const storage::Capture capture = *store.repository().FindCapture(r.capture_ids.at(0));
  const Annotator qa{"cli", storage::Role::kAdmin};
  const CaptureConsensus built =
      BuildCaptureConsensus(store, capture, scoring::ConsensusMethod::kMajority, qa, {});

  const auto& masks = p.annotator_masks;
  const auto stored_mask = LatestMask(store, capture.id, result::kLesionMask);
  EXPECT_TRUE(stored_mask);
  if (stored_mask) {
    EXPECT_GE(CountedDice(*stored_mask, CountedMajority(masks)), 0.999);
  }
  const auto agreement = LatestResult(store, capture.id, "annotation_agreement");
  EXPECT_TRUE(agreement);
  if (!agreement) return {};
  EXPECT_EQ(agreement->id, built.agreement.id);
  const auto stored = nlohmann::json::parse(agreement->payload_json);
  Figures f;
  double pairs = 0;
  int n_pairs = 0;
  for (size_t i = 0; i < masks.size(); ++i) {
    std::vector<cv::Mat> others;
    for (size_t j = 0; j < masks.size(); ++j) {
      if (j != i) others.push_back(masks[j]);
      if (j > i) {
        pairs += CountedDice(masks[i], masks[j]);
        ++n_pairs;
      }
    }
    const double loo = CountedDice(masks[i], CountedMajority(others));
    f.loo += loo / static_cast<double>(masks.size());
    bool found = false;
    for (const auto& a : stored.at("per_annotator")) {
      if (a.at("author") != "coco:" + p.annotators[i]) continue;
      found = true;
      EXPECT_NEAR(a.at("dice_vs_others").get<double>(), loo, 0.005) << p.annotators[i];
    }
    EXPECT_TRUE(found) << p.image.name << ": no stored figures for " << p.annotators[i];
  }
  f.pairwise = pairs / n_pairs;
  EXPECT_NEAR(stored.at("pairwise_dice_mean").get<double>(), f.pairwise, 0.005) << p.image.name;
  return f;
}

void CheckSet(const char* condition_name, Condition condition, scoring::LearnedTarget target,
              annotation::MaskClass lesion) {
  const fs::path root = kData / condition_name / "dermx";
  if (!fs::is_directory(root)) GTEST_SKIP() << root << " is absent";
  const auto photos = scoring::LoadAnnotatorFolder((root / "images").string(),
                                                   (root / "annotators").string(), target);
  auto store = storage::Store::OpenInMemory();
  storage::PatientInfo info;
  info.id = condition == Condition::kPsoriasis ? "DERMX-PSO" : "DERMX-VIT";
  store->repository().CreatePatient(info, "test");
  std::printf("%-36s %3s %9s %9s\n", condition_name, "n", "pairwise", "loo_maj");
  double pair_sum = 0, loo_sum = 0;
  int counted = 0;
  for (const scoring::AnnotatedPhoto& p : photos) {
    if (p.annotator_masks.size() < 2) continue;
    fs::path photo = root / "images" / p.image.name;
    if (!fs::exists(photo)) photo += ".jpg";
    SCOPED_TRACE(p.image.name);
    const Figures f = CheckPhoto(*store, p, photo, condition, lesion);
    std::printf("%-36s %3zu %9.3f %9.3f\n", p.image.name.c_str(), p.annotator_masks.size(),
                f.pairwise, f.loo);
    pair_sum += f.pairwise;
    loo_sum += f.loo;
    ++counted;
  }
  ASSERT_GT(counted, 0);
  std::printf("%-36s %3d %9.3f %9.3f   (means over photos)\n", condition_name, counted,
              pair_sum / counted, loo_sum / counted);
}

TEST(AnnotationRealData, PsoriasisDermxThroughCocoAndTheStore) {
  CheckSet("psoriasis", Condition::kPsoriasis, scoring::LearnedTarget::kPsoriasis,
           annotation::MaskClass::kPsoriasisPlaque);
}
TEST(AnnotationRealData, VitiligoDermxThroughCocoAndTheStore) {
  CheckSet("vitiligo", Condition::kVitiligo, scoring::LearnedTarget::kVitiligo,
           annotation::MaskClass::kVitiligoDepigmented);
}

}  // namespace
}  // namespace skintrack::pipeline
