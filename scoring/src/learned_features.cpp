#include "learned_features.h"

#include <algorithm>
#include <cstddef>
#include <opencv2/imgproc.hpp>
#include <vector>

#include "skintrack/core/colour.h"
#include "skintrack/core/error.h"

namespace skintrack::scoring::learned {
namespace {

cv::Mat Blur(const cv::Mat& m, double sigma) {
  cv::Mat out;
  cv::GaussianBlur(m, out, cv::Size(), sigma, sigma, cv::BORDER_REFLECT);
  return out;
}

// Local standard deviation at scale `sigma`: sqrt(G(x^2) - G(x)^2).
cv::Mat LocalStd(const cv::Mat& x, double sigma) {
  const cv::Mat mean = Blur(x, sigma);
  cv::Mat var = Blur(x.mul(x), sigma) - mean.mul(mean);
  cv::max(var, 0.0, var);
  cv::Mat out;
  cv::sqrt(var, out);
  return out;
}

cv::Mat GradientMagnitude(const cv::Mat& x, double sigma) {
  const cv::Mat s = Blur(x, sigma);
  cv::Mat gx, gy, out;
  cv::Sobel(s, gx, CV_32F, 1, 0, 3);
  cv::Sobel(s, gy, CV_32F, 0, 1, 3);
  cv::magnitude(gx, gy, out);
  return out;
}

// Each pixel's percentile (0..1) among the skin pixels' values: colour relative to this image's
// own skin, insensitive to the exposure and to the skin tone.
cv::Mat RankAmongSkin(const cv::Mat& x, const cv::Mat& skin) {
  std::vector<float> ref;
  for (int y = 0; y < x.rows; ++y) {
    const float* xp = x.ptr<float>(y);
    const uint8_t* sp = skin.ptr<uint8_t>(y);
    for (int c = 0; c < x.cols; ++c)
      if (sp[c]) ref.push_back(xp[c]);
  }
  if (ref.size() < 16) ref.assign(x.begin<float>(), x.end<float>());
  std::sort(ref.begin(), ref.end());
  cv::Mat out(x.size(), CV_32F);
  const float n = static_cast<float>(ref.size());
  for (int y = 0; y < x.rows; ++y) {
    const float* xp = x.ptr<float>(y);
    float* op = out.ptr<float>(y);
    for (int c = 0; c < x.cols; ++c) {
      op[c] = static_cast<float>(std::lower_bound(ref.begin(), ref.end(), xp[c]) - ref.begin()) / n;
    }
  }
  return out;
}

float MedianOver(const cv::Mat& x, const cv::Mat& skin) {
  std::vector<float> v;
  for (int y = 0; y < x.rows; ++y) {
    const float* xp = x.ptr<float>(y);
    const uint8_t* sp = skin.ptr<uint8_t>(y);
    for (int c = 0; c < x.cols; ++c)
      if (sp[c]) v.push_back(xp[c]);
  }
  if (v.size() < 16) v.assign(x.begin<float>(), x.end<float>());
  std::nth_element(v.begin(), v.begin() + static_cast<std::ptrdiff_t>(v.size() / 2), v.end());
  return v[v.size() / 2];
}

cv::Mat MaskAsFloat(const cv::Mat& mask) {
  cv::Mat f;
  mask.convertTo(f, CV_32F, 1.0 / 255.0);
  return Blur(f, 2.0);
}

}  // namespace

FeatureInputs PrepareInputs(const cv::Mat& bgr, LearnedTarget target, int work_max_side) {
  if (bgr.empty() || bgr.type() != CV_8UC3) {
    throw Error(ErrorCode::kInvalidArgument, "learned segmenter: expected a CV_8UC3 image");
  }
  FeatureInputs in;
  const double scale = std::min(1.0, double(work_max_side) / double(std::max(bgr.cols, bgr.rows)));
  if (scale < 1.0) {
    const cv::Size size(std::max(1, cvRound(bgr.cols * scale)),
                        std::max(1, cvRound(bgr.rows * scale)));
    cv::resize(bgr, in.work_bgr, size, 0, 0, cv::INTER_AREA);
  } else {
    in.work_bgr = bgr.clone();
  }
  const int classical_side = std::max(128, std::max(in.work_bgr.cols, in.work_bgr.rows));
  if (target == LearnedTarget::kSkin) {
    in.classical_skin = SegmentSkin(in.work_bgr, classical_side);
  } else {
    ClassicalSegmenterOptions so;
    so.condition =
        target == LearnedTarget::kPsoriasis ? Condition::kPsoriasis : Condition::kVitiligo;
    so.work_max_side = classical_side;
    // The 1.1 rules: 1.2's extensive-disease rules mark far more of real photos (palms, lighter
    // hairless skin) and made the feature worthless, DermX 5-fold Dice 0.661 -> 0.602
    // (docs/learned-segmentation.md, "Feature version 2").
    so.extensive_disease_rules = false;
    const Segmentation seg = MakeClassicalSegmenter(so)->Segment(in.work_bgr);
    in.classical_skin = seg.skin_mask;
    in.classical_lesion = seg.lesion_mask;
  }
  return in;
}

int BaseFeatureCount(LearnedTarget target) { return target == LearnedTarget::kSkin ? 32 : 33; }

cv::Mat BaseFeatures(const FeatureInputs& in, LearnedTarget target) {
  std::vector<cv::Mat> lab;
  cv::split(BgrToLab(in.work_bgr), lab);
  std::vector<cv::Mat> f;
  std::vector<cv::Mat> s1(3), s4(3), s12(3);
  for (int c = 0; c < 3; ++c) {
    s1[c] = Blur(lab[c], 1.0);
    s4[c] = Blur(lab[c], 4.0);
    s12[c] = Blur(lab[c], 12.0);
  }
  for (const auto* scale : {&s1, &s4, &s12})
    for (int c = 0; c < 3; ++c) f.push_back((*scale)[c]);
  const cv::Mat& skin = in.classical_skin;
  float median[3];
  for (int c = 0; c < 3; ++c) {
    median[c] = MedianOver(s1[c], skin);
    f.push_back(s1[c] - median[c]);  // colour relative to this image's skin
  }
  for (int c = 0; c < 3; ++c) f.push_back(s1[c] - s12[c]);  // contrast with the neighbourhood
  f.push_back(LocalStd(lab[0], 2.0));                       // scale and fine texture
  f.push_back(LocalStd(lab[0], 6.0));
  f.push_back(LocalStd(lab[1], 4.0));
  f.push_back(GradientMagnitude(lab[0], 1.0));
  f.push_back(GradientMagnitude(lab[0], 3.0));
  f.push_back(s1[0] - Blur(lab[0], 3.0));  // differences of Gaussians: blob-sized structure
  f.push_back(Blur(lab[0], 3.0) - Blur(lab[0], 9.0));
  f.push_back(s1[1] - s4[1]);
  for (int c = 0; c < 3; ++c) f.push_back(RankAmongSkin(s1[c], skin));
  cv::Mat chroma, hue;
  cv::cartToPolar(s4[1], s4[2], chroma, hue);
  f.push_back(chroma);
  f.push_back(hue);
  f.push_back(MaskAsFloat(skin));
  if (target != LearnedTarget::kSkin) f.push_back(MaskAsFloat(in.classical_lesion));
  // Image-level skin colour: lets the trees make their rules depend on the skin tone.
  for (int c = 0; c < 3; ++c) f.push_back(cv::Mat(skin.size(), CV_32F, cv::Scalar(median[c])));
  if (static_cast<int>(f.size()) != BaseFeatureCount(target)) {
    throw Error(ErrorCode::kInternal, "learned features: count differs from BaseFeatureCount");
  }
  cv::Mat out;
  cv::merge(f, out);
  return out;
}

cv::Mat WithContext(const cv::Mat& base, const cv::Mat& p) {
  std::vector<cv::Mat> f;
  cv::split(base, f);
  f.push_back(Blur(p, 2.0));
  f.push_back(Blur(p, 6.0));
  f.push_back(Blur(p, 16.0));
  f.push_back(cv::Mat(p.size(), CV_32F, cv::Scalar(cv::mean(p)[0])));
  cv::Mat out;
  cv::merge(f, out);
  return out;
}

}  // namespace skintrack::scoring::learned
