// Private helpers shared by the scoring sources: reduced copies, mask morphology, robust
// statistics over masked pixels, and a smooth local reference of normal skin.
#pragma once

#include <opencv2/core.hpp>
#include <vector>

namespace skintrack::scoring::detail {

// Scale factor (<= 1) that brings the longest side of `size` down to `max_side`.
double WorkScale(cv::Size size, int max_side);

// Reduced copy (INTER_AREA); returns `image` itself when scale >= 1.
cv::Mat Reduce(const cv::Mat& image, double scale);

// Full-size mask from a reduced 0/255 mask: bilinear interpolation thresholded at half, which
// puts the border where the reduced mask's border was, to sub-pixel precision of the reduced copy.
cv::Mat ExpandMask(const cv::Mat& reduced_mask, cv::Size full_size);

// Reduced mask from a full-size one: share of set pixels per reduced pixel >= 0.5.
cv::Mat ReduceMask(const cv::Mat& mask, double scale);

cv::Mat Disk(int radius);
cv::Mat FillHoles(const cv::Mat& mask);
// Fills only the holes of at most `max_area_pixels` (8-connected mask, 4-connected holes).
cv::Mat FillSmallHoles(const cv::Mat& mask, double max_area_pixels);
cv::Mat RemoveSmall(const cv::Mat& mask, double min_area_pixels);
// Mask (CV_8UC1) of the pixels whose label (CV_32S, from connectedComponents) has a non-zero entry
// in `keep` (the entry is the pixel's value).
cv::Mat SelectLabels(const cv::Mat& labels, const std::vector<unsigned char>& keep);

// Values of a CV_32FC1 image at the non-zero pixels of `mask`.
std::vector<float> Gather(const cv::Mat& values, const cv::Mat& mask);
// q-quantile (0..1) of `v` (reorders v); NaN when empty.
double Quantile(std::vector<float>& v, double q);

// Smooth estimate of `channel` on normal skin, everywhere: a normalised convolution of the
// channel over `normal` with a Gaussian of `sigma_fraction` of the longest side, computed on a
// small copy. Where little normal skin is near, the value falls back toward `global_value`.
cv::Mat LocalReference(const cv::Mat& channel, const cv::Mat& normal, double global_value,
                       double sigma_fraction);

}  // namespace skintrack::scoring::detail
