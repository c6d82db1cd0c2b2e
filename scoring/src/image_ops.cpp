#include "image_ops.h"

#include <algorithm>
#include <cmath>
#include <limits>
#include <opencv2/imgproc.hpp>

namespace skintrack::scoring::detail {

double WorkScale(cv::Size size, int max_side) {
  const int longest = std::max(size.width, size.height);
  return longest > max_side ? static_cast<double>(max_side) / longest : 1.0;
}

cv::Mat Reduce(const cv::Mat& image, double scale) {
  if (scale >= 1.0) return image;
  const cv::Size size(std::max(1, static_cast<int>(std::lround(image.cols * scale))),
                      std::max(1, static_cast<int>(std::lround(image.rows * scale))));
  // OpenCV's area resampling is several times faster for an integer factor: average by the
  // largest integer factor first, then resample the small remainder.
  const int k = static_cast<int>(std::floor(1.0 / scale));
  cv::Mat src = image;
  if (k >= 2) {
    cv::resize(image, src, cv::Size(), 1.0 / k, 1.0 / k, cv::INTER_AREA);
  }
  if (src.size() == size) return src;
  cv::Mat out;
  cv::resize(src, out, size, 0, 0, cv::INTER_AREA);
  return out;
}

cv::Mat ExpandMask(const cv::Mat& reduced_mask, cv::Size full_size) {
  if (reduced_mask.size() == full_size) return reduced_mask.clone();
  cv::Mat up;
  cv::resize(reduced_mask, up, full_size, 0, 0, cv::INTER_LINEAR);
  cv::threshold(up, up, 127, 255, cv::THRESH_BINARY);
  return up;
}

cv::Mat ReduceMask(const cv::Mat& mask, double scale) {
  if (scale >= 1.0) return mask.clone();
  cv::Mat binary = mask != 0;
  cv::Mat r = Reduce(binary, scale);
  cv::threshold(r, r, 127, 255, cv::THRESH_BINARY);
  return r;
}

cv::Mat Disk(int radius) {
  radius = std::max(radius, 0);
  return cv::getStructuringElement(cv::MORPH_ELLIPSE, cv::Size(2 * radius + 1, 2 * radius + 1));
}

cv::Mat FillHoles(const cv::Mat& mask) {
  // Flood the background from a frame of zeros around the mask: what stays unreached is a hole.
  cv::Mat padded;
  cv::copyMakeBorder(mask, padded, 1, 1, 1, 1, cv::BORDER_CONSTANT, cv::Scalar(0));
  cv::floodFill(padded, cv::Point(0, 0), cv::Scalar(255));
  cv::Mat reached = padded(cv::Rect(1, 1, mask.cols, mask.rows));
  cv::Mat holes = reached == 0;
  cv::Mat out = mask.clone();
  out.setTo(255, holes);
  return out;
}

cv::Mat FillSmallHoles(const cv::Mat& mask, double max_area_pixels) {
  const cv::Mat holes = FillHoles(mask) & ~mask;
  cv::Mat labels, stats, centroids;
  const int n = cv::connectedComponentsWithStats(holes, labels, stats, centroids, 4, CV_32S);
  cv::Mat out = mask.clone();
  for (int y = 0; y < mask.rows; ++y) {
    const int* l = labels.ptr<int>(y);
    unsigned char* o = out.ptr<unsigned char>(y);
    for (int x = 0; x < mask.cols; ++x) {
      if (l[x] > 0 && l[x] < n && stats.at<int>(l[x], cv::CC_STAT_AREA) <= max_area_pixels) {
        o[x] = 255;
      }
    }
  }
  return out;
}

cv::Mat RemoveSmall(const cv::Mat& mask, double min_area_pixels) {
  cv::Mat labels, stats, centroids;
  const int n = cv::connectedComponentsWithStats(mask, labels, stats, centroids, 8, CV_32S);
  std::vector<unsigned char> keep(static_cast<size_t>(n), 0);
  for (int i = 1; i < n; ++i) {
    keep[static_cast<size_t>(i)] = stats.at<int>(i, cv::CC_STAT_AREA) >= min_area_pixels ? 255 : 0;
  }
  return SelectLabels(labels, keep);
}

cv::Mat SelectLabels(const cv::Mat& labels, const std::vector<unsigned char>& keep) {
  cv::Mat out(labels.size(), CV_8UC1);
  for (int y = 0; y < labels.rows; ++y) {
    const int* l = labels.ptr<int>(y);
    unsigned char* o = out.ptr<unsigned char>(y);
    for (int x = 0; x < labels.cols; ++x) o[x] = keep[static_cast<size_t>(l[x])];
  }
  return out;
}

std::vector<float> Gather(const cv::Mat& values, const cv::Mat& mask) {
  std::vector<float> out;
  out.reserve(static_cast<size_t>(cv::countNonZero(mask)));
  for (int y = 0; y < values.rows; ++y) {
    const float* v = values.ptr<float>(y);
    const unsigned char* m = mask.ptr<unsigned char>(y);
    for (int x = 0; x < values.cols; ++x) {
      if (m[x]) out.push_back(v[x]);
    }
  }
  return out;
}

double Quantile(std::vector<float>& v, double q) {
  if (v.empty()) return std::numeric_limits<double>::quiet_NaN();
  const size_t k = std::min(v.size() - 1, static_cast<size_t>(q * static_cast<double>(v.size())));
  std::nth_element(v.begin(), v.begin() + static_cast<std::ptrdiff_t>(k), v.end());
  return v[k];
}

cv::Mat LocalReference(const cv::Mat& channel, const cv::Mat& normal, double global_value,
                       double sigma_fraction) {
  // The small copy keeps a large Gaussian cheap: at 64 px the blur costs microseconds.
  constexpr int kSmallSide = 64;
  constexpr double kFallbackWeight = 0.03;
  const double scale = WorkScale(channel.size(), kSmallSide);
  cv::Mat weight;
  normal.convertTo(weight, CV_32F, 1.0 / 255.0);
  cv::Mat weighted = channel.mul(weight);
  cv::Mat small_w = Reduce(weight, scale);
  cv::Mat small_v = Reduce(weighted, scale);
  const double sigma = std::max(1.0, sigma_fraction * std::max(small_w.cols, small_w.rows));
  cv::GaussianBlur(small_w, small_w, cv::Size(0, 0), sigma, sigma, cv::BORDER_REFLECT);
  cv::GaussianBlur(small_v, small_v, cv::Size(0, 0), sigma, sigma, cv::BORDER_REFLECT);
  cv::Mat ref = (small_v + kFallbackWeight * global_value) / (small_w + kFallbackWeight);
  cv::Mat out;
  cv::resize(ref, out, channel.size(), 0, 0, cv::INTER_LINEAR);
  return out;
}

}  // namespace skintrack::scoring::detail
