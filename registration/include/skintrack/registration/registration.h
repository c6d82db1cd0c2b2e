// Alignment of a capture to its site's baseline capture.
//
// Coordinates: every matrix and field here is in FULL-RESOLUTION PIXELS with pixel centres at
// integer coordinates (the cv::warpAffine convention): pixel (0, 0) is the centre of the top-left
// pixel. `RegistrationResult::matrix` maps a pixel of the MOVING image to the FIXED (baseline)
// image, so `cv::warpAffine(moving, out, matrix, baseline.size())` shows the moving capture in the
// baseline frame. (ITK's physical space and its fixed -> moving transforms stay inside the
// implementation.)
//
// Method: a coarse start from SIFT matches + RANSAC on reduced copies (capture range: any
// rotation, large scale and shift), then ITK multi-resolution refinement with Mattes mutual
// information on a grey working copy, kept only when a guard accepts it (it must not move the
// matched features away and must not lower the independent quality score), then a sub-pixel
// polish (robust Gauss-Newton with a smooth lighting model, kept when the local correlation rises
// and the quality score does not drop by more than 10 %). See
// docs/registration.md for the measurements behind the defaults.
//
// Thread safety: all functions are reentrant; RegisterToBaseline uses `threads` work units inside
// ITK, OpenCV's own thread pool for feature detection (keypoints are put in a fixed order), and
// short-lived threads of its own for the quality scores that do not feed the ITK stage. With
// threads = 1 (the default) the same inputs and seed give the same result bit for bit.
#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>
#include <opencv2/core.hpp>
#include <string>

namespace skintrack::registration {

enum class TransformModel {
  kRigid,       // rotation + translation
  kSimilarity,  // rotation + isotropic scale + translation
  kAffine,      // full 2x3 (adds anisotropic scale and shear)
};
const char* TransformModelName(TransformModel model) noexcept;  // "rigid", "similarity", "affine"
// Throws Error(kInvalidArgument) for anything but the three names above.
TransformModel ParseTransformModel(const std::string& text);

struct RegistrationOptions {
  TransformModel model = TransformModel::kSimilarity;
  // Smooth B-spline stage after the linear stage; fills RegistrationResult::field. Experimental:
  // about 4 s per pair and it can make a pair worse (docs/registration.md).
  bool deformable = false;
  double deformable_grid_px = 160;  // B-spline control-point spacing, full-resolution pixels

  // Optional regions of interest, CV_8UC1 of the image's size, nonzero = use. Pass skin minus the
  // lesions under follow-up: lesions change by definition and background carries no information.
  // Empty = whole image.
  cv::Mat fixed_mask;
  cv::Mat moving_mask;

  int feature_long_side = 800;  // the feature start runs on copies reduced to this long side
  // The intensity refinement runs on grey copies halved (power-of-two factors) until their long
  // side is at most this: 2 MP photos at full size, 12 MP photos at half size.
  int working_long_side = 2048;
  bool use_features = true;  // false: start with the image centres on each other (small moves)
  bool refine = true;        // false: stop after the feature start

  int histogram_bins = 32;  // Mattes mutual information
  int levels = 2;  // pyramid levels (shrink 2, 1); at least 3 when the feature start failed
  int max_iterations = 150;  // per level
  // Metric sample points per level (fixed-image grid, jittered). 20 000 since the polish does the
  // last hundredths: 40 000 gave the same final error for 0.1 s more CPU per 2 MP pair.
  int samples = 20000;
  std::uint32_t seed = 1;  // jitter of the sample grid
  // ITK work units of the metric; 0 = ITK's default. 1 (default) is reproducible bit for bit.
  // More are faster, but ITK 5.2's Mattes metric sums per-work-unit derivative buffers in the
  // order they take a lock, so runs then differ in the last digits (~1e-13 px measured).
  int threads = 1;

  // Final sub-pixel polish on the working copies: robust Gauss-Newton on `polish_points` pixels
  // of strongest gradient, with the lighting change modelled as a smooth (quadratic) gain. Kept
  // only if it raises the local correlation (smoothed copies, away from excluded regions), lowers
  // the quality score by at most 10 % and moves the matched features by at most `guard_px`.
  bool polish = true;
  int polish_points = 60000;

  int min_inliers = 12;       // fewer RANSAC inliers = the feature start failed
  double guard_px = 1.5;      // refinement may move matched features by at most this (mean)
  double min_quality = 0.08;  // below this quality score the alignment is reported as failed
  // The same without a feature start (intensity only), which can settle in a wrong basin: on the
  // real serial pairs, intensity-only results at 0.084 and 0.131 were visibly misaligned, 0.209
  // was right.
  double min_quality_without_features = 0.15;
  double min_overlap = 0.25;  // share of the fixed region of interest the moving image covers

  // Throws Error(kInvalidArgument) naming the first bad field.
  void Check() const;
};

struct RegistrationResult {
  cv::Matx23d matrix = cv::Matx23d(1, 0, 0, 0, 1, 0);  // moving pixel -> fixed pixel
  TransformModel model = TransformModel::kSimilarity;
  cv::Size fixed_size, moving_size;

