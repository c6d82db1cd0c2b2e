#include "skintrack/phantom/phantom.h"

#include <algorithm>
#include <cmath>
#include <opencv2/imgcodecs.hpp>
#include <opencv2/imgproc.hpp>

#include "generator.h"
#include "skintrack/core/colour.h"
#include "skintrack/core/error.h"

namespace skintrack::phantom {

using detail::ApplyCamera;
using detail::Canvas;
using detail::ComposeCanvas;
using detail::FitAffine;
using detail::LesionLayer;
using detail::MakeCanvas;
using detail::MakePhotometric;
using detail::MakePose;
using detail::MakePsoriasis;
using detail::MakeVitiligo;
using detail::MeasuredIta;
using detail::NearestLadderLevel;
using detail::PoseMapper;
using detail::PsoriasisModel;
using detail::RenderPsoriasis;
using detail::RenderVitiligo;
using detail::SeverityAtVisit;
using detail::SimilarityToBaseline;
using detail::ToFloat;
using detail::VitiligoModel;

const char* ResponseName(Response r) noexcept {
  switch (r) {
    case Response::kResponder:
      return "responder";
    case Response::kPartial:
      return "partial";
    case Response::kNonResponder:
      return "non-responder";
    case Response::kWorsening:
      return "worsening";
  }
  return "responder";
}

Response ParseResponse(const std::string& text) {
  for (Response r :
       {Response::kResponder, Response::kPartial, Response::kNonResponder, Response::kWorsening}) {
    if (text == ResponseName(r)) return r;
  }
  throw Error(
      ErrorCode::kInvalidArgument,
      "unknown response '" + text + "' (expected responder, partial, non-responder or worsening)");
}

void PhantomOptions::Check() const {
  auto bad = [](const std::string& what) { throw Error(ErrorCode::kInvalidArgument, what); };
  if (visits < 1 || visits > 50) bad("visits must be between 1 and 50");
  if (fitzpatrick < 1 || fitzpatrick > 6) bad("fitzpatrick must be a skin type from 1 to 6");
  if (size.width < 16 || size.height < 16 || size.width > 8000 || size.height > 8000) {
    bad("size must be between 16x16 and 8000x8000 pixels");
  }
  if (!(max_rotation_deg >= 0 && max_rotation_deg <= 180))
    bad("max rotation must be 0..180 degrees");
  if (!(min_scale > 0.1 && min_scale <= max_scale && max_scale <= 10)) {
    bad("scale range must satisfy 0.1 < min <= max <= 10");
  }
  if (!(max_shift >= 0 && max_shift <= 1)) bad("max shift must be 0..1 of the width");
  if (!(perspective >= 0 && perspective <= 1e-3)) bad("perspective must be 0..0.001");
  if (!(deformation_px >= 0 && deformation_px <= 0.1 * std::min(size.width, size.height))) {
    bad("deformation must be 0..10 % of the shorter side, in pixels");
  }
  if (!(blur_sigma >= 0 && blur_sigma <= 20)) bad("blur sigma must be 0..20 pixels");
  if (!(noise_sigma >= 0 && noise_sigma <= 50)) bad("noise sigma must be 0..50 levels");
  if (jpeg_quality < 0 || jpeg_quality > 100) bad("jpeg quality must be 0 (PNG) or 1..100");
  if (!(diffuse_erythema >= 0 && diffuse_erythema <= 12)) {
    bad("diffuse erythema must be 0..12 a* units");
  }
  if (!(lesion_coverage == 0 || (lesion_coverage >= 0.01 && lesion_coverage <= 0.85))) {
    bad("lesion coverage must be 0 (drawn) or 0.01..0.85 of the skin");
  }
  if (!lesions && lesion_coverage > 0) bad("lesion coverage needs lesions");
  if (!site.empty()) FindBodySite(site);
}

cv::Point2d Series::MapToBaseline(int visit, cv::Point2d p) const {
  if (visit < 0 || visit >= static_cast<int>(visits.size())) {
    throw Error(ErrorCode::kInvalidArgument, "no visit " + std::to_string(visit) + " in series");
  }
  return PoseMapper(visits[static_cast<size_t>(visit)].truth.pose, options.size)(p);
}

Series GeneratePhantom(const PhantomOptions& options) {
  options.Check();
  Series series;
  series.options = options;
  series.site = !options.site.empty()                        ? options.site
                : options.condition == Condition::kPsoriasis ? "left-forearm"
                                                             : "left-hand";
  const BodySite& site = FindBodySite(series.site);
  const Canvas canvas = MakeCanvas(options, site);
  series.tone.fitzpatrick = options.fitzpatrick;
  for (int k = 0; k < 3; ++k) series.tone.lab[k] = canvas.tone_lab[k];
  series.tone.ita_target = ItaDegrees(canvas.tone_lab[0], canvas.tone_lab[2]);

  PsoriasisModel psoriasis;
  VitiligoModel vitiligo;
  if (options.condition == Condition::kPsoriasis) {
    psoriasis = MakePsoriasis(canvas, options);
  } else {
    vitiligo = MakeVitiligo(canvas, options);
  }
  const double skin_px_canvas = cv::countNonZero(canvas.skin_mask);
  cv::Mat baseline_depigmented;

  for (int k = 0; k < options.visits; ++k) {
    Visit visit;
    VisitTruth& truth = visit.truth;
    truth.index = k;
    LesionLayer layer;
    if (options.condition == Condition::kPsoriasis) {
      SeverityAtVisit sev;
      layer = RenderPsoriasis(canvas, psoriasis, options, k, &sev, &truth.new_lesion);
      truth.erythema_grade = sev.erythema;
      truth.erythema_delta_a = sev.delta_a;
      truth.scaling_grade = sev.scaling;
      truth.scale_fraction = sev.scale_fraction;
      truth.induration_grade = sev.induration;
      truth.plaque_height = sev.relief;
    } else {
      layer = RenderVitiligo(canvas, vitiligo, options, k, &truth.new_lesion);
      truth.sharp_borders = vitiligo.sharp;
      const double env = cv::countNonZero(layer.envelope);
      const double dep = cv::countNonZero(layer.lesion);
      truth.depigmentation = env > 0 ? dep / env : 0.0;
      truth.depigmentation_level = NearestLadderLevel(100.0 * truth.depigmentation);
      truth.envelope_fraction = env / skin_px_canvas;
      if (k == 0) baseline_depigmented = layer.lesion.clone();
      const double d0 = cv::countNonZero(baseline_depigmented);
      truth.repigmentation_percent = d0 > 0 ? 100.0 * (d0 - dep) / d0 : 0.0;
    }
    truth.lesion_fraction_site = cv::countNonZero(layer.lesion) / skin_px_canvas;
    {
      cv::Mat labels;
      truth.lesion_count = cv::connectedComponents(layer.lesion, labels, 8) - 1;
    }

    // Pose and the per-pixel map from this visit into the canvas.
    truth.pose = MakePose(options, k);
    cv::Mat map_x(options.size, CV_32F), map_y(options.size, CV_32F);
    cv::Mat outside(options.size, CV_8U);
    const double cw = canvas.size.width - 1, ch = canvas.size.height - 1;
    const PoseMapper to_baseline(truth.pose, options.size);
    cv::parallel_for_(cv::Range(0, options.size.height), [&](const cv::Range& rows) {
      for (int y = rows.start; y < rows.end; ++y) {
        auto* mx = map_x.ptr<float>(y);
        auto* my = map_y.ptr<float>(y);
        auto* out = outside.ptr<unsigned char>(y);
        for (int x = 0; x < options.size.width; ++x) {
          const cv::Point2d b = to_baseline({double(x), double(y)});
          mx[x] = static_cast<float>(b.x + canvas.margin);
          my[x] = static_cast<float>(b.y + canvas.margin);
          out[x] = (mx[x] < 0 || my[x] < 0 || mx[x] > cw || my[x] > ch) ? 255 : 0;
        }
      }
    });

    cv::Mat canvas_bgr = ComposeCanvas(canvas, layer);
    if (truth.pose.scale < 1.0) {
      // A zoomed-out view averages several canvas pixels into one: band-limit first.
      const double sigma = 0.6 * std::sqrt(1.0 / (truth.pose.scale * truth.pose.scale) - 1.0);
      if (sigma > 0.05) cv::GaussianBlur(canvas_bgr, canvas_bgr, cv::Size(), sigma);
    }
    cv::Mat view;
    cv::remap(canvas_bgr, view, map_x, map_y, cv::INTER_LINEAR, cv::BORDER_REPLICATE);
    if (cv::countNonZero(outside) > 0) {
      for (int y = 0; y < view.rows; ++y) {
        auto* px = view.ptr<cv::Vec3f>(y);
        const auto* out = outside.ptr<unsigned char>(y);
        const auto* mx = map_x.ptr<float>(y);
        const auto* my = map_y.ptr<float>(y);
        for (int x = 0; x < view.cols; ++x) {
          if (out[x] != 0) px[x] = canvas.Background(mx[x] - canvas.margin, my[x] - canvas.margin);
        }
      }
    }
    auto warp_mask = [&](const cv::Mat& mask) {
      cv::Mat f = ToFloat(mask), w;
      cv::remap(f, w, map_x, map_y, cv::INTER_LINEAR, cv::BORDER_CONSTANT, cv::Scalar(0));
      cv::Mat m = w >= 0.5f;
      return m;
    };
    visit.skin_mask = warp_mask(canvas.skin_mask);
    visit.lesion_mask = warp_mask(layer.lesion) & visit.skin_mask;
    if (!layer.envelope.empty()) visit.envelope_mask = warp_mask(layer.envelope) & visit.skin_mask;

    truth.photometric = MakePhotometric(options, k);
    visit.image = ApplyCamera(view, truth.photometric, options.seed, k);
    if (options.jpeg_quality > 0) {
      std::vector<unsigned char> bytes;
      cv::imencode(".jpg", visit.image, bytes, {cv::IMWRITE_JPEG_QUALITY, options.jpeg_quality});
      visit.image = cv::imdecode(bytes, cv::IMREAD_COLOR);
      visit.encoded = std::move(bytes);
    }

    truth.skin_pixels = cv::countNonZero(visit.skin_mask);
    truth.lesion_pixels = cv::countNonZero(visit.lesion_mask);
    truth.lesion_fraction =
        truth.skin_pixels > 0 ? double(truth.lesion_pixels) / truth.skin_pixels : 0.0;
    truth.matrix_exact =
        truth.pose.perspective == cv::Matx33d::eye() && truth.pose.deformation.empty();
    truth.to_baseline = truth.matrix_exact ? SimilarityToBaseline(truth.pose, options.size)
                                           : FitAffine(truth.pose, options.size, visit.skin_mask);
    if (k == 0) {
      series.tone.ita_measured = MeasuredIta(visit.image, visit.skin_mask, visit.lesion_mask);
    }
    series.visits.push_back(std::move(visit));
  }
  return series;
}

}  // namespace skintrack::phantom
