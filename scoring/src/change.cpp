#include "skintrack/scoring/change.h"

#include <opencv2/imgproc.hpp>
#include <string>

#include "skintrack/core/error.h"

namespace skintrack::scoring {
namespace {

void CheckPair(const cv::Mat& a, const cv::Mat& b, const char* what) {
  if (a.empty() || b.empty() || a.type() != CV_8UC1 || b.type() != CV_8UC1) {
    throw Error(ErrorCode::kInvalidArgument,
                std::string(what) + ": masks must be non-empty CV_8UC1");
  }
  if (a.size() != b.size()) {
    throw Error(ErrorCode::kInvalidArgument,
                std::string(what) + ": mask sizes differ (" + std::to_string(a.cols) + "x" +
                    std::to_string(a.rows) + " vs " + std::to_string(b.cols) + "x" +
                    std::to_string(b.rows) + ")");
  }
}

void CheckOptionalMask(const cv::Mat& m, cv::Size size, const char* what) {
  if (m.empty()) return;
  if (m.type() != CV_8UC1 || m.size() != size) {
    throw Error(ErrorCode::kInvalidArgument,
                std::string(what) + " must be CV_8UC1 of the same size as the other masks");
  }
}

void CheckImage(const cv::Mat& bgr, cv::Size size) {
  if (bgr.empty() || bgr.type() != CV_8UC3) {
    throw Error(ErrorCode::kInvalidArgument, "the photo must be a non-empty CV_8UC3 image");
  }
  if (bgr.size() != size) {
    throw Error(ErrorCode::kInvalidArgument, "the photo and the masks differ in size");
  }
}

void Paint(cv::Mat& canvas, const cv::Mat& mask, const cv::Scalar& colour, double alpha,
           int outline) {
  if (cv::countNonZero(mask) == 0) return;
  cv::Mat tinted(canvas.size(), canvas.type(), colour);
  cv::Mat blended;
  cv::addWeighted(canvas, 1.0 - alpha, tinted, alpha, 0.0, blended);
  blended.copyTo(canvas, mask);
  if (outline > 0) {
    std::vector<std::vector<cv::Point>> contours;
    cv::findContours(mask.clone(), contours, cv::RETR_LIST, cv::CHAIN_APPROX_SIMPLE);
    cv::drawContours(canvas, contours, -1, colour, outline, cv::LINE_AA);
  }
}

int OutlineWidth(cv::Size size) { return std::max(1, std::max(size.width, size.height) / 500); }

}  // namespace

MaskChange CompareMasks(const cv::Mat& baseline_lesion, const cv::Mat& current_lesion,
                        const cv::Mat& valid) {
  CheckPair(baseline_lesion, current_lesion, "CompareMasks");
  CheckOptionalMask(valid, baseline_lesion.size(), "the valid-pixel mask");
  cv::Mat base = baseline_lesion != 0, now = current_lesion != 0;
  if (!valid.empty()) {
    const cv::Mat v = valid != 0;
    base &= v;
    now &= v;
  }
  MaskChange c;
  c.new_mask = now & ~base;
  c.persisting_mask = now & base;
  c.cleared_mask = base & ~now;
  c.baseline_pixels = cv::countNonZero(base);
  c.current_pixels = cv::countNonZero(now);
  c.new_pixels = cv::countNonZero(c.new_mask);
  c.persisting_pixels = cv::countNonZero(c.persisting_mask);
  c.cleared_pixels = cv::countNonZero(c.cleared_mask);
  if (c.baseline_pixels > 0) {
    c.area_change_percent =
        100.0 * static_cast<double>(c.current_pixels - c.baseline_pixels) / c.baseline_pixels;
  }
  c.repigmentation = ComputeRepigmentation(static_cast<double>(c.baseline_pixels),
                                           static_cast<double>(c.current_pixels));
  return c;
}

MaskAgreement CompareToTruth(const cv::Mat& predicted, const cv::Mat& truth,
                             const cv::Mat& domain) {
  CheckPair(predicted, truth, "CompareToTruth");
  CheckOptionalMask(domain, truth.size(), "the domain mask");
  const cv::Mat p = predicted != 0, t = truth != 0;
  const double inter = cv::countNonZero(p & t);
  const double uni = cv::countNonZero(p | t);
  const double np = cv::countNonZero(p), nt = cv::countNonZero(t);
  MaskAgreement a;
  a.dice = (np + nt) > 0 ? 2.0 * inter / (np + nt) : 1.0;
  a.iou = uni > 0 ? inter / uni : 1.0;
  const double denom = domain.empty() ? static_cast<double>(truth.total())
                                      : static_cast<double>(cv::countNonZero(domain));
  if (denom > 0) {
    a.predicted_fraction = np / denom;
    a.truth_fraction = nt / denom;
  }
  a.area_error_points = 100.0 * (a.predicted_fraction - a.truth_fraction);
  return a;
}

cv::Mat RenderOverlay(const cv::Mat& bgr, const cv::Mat& lesion_mask, const cv::Mat& skin_mask,
                      const cv::Mat& reference_mask) {
  if (lesion_mask.empty() || lesion_mask.type() != CV_8UC1) {
    throw Error(ErrorCode::kInvalidArgument, "RenderOverlay: the lesion mask must be CV_8UC1");
  }
  CheckImage(bgr, lesion_mask.size());
  CheckOptionalMask(skin_mask, lesion_mask.size(), "RenderOverlay: the skin mask");
  CheckOptionalMask(reference_mask, lesion_mask.size(), "RenderOverlay: the reference mask");
  cv::Mat canvas = bgr.clone();
  const int width = OutlineWidth(bgr.size());
  if (!skin_mask.empty()) {
    std::vector<std::vector<cv::Point>> contours;
    cv::findContours(skin_mask != 0, contours, cv::RETR_EXTERNAL, cv::CHAIN_APPROX_SIMPLE);
    cv::drawContours(canvas, contours, -1, cv::Scalar(160, 160, 160), width, cv::LINE_AA);
  }
  Paint(canvas, lesion_mask != 0, cv::Scalar(255, 0, 255), 0.35, 2 * width);
  if (!reference_mask.empty()) {
    std::vector<std::vector<cv::Point>> contours;
    cv::findContours(reference_mask != 0, contours, cv::RETR_LIST, cv::CHAIN_APPROX_SIMPLE);
    cv::drawContours(canvas, contours, -1, cv::Scalar(0, 255, 0), width, cv::LINE_AA);
  }
  return canvas;
}

cv::Mat RenderChangeMap(const cv::Mat& baseline_bgr, const MaskChange& change) {
  CheckPair(change.new_mask, change.cleared_mask, "RenderChangeMap");
  CheckImage(baseline_bgr, change.new_mask.size());
  cv::Mat canvas = baseline_bgr.clone();
  const int width = OutlineWidth(canvas.size());
  Paint(canvas, change.persisting_mask, cv::Scalar(0, 215, 255), 0.5, width);
  Paint(canvas, change.cleared_mask, cv::Scalar(0, 200, 0), 0.5, width);
  Paint(canvas, change.new_mask, cv::Scalar(0, 0, 255), 0.5, width);
  return canvas;
}

}  // namespace skintrack::scoring
