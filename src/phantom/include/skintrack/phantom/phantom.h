// Synthetic longitudinal phantoms: serial photos of one body site with known answers.
//
// A series is drawn on a "site canvas" in the baseline frame: the skin of one body part with its
// texture (pores, creases, hair, moles), lesions that change from visit to visit as treatment
// changes them, on a background. Visit 0 is the baseline photo: it is the canvas seen head-on, so
// its pixels ARE the baseline frame. Every later visit sees the same canvas from another pose
// (rotation, scale, shift, optional mild perspective and smooth non-rigid deformation), under other
// lighting, with sensor noise and optional blur / JPEG compression.
//
// Coordinates: pixel centres at integer coordinates (the cv::warpAffine convention). The truth
// mapping of a visit takes a pixel of that visit to the pixel of visit 0 that shows the same point
// of skin; for the affine case it is `VisitTruth::to_baseline`, in general MapToBaseline().
//
// Determinism: the same options give the same pixels on any machine running the same OpenCV build;
// random numbers come from the project's own generator (not std:: distributions, whose output is
// implementation-defined). Thread safety: GeneratePhantom is reentrant.
#pragma once

#include <cstdint>
#include <opencv2/core.hpp>
#include <string>
#include <vector>

#include "skintrack/core/body_sites.h"

namespace skintrack::phantom {

// How the lesions evolve over the series.
enum class Response {
  kResponder,     // lesion area falls to about 10 % of baseline by the last visit, severity fades
  kPartial,       // to about 50 %
  kNonResponder,  // stays within about +-10 %
  kWorsening,     // grows by about 40 %
};
const char* ResponseName(Response r) noexcept;
Response ParseResponse(const std::string& text);  // throws Error(kInvalidArgument)

struct PhantomOptions {
  Condition condition = Condition::kPsoriasis;
  int visits = 4;  // 1..50
  std::uint64_t seed = 1;
  int fitzpatrick = 3;        // skin type 1..6
  cv::Size size{1600, 1200};  // pixels of every visit (16..8000 per side)
  std::string site;           // a catalogue site; empty = left-forearm / left-hand
  Response response = Response::kResponder;
  // Pose of visits 1..N-1 relative to the baseline, drawn uniformly within these bounds.
  double max_rotation_deg = 45.0;  // |rotation| <= this
  double min_scale = 0.75;         // scale drawn log-uniformly in [min_scale, max_scale]
  double max_scale = 1.33;
  double max_shift = 0.25;       // |shift| <= this fraction of the width, per axis
  double perspective = 0.0;      // 0 = affine; up to 1e-4 adds a mild projective tilt
  double deformation_px = 0.0;   // amplitude of a smooth non-rigid displacement, pixels
  bool lighting_changes = true;  // exposure, colour temperature, gradient per visit
  bool lesion_changes = true;    // false: lesions identical at every visit (geometry tests)
  bool new_lesions = true;       // a new lesion may appear during the series
  double blur_sigma = 0.0;       // Gaussian blur of every visit but the baseline, pixels
  double noise_sigma = 1.5;      // sensor noise, 8-bit levels
  int jpeg_quality = 0;          // 0 = lossless PNG; 1..100 = JPEG at that quality
  // Hard cases for the segmenters (all off by default; the default output does not depend on
  // them). Mild diffuse blotchy erythema of the normal skin: soft low-frequency patches of extra
  // redness up to this many a* units (0..12; 3-6 is "mild"). They are not lesions: the truth
  // lesion mask holds the plaques only.
  double diffuse_erythema = 0.0;
  // Share of the skin covered by lesions at the baseline (0 = drawn, 10-28 %; up to 0.85). Above
  // about 0.3 more and larger plaques (or patches) are drawn: extensive disease, as in the
  // moderate-to-severe patients that trials enrol.
  double lesion_coverage = 0.0;
  bool lesions = true;  // false: skin without any lesion (negatives)

