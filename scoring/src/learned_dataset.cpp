#include "skintrack/scoring/learned_dataset.h"

#include <algorithm>
#include <cstddef>
#include <filesystem>
#include <map>
#include <opencv2/imgcodecs.hpp>
#include <opencv2/imgproc.hpp>

#include "learned_model_impl.h"
#include "skintrack/core/colour.h"
#include "skintrack/core/error.h"

namespace skintrack::scoring {
namespace {

namespace fs = std::filesystem;

bool IsImageFile(const fs::path& p) {
  std::string ext = p.extension().string();
  std::transform(ext.begin(), ext.end(), ext.begin(),
                 [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
  return ext == ".jpg" || ext == ".jpeg" || ext == ".png" || ext == ".bmp" || ext == ".tif" ||
         ext == ".tiff" || ext == ".webp";
}

std::optional<fs::path> MaskFor(const fs::path& masks, const std::string& stem) {
  for (const char* suffix : {"", "_mask", "_lesion", "_segmentation", "_gt"}) {
    for (const char* ext : {".png", ".PNG"}) {
      const fs::path p = masks / (stem + suffix + ext);
      if (fs::is_regular_file(p)) return p;
    }
  }
  return std::nullopt;
}

std::vector<std::string> ClassesOf(LearnedTarget t) {
  if (t == LearnedTarget::kPsoriasis) return {"Plaque", "Scale", "Papule"};
  if (t == LearnedTarget::kVitiligo) return {"Patch", "Macule"};
  throw Error(ErrorCode::kInvalidArgument,
              "annotator folders hold lesion classes: use them for psoriasis or vitiligo");
}

}  // namespace

std::vector<fs::path> ImagesIn(const fs::path& dir) {
  if (!fs::is_directory(dir))
    throw Error(ErrorCode::kNotFound, "no such directory: " + dir.string());
  std::vector<fs::path> files;
  for (const auto& e : fs::directory_iterator(dir))
    if (e.is_regular_file() && IsImageFile(e.path())) files.push_back(e.path());
  std::sort(files.begin(), files.end());
  return files;
}

cv::Mat ReadBinaryMask(const std::string& path, cv::Size expected, bool binarise) {
  if (!fs::is_regular_file(path)) throw Error(ErrorCode::kIo, "cannot read mask " + path);
  cv::Mat m;
  try {
    m = cv::imread(path, cv::IMREAD_UNCHANGED);
  } catch (const cv::Exception& e) {
    throw Error(ErrorCode::kImageDecode, "cannot decode mask " + path + ": " + e.what());
  }
  if (m.empty()) throw Error(ErrorCode::kImageDecode, "cannot decode mask " + path);
  if (m.depth() != CV_8U)
    throw Error(ErrorCode::kInvalidArgument, "mask " + path + " is not 8-bit");
  if (m.channels() > 1) {
    std::vector<cv::Mat> ch;
    cv::split(m, ch);
    for (int c = 1; c < std::min(3, m.channels()); ++c) {
      if (cv::countNonZero(ch[c] != ch[0]) > 0)
        throw Error(ErrorCode::kInvalidArgument, "mask " + path + " is coloured, not grey");
    }
    m = ch[0];
  }
  if (expected != cv::Size() && m.size() != expected) {
    throw Error(ErrorCode::kInvalidArgument,
                "mask " + path + " is " + std::to_string(m.cols) + "x" + std::to_string(m.rows) +
                    " but its image is " + std::to_string(expected.width) + "x" +
                    std::to_string(expected.height));
  }
  if (binarise) return m >= 128;
  if (cv::countNonZero((m != 0) & (m != 255)) > 0) {
    throw Error(ErrorCode::kInvalidArgument,
                "mask " + path + " is not binary (values other than 0 and 255)");
  }
  return m;
}

std::vector<LabelledImage> LoadMaskFolder(const std::string& images_dir,
                                          const std::string& masks_dir, bool binarise) {
  if (!fs::is_directory(masks_dir))
    throw Error(ErrorCode::kNotFound, "no such directory: " + masks_dir);
  std::vector<LabelledImage> out;
  for (const fs::path& f : ImagesIn(images_dir)) {
    const auto mask = MaskFor(masks_dir, f.stem().string());
    if (!mask) {
      throw Error(ErrorCode::kInvalidArgument, "image " + f.string() + " has no mask " +
                                                   f.stem().string() + ".png in " + masks_dir);
    }
    LabelledImage im;
    im.name = f.filename().string();
    im.bgr = ReadImage(f.string());
    im.mask = ReadBinaryMask(mask->string(), im.bgr.size(), binarise);
    out.push_back(std::move(im));
  }
  if (out.empty()) throw Error(ErrorCode::kInvalidArgument, "no image in " + images_dir);
  return out;
}

std::vector<AnnotatedPhoto> LoadAnnotatorFolder(const std::string& images_dir,
                                                const std::string& annotators_dir,
                                                LearnedTarget target) {
  const std::vector<std::string> classes = ClassesOf(target);
  if (!fs::is_directory(annotators_dir))
    throw Error(ErrorCode::kNotFound, "no such directory: " + annotators_dir);
  std::vector<AnnotatedPhoto> out;
  for (const fs::path& f : ImagesIn(images_dir)) {
    const fs::path dir = fs::path(annotators_dir) / f.stem();
    if (!fs::is_directory(dir)) {
      throw Error(ErrorCode::kInvalidArgument,
                  "image " + f.string() + " has no annotator folder " + dir.string());
    }
    AnnotatedPhoto photo;
    photo.image.name = f.filename().string();
    photo.image.bgr = ReadImage(f.string());
    std::map<std::string, cv::Mat> by_annotator;  // sorted: the same order on every machine
    std::vector<fs::path> files;
    for (const auto& e : fs::directory_iterator(dir))
      if (e.is_regular_file() && e.path().extension() == ".png") files.push_back(e.path());
    std::sort(files.begin(), files.end());
    for (const fs::path& p : files) {
      const std::string stem = p.stem().string();
      const size_t cut = stem.rfind('_');
      if (cut == std::string::npos || cut == 0) continue;  // not <annotator>_<Class>.png
      const std::string who = stem.substr(0, cut), cls = stem.substr(cut + 1);
      cv::Mat& acc = by_annotator[who];
      if (acc.empty()) acc = cv::Mat::zeros(photo.image.bgr.size(), CV_8U);
      const cv::Mat m = ReadBinaryMask(p.string(), photo.image.bgr.size());
      if (std::find(classes.begin(), classes.end(), cls) != classes.end()) acc |= m;
    }
    if (by_annotator.empty()) {
      throw Error(ErrorCode::kInvalidArgument, "annotator folder " + dir.string() + " is empty");
    }
    for (auto& [who, m] : by_annotator) {
      photo.annotators.push_back(who);
      photo.annotator_masks.push_back(m);
    }
    photo.image.mask = MajorityConsensus(photo.annotator_masks);
    out.push_back(std::move(photo));
  }
  if (out.empty()) throw Error(ErrorCode::kInvalidArgument, "no image in " + images_dir);
  return out;
}

std::optional<double> HumanAgreement(const AnnotatedPhoto& photo) {
  if (photo.annotator_masks.size() < 2) return std::nullopt;
  const ConsensusReport report = BuildConsensus(photo.annotator_masks, ConsensusMethod::kMajority);
  double sum = 0;
  for (const AnnotatorAgreement& a : report.per_annotator) sum += a.dice_vs_others;
  return sum / static_cast<double>(report.per_annotator.size());
}

std::string SourceKey(const std::string& file_name) {
  std::string stem = fs::path(file_name).stem().string();
  const size_t rf = stem.find(".rf.");
  if (rf == std::string::npos) return stem;
  stem.resize(rf);
  const bool hex_prefix =
      stem.size() > 9 && stem[8] == '-' &&
      std::all_of(stem.begin(), stem.begin() + 8, [](unsigned char c) { return std::isxdigit(c); });
  return hex_prefix ? stem.substr(9) : stem;
}

SkinTone NormalSkinTone(const cv::Mat& bgr, const cv::Mat& skin, const cv::Mat& lesion) {
  const double scale = std::min(1.0, 256.0 / std::max(bgr.cols, bgr.rows));
  cv::Mat small, s, l;
  cv::resize(bgr, small, cv::Size(), scale, scale, cv::INTER_AREA);
  auto shrink = [&small](const cv::Mat& m) {
    if (m.empty()) return cv::Mat(small.size(), CV_8U, cv::Scalar(255));
    cv::Mat r;
    cv::resize(m, r, small.size(), 0, 0, cv::INTER_NEAREST);
    return cv::Mat(r != 0);
  };
  s = shrink(skin);
  l = lesion.empty() ? cv::Mat::zeros(small.size(), CV_8U) : shrink(lesion);
  cv::Mat normal = s & ~l;
  if (cv::countNonZero(normal) < 16) normal = s;
  if (cv::countNonZero(normal) < 16) normal = cv::Mat(small.size(), CV_8U, cv::Scalar(255));
  std::vector<cv::Mat> lab;
  cv::split(BgrToLab(small), lab);
  std::vector<float> lightness, yellowness;
  for (int y = 0; y < small.rows; ++y)
    for (int x = 0; x < small.cols; ++x)
      if (normal.at<uint8_t>(y, x)) {
        lightness.push_back(lab[0].at<float>(y, x));
        yellowness.push_back(lab[2].at<float>(y, x));
      }
  auto median = [](std::vector<float>& v) {
    std::nth_element(v.begin(), v.begin() + static_cast<std::ptrdiff_t>(v.size() / 2), v.end());
    return static_cast<double>(v[v.size() / 2]);
  };
  const double l_star = median(lightness), b_star = median(yellowness);
  return {ItaDegrees(l_star, b_star), SkinToneGroup(l_star, b_star)};
}

}  // namespace skintrack::scoring
