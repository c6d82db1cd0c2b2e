// Psoriasis plaques against diffuse erythema: which candidate regions have a plaque's border.
#include "psoriasis_edges.h"

#include <algorithm>
#include <limits>
#include <opencv2/imgproc.hpp>
#include <vector>

#include "image_ops.h"
#include "segmentation_internal.h"

namespace skintrack::scoring::detail {
namespace {

// A plaque's border is a step: the inflamed, thickened skin ends within a millimetre or two.
// Diffuse erythema fades over centimetres. At a border pixel, the redness falls to the lowest
// value within kBandShare x 2 of the long side; at a plaque's border it falls by at least
// kMinStepShare of its own redness above normal skin (and by the split's smallest step), at a
// blotch's by much less. A part is a plaque when at least kMinSharpShare of its border with skin
// is such a step: a plaque merged with a blotch on one side is not, and is searched again at
// higher levels, where the blotch falls away.
constexpr double kBandShare = 1.0 / 256.0;
constexpr double kMinStepShare = 0.55;
constexpr double kMinSharpShare = 0.85;
// Inside a soft part (see KeepSharpBordered) a part no redder than mild erythema needs a step on
// this share of its border: the steep top of a blotch reaches 0.85-0.9.
constexpr double kMinFaintSharpShare = 0.95;
// A part with fewer border pixels on skin than this share of its border on the image (it fills
// the skin up to the outline) has no border with normal skin to judge: it is kept.
constexpr double kMinSkinBorderShare = 0.1;
// Levels (shares of the contrast above the split's border level) at which a soft-bordered
// candidate is searched for sharp-bordered plaques inside it (a plaque on a blotch).
constexpr int kSubLevels = 6;
constexpr double kMinRestShare = 0.5;
// Blotchy erythema carries no scale: a soft red part whose rest is at least this share whitish
// scale is a thickly scaled plaque, its red islands stepped against its own scale (see
// RedPartsToKeep). Phantom plaques on brown skin: 0.7-0.95; a synthetic plaque with a wide pink
// rim: 0.36-0.54.
constexpr double kMinScaleRestShare = 0.3;
constexpr double kSubLevelStep = 0.1;

struct BorderCount {
  int sharp = 0, on_skin = 0, total = 0;
  double redness_sum = 0;  // of the score above normal skin over the part's redder pixels
  int area = 0;            // count of those pixels
};

// Per connected part of `mask` (labels written to `labels`): its border pixels, those facing
// skin, and those of them where the redness falls by a step.
std::vector<BorderCount> CountBorders(const cv::Mat& mask, const cv::Mat& score,
                                      const cv::Mat& skin, const EdgeSplit& split, int band,
                                      cv::Mat& labels) {
  const int n = cv::connectedComponents(mask, labels, 8, CV_32S);
  // A median first, so that hair, pores and creases (darker, less red lines) are not steps; the
  // lowest value is taken over skin only (the background beyond the outline is no border).
  cv::Mat on_skin = score.clone(), smooth, lowest;
  on_skin.setTo(static_cast<float>(split.normal_mode), ~skin);
  cv::medianBlur(on_skin, smooth, 5);
  cv::Mat skin_only = smooth.clone();
  skin_only.setTo(std::numeric_limits<float>::max(), ~skin);
  cv::erode(skin_only, lowest, Disk(2 * band));
  std::vector<BorderCount> out(static_cast<size_t>(n));
  const int dx[4] = {1, -1, 0, 0}, dy[4] = {0, 0, 1, -1};
  for (int y = 0; y < mask.rows; ++y) {
    const int* l = labels.ptr<int>(y);
    const float* sm = smooth.ptr<float>(y);
    const float* lo = lowest.ptr<float>(y);
    for (int x = 0; x < mask.cols; ++x) {
      if (l[x] == 0) continue;
      BorderCount& c = out[static_cast<size_t>(l[x])];
      // Redness of the part's red pixels: whitish scale inside a plaque is no sign of a blotch.
      if (sm[x] > split.normal_mode) {
        c.redness_sum += sm[x] - split.normal_mode;
        ++c.area;
      }
      bool border = false, faces_skin = false;
      for (int i = 0; i < 4; ++i) {
        const int nx = x + dx[i], ny = y + dy[i];
        if (nx < 0 || ny < 0 || nx >= mask.cols || ny >= mask.rows) {
          border = true;
        } else if (!mask.at<unsigned char>(ny, nx)) {
          border = true;
          faces_skin = faces_skin || skin.at<unsigned char>(ny, nx) != 0;
        }
      }
      if (!border) continue;
      ++c.total;
      // Only a red border pixel can be judged by the fall of its redness: whitish scale at a
      // plaque's edge (below normal skin in a*) is no sign of a blotch either way.
      if (!faces_skin || sm[x] <= split.normal_mode) continue;
      ++c.on_skin;
      const double step = sm[x] - lo[x];
      if (step >= split.min_step && step >= kMinStepShare * (sm[x] - split.normal_mode)) ++c.sharp;
    }
  }
  return out;
}

enum class Border { kStep, kSoftRed, kSoftMild };

Border Classify(const BorderCount& c, const EdgeSplit& split) {
  // No border with skin to judge: the part fills the skin up to its outline.
  if (c.total == 0 || c.on_skin < kMinSkinBorderShare * c.total) return Border::kStep;
  if (c.sharp >= kMinSharpShare * c.on_skin) return Border::kStep;
  return c.area > 0 && c.redness_sum >= split.mild_redness * c.area ? Border::kSoftRed
                                                                    : Border::kSoftMild;
}

struct Parts {
  cv::Mat step;      // parts with a step border (as in the mask)
  cv::Mat red_step;  // those of them redder than mild erythema or stepped nearly all round
  cv::Mat red;       // soft-bordered parts redder than mild erythema (holes filled)
  cv::Mat soft;      // all soft-bordered parts (holes filled)
};

Parts ClassifyParts(const cv::Mat& mask, const cv::Mat& score, const cv::Mat& skin,
                    const EdgeSplit& split, int band) {
  cv::Mat labels;
  const std::vector<BorderCount> counts =
      CountBorders(FillHoles(mask), score, skin, split, band, labels);
  std::vector<Border> kind(counts.size(), Border::kSoftMild);
  std::vector<unsigned char> red(counts.size(), 0);
  for (size_t k = 1; k < counts.size(); ++k) {
    kind[k] = Classify(counts[k], split);
    // Red, or with a step nearly all round (a faint plaque).
    red[k] = (counts[k].area > 0 && counts[k].redness_sum >= split.mild_redness * counts[k].area) ||
             counts[k].sharp >= kMinFaintSharpShare * counts[k].on_skin;
  }
  Parts p{cv::Mat::zeros(mask.size(), CV_8UC1), cv::Mat::zeros(mask.size(), CV_8UC1),
          cv::Mat::zeros(mask.size(), CV_8UC1), cv::Mat::zeros(mask.size(), CV_8UC1)};
  for (int y = 0; y < mask.rows; ++y) {
    const int* l = labels.ptr<int>(y);
    const unsigned char* m = mask.ptr<unsigned char>(y);
    unsigned char* st = p.step.ptr<unsigned char>(y);
    unsigned char* rs = p.red_step.ptr<unsigned char>(y);
    unsigned char* rd = p.red.ptr<unsigned char>(y);
    unsigned char* so = p.soft.ptr<unsigned char>(y);
    for (int x = 0; x < mask.cols; ++x) {
      const size_t k = static_cast<size_t>(l[x]);
      if (k == 0) continue;
      if (kind[k] == Border::kStep) {
        st[x] = m[x];
        rs[x] = red[k] ? m[x] : 0;
      } else {
        so[x] = 255;
        if (kind[k] == Border::kSoftRed) rd[x] = 255;
      }
    }
  }
  return p;
}

// The red soft-bordered parts to keep whole: those without a stepped plaque inside (a plaque
// with a soft pink rim), and those whose rest, away from the stepped plaques inside them, has at
// least kMinRestShare of their redness (a plaque whose core alone has a step). The others are
// blotches around a plaque, much less red than it: only the stepped plaques inside them
// (`inner`) are kept. Unless that rest is largely whitish scale: then the part is one thickly
// scaled plaque whose red islands are stepped against its own scale (blotches carry none).
cv::Mat RedPartsToKeep(const cv::Mat& red, const cv::Mat& inner, const cv::Mat& score,
                       const cv::Mat& scale, const EdgeSplit& split, int band) {
  cv::Mat labels, near_inner;
  const int n = cv::connectedComponents(red, labels, 8, CV_32S);
  cv::dilate(inner, near_inner, Disk(2 * band));
  std::vector<double> rest_sum(static_cast<size_t>(n), 0.0), inner_sum(rest_sum);
  std::vector<int> rest_count(static_cast<size_t>(n), 0), inner_count(static_cast<size_t>(n), 0);
  std::vector<int> rest_scale(static_cast<size_t>(n), 0), rest_all(static_cast<size_t>(n), 0);
  for (int y = 0; y < red.rows; ++y) {
    const int* l = labels.ptr<int>(y);
    const unsigned char* in = inner.ptr<unsigned char>(y);
    const unsigned char* ni = near_inner.ptr<unsigned char>(y);
    const float* s = score.ptr<float>(y);
    const unsigned char* sc = scale.ptr<unsigned char>(y);
    for (int x = 0; x < red.cols; ++x) {
      const size_t k = static_cast<size_t>(l[x]);
      if (k == 0) continue;
      if (!ni[x]) {
        ++rest_all[k];
        if (sc[x]) ++rest_scale[k];
      }
      if (in[x]) {
        ++inner_count[k];
        inner_sum[k] += s[x] - split.normal_mode;
      }
      if (!ni[x] && s[x] > split.normal_mode) {  // red pixels only: scale is no blotch
        rest_sum[k] += s[x] - split.normal_mode;
        ++rest_count[k];
      }
    }
  }
  std::vector<unsigned char> keep(static_cast<size_t>(n), 0);
  for (size_t k = 1; k < keep.size(); ++k) {
    const bool red_rest =
        rest_count[k] > 0 && inner_count[k] > 0 &&
        rest_sum[k] / rest_count[k] >= kMinRestShare * inner_sum[k] / inner_count[k];
    const bool scaled_rest = rest_all[k] > 0 && rest_scale[k] >= kMinScaleRestShare * rest_all[k];
    keep[k] = inner_count[k] == 0 || red_rest || scaled_rest ? 255 : 0;
  }
  return SelectLabels(labels, keep);
}

}  // namespace

cv::Mat KeepSharpBordered(const cv::Mat& lesion, const cv::Mat& score, const cv::Mat& skin,
                          const cv::Mat& scale, const EdgeSplit& split, double min_area_pixels) {
  const int band = std::max(2, static_cast<int>(std::lround(kBandShare * Longest(lesion))));
  const Parts parts = ClassifyParts(lesion, score, skin, split, band);
  if (cv::countNonZero(parts.soft) == 0) return parts.step;
  // Inside a soft-bordered part a plaque may sit on blotchy redness: at a higher level the
  // blotch falls away and the plaque's own step border appears.
  cv::Mat inner = cv::Mat::zeros(lesion.size(), CV_8UC1);
  for (int k = 1; k <= kSubLevels; ++k) {
    const double level = split.level + k * kSubLevelStep;
    if (level >= 1.0) break;
    cv::Mat candidate = (score > split.normal_mode + level * split.contrast) & parts.soft;
    cv::morphologyEx(candidate, candidate, cv::MORPH_OPEN, Disk(1));
    candidate = RemoveSmall(candidate, min_area_pixels);
    if (cv::countNonZero(candidate) == 0) break;
    // Only red or clearly stepped ones: the steep top of a blotch can pass the border test.
    inner |= ClassifyParts(candidate, score, skin, split, band).red_step;
  }
  return parts.step | inner |
         (RedPartsToKeep(parts.red, inner, score, scale, split, band) & lesion);
}

}  // namespace skintrack::scoring::detail