  // Throws Error(kInvalidArgument) naming the first bad field.
  void Check() const;
};

// The skin tone a series was drawn with.
struct SkinTone {
  int fitzpatrick = 0;
  double lab[3] = {0, 0, 0};  // mean normal-skin CIELAB the canvas was drawn with
  double ita_target = 0;      // ITA of that colour, degrees
  double ita_measured = 0;  // ITA measured on visit 0's normal skin (texture and shading included)
};

struct Photometric {
  double exposure = 1.0;               // multiplicative gain on linear RGB
  double colour_temperature_k = 6500;  // illuminant the white balance missed
  double gain_bgr[3] = {1, 1, 1};      // per-channel linear gains from the temperature
  double gradient_amplitude = 0;       // +-fraction of brightness across the frame
  double gradient_angle_deg = 0;       // direction in which brightness grows
  double blur_sigma = 0;
  double noise_sigma = 0;
  int jpeg_quality = 0;
};

struct Pose {
  double rotation_deg = 0;
  double scale = 1;
  double shift_x = 0, shift_y = 0;               // pixels
  cv::Matx33d perspective = cv::Matx33d::eye();  // applied after the similarity
  // Smooth deformation: displacement(p) = sum_i d_i * exp(-|p - c_i|^2 / (2 s^2)), in visit pixels.
  std::vector<cv::Vec4d> deformation;  // (c_x, c_y, d_x, d_y) per bump
  double deformation_sigma = 0;
};

struct VisitTruth {
  int index = 0;
  Pose pose;
  // Visit pixel -> baseline pixel. Exact when `matrix_exact` (no perspective, no deformation);
  // otherwise the least-squares affine fit over the visit's skin, and MapToBaseline() is exact.
  cv::Matx23d to_baseline;
  bool matrix_exact = true;
  // Lesion pixels / skin pixels in this visit's own pixels (what a segmenter should find here),
  // and over the whole site in the baseline frame (independent of the field of view).
  double lesion_fraction = 0;
  double lesion_fraction_site = 0;
  long long skin_pixels = 0, lesion_pixels = 0;
  int lesion_count = 0;     // connected lesions on the site
  bool new_lesion = false;  // a lesion appeared at this visit
  // Psoriasis severity inputs (0-4), with the continuous quantities they were drawn from.
  int erythema_grade = 0;
  double erythema_delta_a = 0;  // a* of plaque minus a* of normal skin at full plaque intensity
  int scaling_grade = 0;
  double scale_fraction = 0;  // share of plaque pixels covered by silvery scale
  int induration_grade = 0;
  double plaque_height = 0;  // relief amplitude of the shading, arbitrary units
  // Vitiligo: residual depigmentation within the patch envelope (continuous, 0..1), its nearest
  // VASI ladder level (0/10/25/50/75/90/100 %), envelope area fraction of skin, and repigmentation
  // against the baseline visit in the baseline frame (percent; 0 at visit 0).
  double depigmentation = 0;
  int depigmentation_level = 0;
  double envelope_fraction = 0;
  double repigmentation_percent = 0;
  bool sharp_borders = false;
  Photometric photometric;
};

struct Visit {
  cv::Mat image;          // CV_8UC3 BGR, as written (decoded back from JPEG when jpeg_quality > 0)
  cv::Mat skin_mask;      // CV_8UC1 0/255, this visit's pixels
  cv::Mat lesion_mask;    // CV_8UC1 0/255: plaques, or depigmented pixels for vitiligo
  cv::Mat envelope_mask;  // vitiligo: patch envelope (lesion + perifollicular islands); else empty
  std::vector<unsigned char> encoded;  // the JPEG bytes when jpeg_quality > 0 (else empty)
  VisitTruth truth;
};

struct Series {
  PhantomOptions options;
  std::string site;  // resolved site name
  SkinTone tone;
  std::vector<Visit> visits;

  // Exact truth mapping of pixel `p` of visit `visit` to the baseline (visit 0) frame.
  cv::Point2d MapToBaseline(int visit, cv::Point2d p) const;
};

// Generates a whole series. Throws Error(kInvalidArgument) for bad options.
Series GeneratePhantom(const PhantomOptions& options);

// Writes visit-K.png (or .jpg), visit-K.skin.png, visit-K.lesion.png (and visit-K.envelope.png for
// vitiligo) and truth.json into `dir`, creating it. Throws Error(kIo) when a file cannot be
// written.
void WriteSeries(const Series& series, const std::string& dir);

// The ground truth of a series as JSON text (the content of truth.json).
std::string TruthJson(const Series& series);

}  // namespace skintrack::phantom
