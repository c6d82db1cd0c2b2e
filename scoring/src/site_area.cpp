#include "skintrack/scoring/site_area.h"

#include <algorithm>

#include "skintrack/core/error.h"

namespace skintrack::scoring {

SiteArea MeasureSiteArea(const SiteAreaInput& in) {
  const cv::Size size = in.baseline_skin.size();
  for (const cv::Mat* m : {&in.baseline_lesion, &in.seen, &in.lesion}) {
    if (m->size() != size) {
      throw Error(ErrorCode::kInvalidArgument, "site area: masks must share the baseline's size");
    }
  }
  SiteArea out;
  const cv::Mat site_skin = in.baseline_skin != 0;
  const double site_pixels = cv::countNonZero(site_skin);
  if (site_pixels <= 0) {
    out.note = "the baseline shows no skin: area of the photo's own skin";
    return out;
  }
  const cv::Mat seen = in.seen != 0;
  out.unseen_skin_fraction = cv::countNonZero(site_skin & ~seen) / site_pixels;
  if (out.unseen_skin_fraction > 0.5) {
    out.note = "the photo shows less than half of the baseline's skin: area of its own skin";
    return out;
  }
  // The change measured where both photos see the site, applied to the baseline's whole-site
  // area: site(visit) = site(baseline) x |visit lesion in the overlap| / |baseline lesion in the
  // overlap|. On the demo's phantom series this cut the mean absolute error of the site fraction
  // from 2.7 to 0.8 points against the photo's own fraction (carrying the baseline's lesions
  // into the unseen part: 1.9, heavily biased for responders; the overlap's own density: 2.9).
  // A baseline with (almost) no lesion in the overlap gives no ratio: the overlap's density then.
  const double seen_skin = cv::countNonZero(site_skin & seen);
  const auto site_fraction = [&](const cv::Mat& visit_mask, const cv::Mat& baseline_mask) {
    const double now = cv::countNonZero((visit_mask != 0) & seen);
    const cv::Mat before_mask = baseline_mask != 0;
    const double before = cv::countNonZero(before_mask & seen);
    if (before >= std::max(25.0, 1e-3 * site_pixels)) {
      return cv::countNonZero(before_mask & site_skin) / site_pixels * now / before;
    }
    return seen_skin > 0 ? now / seen_skin : 0.0;
  };
  out.lesion_fraction = site_fraction(in.lesion, in.baseline_lesion);
  if (!in.envelope.empty()) {
    out.envelope_fraction = site_fraction(in.envelope, in.baseline_envelope);
  }
  out.used = true;
  out.note = "baseline frame: the baseline's site area scaled by the change seen in the overlap";
  return out;
}

}  // namespace skintrack::scoring