  // False when the alignment failed or is doubtful; `stop_reason` says why (and, when true, how
  // the optimiser stopped). A false result's matrix is the best estimate found, not to be trusted.
  bool converged = false;
  std::string stop_reason;

  // Independent quality score: normalised mutual information of the grey images after alignment,
  // 2 I(A;B) / (H(A) + H(B)) in [0, 1] (0 = unrelated, 1 = identical up to a monotonic
  // intensity map), over the overlap within the fixed region of interest. Computed by the
  // module itself on all overlap pixels, not the optimiser's sampled value.
  double quality = 0;
  double quality_features = 0;  // the same score for the feature start alone
  double overlap_fraction = 0;  // share of the fixed region of interest covered by moving pixels

  int feature_matches = 0;          // ratio-test matches
  int feature_inliers = 0;          // RANSAC inliers
  double feature_residual_px = -1;  // RMS inlier residual under `matrix`, fixed pixels; -1: none

  bool refined = false;         // the ITK refinement was kept (guard passed)
  std::string refinement_note;  // why it was or was not kept
  bool polished = false;        // the final polish was kept
  std::string polish_note;      // why it was or was not kept
  double metric = 0;            // final Mattes MI value of the optimiser (negative, sampled)
  int iterations = 0;           // optimiser iterations over all levels (both stages)

  // Deformable stage only: CV_32FC2 of the fixed size; element (y, x) is the moving-image pixel
  // shown at fixed pixel (x, y) (a cv::remap map). Empty when the stage did not run or was
  // rejected. It includes the affine part.
  cv::Mat field;
  bool deformable_applied = false;
  std::string deformable_note;

  double seconds = 0;  // wall time of RegisterToBaseline
};

// Aligns `moving` to `baseline` (the fixed image). Both: CV_8U, CV_16U or CV_32F, with 1, 3 (BGR)
// or 4 (BGRA) channels, the same type, at least 32 x 32 pixels. Failure to align is NOT an
// exception: it is `converged == false` with a reason. Throws Error(kInvalidArgument) for empty
// images, mismatched types or channels, masks of the wrong size or type, bad options;
// Error(kInternal) when OpenCV or ITK fail unexpectedly.
RegistrationResult RegisterToBaseline(const cv::Mat& baseline, const cv::Mat& moving,
                                      const RegistrationOptions& options = {});

// The baseline's side of a registration: its grey working copy, its reduced copy for the feature
// start and that copy's SIFT features, within `options.fixed_mask`. A site's follow-ups are all
// registered to one baseline, so the pipeline prepares it once (issue 15); registering with it
// gives the same result, bit for bit, as RegisterToBaseline with the image and mask. Immutable:
// one prepared baseline may serve several registrations at once.
struct PreparedBaseline;
// Throws as RegisterToBaseline does for the baseline, its mask and the options.
std::shared_ptr<const PreparedBaseline> PrepareBaseline(const cv::Mat& baseline,
                                                        const RegistrationOptions& options = {});
cv::Size PreparedSize(const PreparedBaseline& baseline);      // the baseline's full size
std::size_t PreparedBytes(const PreparedBaseline& baseline);  // memory it holds
// RegisterToBaseline with a prepared baseline. `options.fixed_mask` must be empty (the prepared
// baseline holds it) and working_long_side, feature_long_side and use_features those it was
// prepared with; Error(kInvalidArgument) otherwise.
RegistrationResult RegisterToBaseline(const PreparedBaseline& baseline, const cv::Mat& moving,
                                      const RegistrationOptions& options = {});

// The moving capture's side before its mask is known (grey working copy, feature copy and its
// SIFT features, which the moving mask then filters): the pipeline prepares it while the capture
// is being segmented, whose masks make the moving mask.
// The same result, bit for bit, as registering the image; the same checks as above (the capture
// prepared with the same options; `options.moving_mask` of the capture's size).
struct PreparedCapture;
std::shared_ptr<const PreparedCapture> PrepareCapture(const cv::Mat& moving,
                                                      const RegistrationOptions& options = {});
RegistrationResult RegisterToBaseline(const PreparedBaseline& baseline,
                                      const PreparedCapture& moving,
                                      const RegistrationOptions& options = {});

// Resamples a capture (any type OpenCV can remap) into the baseline frame of `result` (size
// result.fixed_size), bilinear, zero outside the capture. Uses `field` when present, else
// `matrix`. Throws Error(kInvalidArgument) when the image size is not result.moving_size.
cv::Mat WarpImageToBaseline(const cv::Mat& image, const RegistrationResult& result);

// Same for a label or binary mask: nearest neighbour, so no new label values appear.
cv::Mat WarpMaskToBaseline(const cv::Mat& mask, const RegistrationResult& result);

// The quality score above for two grey images of one size (CV_8U or CV_32F, one channel) over
// the nonzero pixels of `mask` (CV_8UC1, or empty for all): 2 I / (H(A) + H(B)) with `bins`
// bins. Returns 0 when fewer than 64 pixels are in the mask. Throws Error(kInvalidArgument).
double NormalizedMutualInformation(const cv::Mat& a, const cv::Mat& b, const cv::Mat& mask,
                                   int bins = 32);

}  // namespace skintrack::registration
