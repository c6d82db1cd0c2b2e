// Internal pieces of the phantom generator shared between its source files: the random streams,
// the tone and severity tables, the series canvas, the lesion models and the camera / pose
// helpers. Not part of the public API.
#pragma once

#include <cmath>
#include <cstdint>
#include <opencv2/core.hpp>
#include <vector>

#include "rng.h"
#include "scene.h"
#include "skintrack/core/body_sites.h"
#include "skintrack/phantom/phantom.h"

namespace skintrack::phantom::detail {

constexpr double kPi = 3.14159265358979323846;

// Random-number streams of one seed (see Rng): fixed ids so that each use is independent.
enum Stream : std::uint64_t {
  kStreamShape = 1,
  kStreamSkin = 2,
  kStreamTexture = 3,
  kStreamLesions = 4,
  kStreamTrajectory = 5,
  kStreamBackground = 6,
  kStreamErythema = 7,
  kStreamPose = 100,         // + visit index
  kStreamPhotometric = 200,  // + visit index
  kStreamNoise = 300,        // + visit index
};

// Typical normal-skin colour per Fitzpatrick type, chosen in the middle of the ITA groups of
// SCORES.md (I very light ... VI dark): L*, ITA (degrees) and a*; b* follows from L* and ITA.
struct ToneSpec {
  double l, ita, a;
};
constexpr ToneSpec kTones[6] = {{70, 60, 9},  {65, 46, 11},  {60, 32, 12},
                                {56, 19, 12}, {45, -12, 11}, {32, -45, 9}};

// Erythema is less visible on dark skin: the a* contrast of a grade shrinks with pigment.
constexpr double kErythemaVisibility[6] = {1.0, 1.0, 1.0, 0.85, 0.7, 0.55};
constexpr double kDeltaAPerGrade = 5.0;  // a* units per grade
constexpr double kScaleFractionOfGrade[5] = {0.0, 0.08, 0.22, 0.40, 0.60};
constexpr double kReliefOfGrade[5] = {0.0, 1.5, 3.0, 4.5, 6.0};  // L* units
constexpr int kLadder[7] = {0, 10, 25, 50, 75, 90, 100};
// Baseline lesion coverage above which lesions are drawn as extensive disease (see
// PhantomOptions::lesion_coverage).
constexpr double kExtensiveCoverage = 0.3;

// The nearest level of the vitiligo depigmentation ladder (kLadder) to `percent`.
int NearestLadderLevel(double percent);

// The lesion area (as a multiple of baseline) and severity multiplier at progress p in [0, 1].
struct Trajectory {
  double area_end = 1, severity_end = 1;
  double Area(double p) const { return 1.0 + (area_end - 1.0) * std::pow(p, 0.8); }
  double Severity(double p) const { return 1.0 + (severity_end - 1.0) * p; }
};

// Everything about a series that does not change between visits, drawn on the site canvas:
// the baseline frame plus a margin, so that later visits that look past the baseline's edges still
// see the same skin. Canvas pixel = baseline pixel + (margin, margin).
struct Canvas {
  cv::Size frame, size;
  int margin = 0;
  double feature_scale = 1;  // feature sizes scale with the frame (1 at 1200 px short side)
  detail::Silhouette silhouette;
  cv::Mat sdf;                     // CV_32F, pixels, negative inside the skin
  cv::Mat skin_alpha;              // CV_32F 0..1, anti-aliased outline
  cv::Mat skin_mask;               // CV_8U 0/255 (alpha >= 0.5)
  cv::Mat interior;                // CV_8U 0/255: skin far enough from the outline to hold lesions
  cv::Mat skin_lab;                // CV_32FC3 normal skin with low-frequency colour and shading
  cv::Mat texture_gain;            // CV_32F multiplicative L* texture (creases, pores, fine grain)
  cv::Mat mole_alpha, hair_alpha;  // CV_32F 0..1
  cv::Vec3f mole_lab, hair_lab;
  cv::Vec3d tone_lab;
  // Background (not skin): a smooth function of baseline coordinates, defined everywhere so that
  // views beyond the canvas continue it without a seam.
  cv::Vec3d bg_bgr;
  cv::Vec2d bg_dir1, bg_dir2;
  double bg_wave1 = 1, bg_wave2 = 1, bg_phase1 = 0, bg_phase2 = 0;
  cv::Mat background_bgr;  // CV_32FC3 on the canvas

