// Skin vs background (see SegmentSkin in segmentation.h): a CIELAB hue window, pale parts that
// belong to the skin, closing and hole filling.
#include <cmath>
#include <limits>
#include <opencv2/imgproc.hpp>
#include <vector>

#include "image_ops.h"
#include "segmentation_internal.h"
#include "skintrack/core/colour.h"
#include "skintrack/scoring/segmentation.h"

namespace skintrack::scoring {
namespace detail {
namespace {

constexpr double kRadToDeg = 180.0 / 3.14159265358979323846;
// Hue window of skin in CIELAB, degrees: reddish (plaques, dark skin) to yellowish (light skin).
constexpr double kSkinHueMin = 10.0;
constexpr double kSkinHueMax = 82.0;
// Pale (depigmented, scaly) skin may be up to this much yellower than the image's skin, within
// kSkinHueMax..kPaleHueMaxCast (see SkinAtWork).
constexpr double kPaleHueAboveSkin = 30.0;
constexpr double kPaleHueMaxCast = 100.0;
constexpr double kCastPartMinEnclosed = 0.6;
constexpr double kCastPartMaxShare = 0.5;

// The connected parts of `candidates` that belong to the skin `seed`: either mostly enclosed by
// it (at least `min_enclosed` of their outer border, the image frame counting as not enclosed),
// or touching it with a mean hue inside the skin window. A pale patch inside or at the edge of the
// skin passes; a pale background that only borders the skin, with a hue of its own, does not.
cv::Mat SkinParts(const cv::Mat& candidates, const cv::Mat& seed, const cv::Mat& a_ch,
                  const cv::Mat& b_ch, double min_enclosed,
                  double max_area = std::numeric_limits<double>::infinity()) {
  cv::Mat labels;
  const int n = cv::connectedComponents(candidates, labels, 8, CV_32S);
  const size_t count = static_cast<size_t>(n);
  std::vector<double> touch(count, 0.0), border(count, 0.0), sum_a(count, 0.0), sum_b(count, 0.0);
  std::vector<double> area(count, 0.0);
  const int rows = labels.rows, cols = labels.cols;
  for (int y = 0; y < rows; ++y) {
    const int* l = labels.ptr<int>(y);
    const float* pa = a_ch.ptr<float>(y);
    const float* pb = b_ch.ptr<float>(y);
    for (int x = 0; x < cols; ++x) {
      if (l[x] == 0) continue;
      const size_t k = static_cast<size_t>(l[x]);
      sum_a[k] += pa[x];
      sum_b[k] += pb[x];
      area[k] += 1;
      const int dx[4] = {1, -1, 0, 0}, dy[4] = {0, 0, 1, -1};
      for (int i = 0; i < 4; ++i) {
        const int nx = x + dx[i], ny = y + dy[i];
        if (nx < 0 || ny < 0 || nx >= cols || ny >= rows) {
          border[k] += 1;
        } else if (labels.at<int>(ny, nx) != l[x]) {
          border[k] += 1;
          if (seed.at<unsigned char>(ny, nx)) touch[k] += 1;
        }
      }
    }
  }
  std::vector<unsigned char> keep(count, 0);
  for (size_t k = 1; k < count; ++k) {
    const double hue = std::atan2(sum_b[k], sum_a[k]) * kRadToDeg;
    const bool enclosed =
        min_enclosed <= 1.0 && border[k] > 0 && touch[k] >= min_enclosed * border[k];
    const bool skin_hue = touch[k] > 0 && hue >= kSkinHueMin && hue <= kSkinHueMax;
    keep[k] = (enclosed || skin_hue) && area[k] <= max_area ? 255 : 0;
  }
  return SelectLabels(labels, keep);
}

// Median hue of `mask` in degrees (from the median a* and b*).
double MedianHue(const WorkLab& w, const cv::Mat& mask) {
  std::vector<float> av = Gather(w.a, mask), bv = Gather(w.b, mask);
  return std::atan2(Quantile(bv, 0.5), Quantile(av, 0.5)) * kRadToDeg;
}

// Pixels that may be skin when next to skin: some chroma, a hue from pink-violet (depigmented dark
// skin) to `hue_max`.
cv::Mat LooseSkin(const WorkLab& w, double hue_max) {
  cv::Mat loose(w.l.size(), CV_8UC1);
  for (int y = 0; y < w.l.rows; ++y) {
    const float* l = w.l.ptr<float>(y);
    const float* a = w.a.ptr<float>(y);
    const float* b = w.b.ptr<float>(y);
    unsigned char* o = loose.ptr<unsigned char>(y);
    for (int x = 0; x < w.l.cols; ++x) {
      const double chroma = std::hypot(a[x], b[x]);
      const double hue = std::atan2(b[x], a[x]) * kRadToDeg;
      o[x] = (l[x] > 5 && l[x] < 99.5 && chroma >= 4 && hue >= -35 && hue <= hue_max) ? 255 : 0;
    }
  }
  return loose;
}

}  // namespace

WorkLab MakeWorkLab(const cv::Mat& work_bgr) {
  cv::Mat lab = BgrToLab(work_bgr);
  const double sigma = std::max(0.8, Longest(work_bgr) / 700.0);
  cv::GaussianBlur(lab, lab, cv::Size(0, 0), sigma);
  std::vector<cv::Mat> ch;
  cv::split(lab, ch);
  return {ch[0], ch[1], ch[2]};
}

// Skin at the reduced size. Skin of every tone sits in one hue window of CIELAB (about 15-80
// degrees: reddish to yellowish) with some chroma; what differs between tones is mostly L*, which
// is therefore left wide open. Pale lesions (depigmented patches, silvery scale) fail the chroma
// test, so holes are filled and low-chroma pixels next to skin are admitted.
cv::Mat SkinAtWork(const WorkLab& w) {
  const int longest = std::max(w.l.cols, w.l.rows);
  cv::Mat strict(w.l.size(), CV_8UC1);
  for (int y = 0; y < w.l.rows; ++y) {
    const float* l = w.l.ptr<float>(y);
    const float* a = w.a.ptr<float>(y);
    const float* b = w.b.ptr<float>(y);
    unsigned char* s = strict.ptr<unsigned char>(y);
    for (int x = 0; x < w.l.cols; ++x) {
      const double chroma = std::hypot(a[x], b[x]);
      const double hue = std::atan2(b[x], a[x]) * kRadToDeg;
      s[x] = (l[x] > 8 && l[x] < 97 && chroma >= 9 && hue >= kSkinHueMin && hue <= kSkinHueMax)
                 ? 255
                 : 0;
    }
  }
  const double image_area = static_cast<double>(w.l.total());
  cv::morphologyEx(strict, strict, cv::MORPH_OPEN, Disk(1));
  cv::Mat skin = RemoveSmall(strict, 0.01 * image_area);
  if (cv::countNonZero(skin) == 0) return skin;
  // Pale skin mostly enclosed by skin (a depigmented patch, which on dark skin can be pink with
  // b* < 0, or a plaque's scale) or touching it with a skin hue joins it; darker low-chroma
  // pixels there are background or shadow.
  std::vector<float> lv = Gather(w.l, skin);
  const double l_skin = Quantile(lv, 0.5);
  const cv::Mat lighter = w.l > l_skin + 3.0;
  const cv::Mat loose = LooseSkin(w, kSkinHueMax);
  skin |= SkinParts(loose & lighter & ~skin, skin, w.a, w.b, 0.25);
  // A warm colour cast (tungsten light, a camera's white balance) turns every hue toward yellow;
  // depigmented skin, with little a* left, then has pixels past the window's yellow end while
  // the normal skin stays inside it, and a patch at the skin's outline or the frame's edge falls
  // apart. Pixels up to kPaleHueAboveSkin yellower than the skin may join, but only as parts
  // that are mostly bordered by skin and smaller
  // than a fraction of the skin: a cream background under the same cast has the same hue, but
  // it runs along the frame and is as large as the skin.
  const double pale_hue_max =
      std::clamp(MedianHue(w, skin) + kPaleHueAboveSkin, kSkinHueMax, kPaleHueMaxCast);
  if (pale_hue_max > kSkinHueMax) {
    skin |= SkinParts(LooseSkin(w, pale_hue_max) & lighter & ~skin, skin, w.a, w.b,
                      kCastPartMinEnclosed, kCastPartMaxShare * cv::countNonZero(skin));
  }
  // Closing bridges hair and creases; it may only add pixels of skin-like colour, so that the
  // background between fingers does not become skin.
  cv::Mat closed;
  cv::morphologyEx(skin, closed, cv::MORPH_CLOSE, Disk(std::max(2, longest / 100)));
  skin |= closed & loose;
  skin = FillHoles(skin);
  return RemoveSmall(skin, 0.02 * image_area);
}

}  // namespace detail

cv::Mat SegmentSkin(const cv::Mat& bgr, int work_max_side) {
  detail::CheckImage(bgr);
  if (work_max_side < 128 || work_max_side > 4096) {
    throw Error(ErrorCode::kInvalidArgument, "work_max_side must be within 128..4096");
  }
  const double scale = detail::WorkScale(bgr.size(), work_max_side);
  return detail::ExpandMask(detail::SkinAtWork(detail::MakeWorkLab(detail::Reduce(bgr, scale))),
                            bgr.size());
}

}  // namespace skintrack::scoring