  cv::Vec3f Background(double bx, double by) const {
    const double g =
        1.0 +
        0.07 * std::sin(2 * kPi * (bx * bg_dir1[0] + by * bg_dir1[1]) / bg_wave1 + bg_phase1) +
        0.05 * std::sin(2 * kPi * (bx * bg_dir2[0] + by * bg_dir2[1]) / bg_wave2 + bg_phase2);
    return cv::Vec3f(static_cast<float>(bg_bgr[0] * g), static_cast<float>(bg_bgr[1] * g),
                     static_cast<float>(bg_bgr[2] * g));
  }
};

// A CV_8U 0/255 mask as CV_32F 0..1.
cv::Mat ToFloat(const cv::Mat& u8);
// A random pixel where `mask` is non-zero, or (-1, -1) after `tries` misses.
cv::Point RandomPointIn(const cv::Mat& mask, Rng& rng, int tries = 2000);

Canvas MakeCanvas(const PhantomOptions& o, const BodySite& site);

// The lesion state of the site at one visit, in canvas pixels.
struct LesionLayer {
  cv::Mat lesion;    // CV_8U 0/255: plaques, or depigmented pixels
  cv::Mat envelope;  // vitiligo: patch envelope; empty for psoriasis
  cv::Mat lab;       // CV_32FC3: the skin colour with lesions drawn in
};

// A lesion field: high in the cores of lesions, with an irregular border. Lesions are where the
// field exceeds a threshold chosen to give a target area, so treatment shrinks them from the edges
// (psoriasis plaques clear from their borders; vitiligo repigments from the edges).
struct LesionField {
  cv::Mat field;                 // CV_32F on the canvas
  double baseline_fraction = 0;  // of interior skin
};

// Psoriasis plaques at one visit: red (relative to the skin tone), raised-looking (relief shading
// from the plaque's height profile) and covered in part by silvery-white scale.
struct PsoriasisModel {
  LesionField main;
  cv::Mat new_field;  // a lesion that appears during the series (empty when none)
  int new_visit = -1;
  cv::Mat scale_noise;
  int erythema0 = 3, scaling0 = 2, induration0 = 2;
  Trajectory trajectory;
};

PsoriasisModel MakePsoriasis(const Canvas& c, const PhantomOptions& o);

struct SeverityAtVisit {
  int erythema = 0, scaling = 0, induration = 0;
  double delta_a = 0, scale_fraction = 0, relief = 0;
};

LesionLayer RenderPsoriasis(const Canvas& c, const PsoriasisModel& m, const PhantomOptions& o,
                            int visit, SeverityAtVisit* sev, bool* new_lesion);

// Vitiligo: depigmented patches (milky white relative to the skin tone) with sharp or soft
// borders; treatment repigments them from the edges and around hair follicles (islands).
struct VitiligoModel {
  LesionField main;
  cv::Mat new_field;
  int new_visit = -1;
  std::vector<cv::Point> follicles;
  double follicle_spacing = 20;
  double island_radius0 = 0;  // islands already present at baseline (specks of pigment)
  bool sharp = false;
  Trajectory trajectory;
  double island_growth = 0;  // final island radius as a share of the follicle spacing
};

VitiligoModel MakeVitiligo(const Canvas& c, const PhantomOptions& o);
LesionLayer RenderVitiligo(const Canvas& c, const VitiligoModel& m, const PhantomOptions& o,
                           int visit, bool* new_lesion);

// The whole canvas in BGR [0, 1]: skin with its lesions and texture, moles, hair, background.
cv::Mat ComposeCanvas(const Canvas& c, const LesionLayer& layer);

Pose MakePose(const PhantomOptions& o, int visit);

// The similarity part of a pose as the matrix that maps visit pixels to baseline pixels. The
// camera turned and moved about the frame centre c: visit = s R (baseline - c) + c + t.
cv::Matx23d SimilarityToBaseline(const Pose& pose, cv::Size size);

// Visit pixel -> baseline pixel for one pose, with the per-pose work done once.
class PoseMapper {
 public:
  PoseMapper(const Pose& pose, cv::Size size)
      : pose_(pose),
        similarity_(SimilarityToBaseline(pose, size)),
        projective_(pose.perspective != cv::Matx33d::eye()),
        perspective_inv_(pose.perspective.inv()),
        cx_(0.5 * (size.width - 1)),
        cy_(0.5 * (size.height - 1)),
        two_sigma2_(2.0 * pose.deformation_sigma * pose.deformation_sigma) {}

  cv::Point2d operator()(cv::Point2d v) const {
    cv::Point2d u = v;
    for (const cv::Vec4d& d : pose_.deformation) {
      const double dx = v.x - d[0], dy = v.y - d[1];
      const double g = std::exp(-(dx * dx + dy * dy) / two_sigma2_);
      u.x += g * d[2];
      u.y += g * d[3];
    }
    // Undo the projective tilt (about the frame centre), then the similarity.
    if (projective_) {
      const cv::Vec3d q = perspective_inv_ * cv::Vec3d(u.x - cx_, u.y - cy_, 1.0);
      u = cv::Point2d(q[0] / q[2] + cx_, q[1] / q[2] + cy_);
    }
    const cv::Matx23d& m = similarity_;
    return {m(0, 0) * u.x + m(0, 1) * u.y + m(0, 2), m(1, 0) * u.x + m(1, 1) * u.y + m(1, 2)};
  }

 private:
  const Pose& pose_;
  cv::Matx23d similarity_;
  bool projective_;
  cv::Matx33d perspective_inv_;
  double cx_, cy_, two_sigma2_;
};

// Least-squares affine fit of the truth mapping over skin pixels of a visit (for the cases where
// the true mapping is not affine).
cv::Matx23d FitAffine(const Pose& pose, cv::Size size, const cv::Mat& skin_mask);

Photometric MakePhotometric(const PhantomOptions& o, int visit);
cv::Mat ApplyCamera(const cv::Mat& bgr, const Photometric& ph, std::uint64_t seed, int visit);

// Median L* and b* of visit 0's normal skin (skin, not lesion), for the measured ITA.
double MeasuredIta(const cv::Mat& image, const cv::Mat& skin, const cv::Mat& lesion);

}  // namespace skintrack::phantom::detail
