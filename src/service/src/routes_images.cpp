// Images for clinicians (admin, clinician): the stored photo, its lesion mask, the overlay, the
// photo aligned to the baseline, and the change map against the baseline. PNGs take an optional
// ?max_side=N. The photo also for the annotators a capture is assigned to.
#include "annotation_support.h"
#include "api_support.h"
#include "routes.h"
#include "skintrack/core/error.h"
#include "skintrack/pipeline/baseline.h"
#include "skintrack/pipeline/change.h"
#include "skintrack/pipeline/results.h"
#include "skintrack/registration/registration.h"
#include "skintrack/scoring/change.h"
#include "skintrack/service/image_metadata.h"

namespace skintrack::service {
namespace {

using pipeline::result::kLesionMask;
using pipeline::result::kSkinMask;
using storage::Role;

storage::Capture AuthorizedCapture(ApiContext& ctx, const HttpRequest& req,
                                   const PathParams& params) {
  Authorize(ctx, req, {Role::kAdmin, Role::kClinician});
  return LoadCapture(ctx, params.at("id"));
}

// True when an If-None-Match list names `etag` (or is "*"); weak validators compare equal.
bool NoneMatchNames(const std::string& header, const std::string& etag) {
  size_t start = 0;
  while (start < header.size()) {
    size_t end = header.find(',', start);
    if (end == std::string::npos) end = header.size();
    std::string tag = header.substr(start, end - start);
    while (!tag.empty() && tag.front() == ' ') tag.erase(tag.begin());
    while (!tag.empty() && tag.back() == ' ') tag.pop_back();
    if (tag.rfind("W/", 0) == 0) tag = tag.substr(2);
    if (tag == etag || tag == "*") return true;
    start = end + 1;
  }
  return false;
}

}  // namespace

// The stored photo is content-addressed and never changes: its ETag is the blob's SHA-256 (with
// the orientation when that is not 1) and it may be cached for a year by the user's own browser
// (private: it is a patient's photo). A photo to be shown rotated is served with an EXIF block
// holding the orientation only, which browsers apply: the same pixel data, no other metadata.
// An annotator may read the photo of a capture assigned to it, to annotate it.
HttpResponse GetImage(ApiContext& ctx, const HttpRequest& req, const PathParams& params) {
  const auto token = Authorize(ctx, req, {Role::kAdmin, Role::kClinician, Role::kAnnotator});
  const storage::Capture c = LoadCapture(ctx, params.at("id"));
  RequireAssignedIfAnnotator(ctx, token, c);
  const std::string etag =
      "\"" + c.blob.sha256 +
      (c.orientation == 1 ? std::string() : "-o" + std::to_string(c.orientation)) + "\"";
  HttpResponse r;
  r.headers.emplace_back("ETag", etag);
  r.headers.emplace_back("Cache-Control", "private, max-age=31536000, immutable");
  if (NoneMatchNames(req.Header("if-none-match"), etag)) {
    r.status = 304;
    r.content_type.clear();
    return r;
  }
  r.content_type = c.media_type;
  r.body = WithOrientationTag(ctx.store.ReadBlob(c.blob.sha256), c.orientation);
  return r;
}

HttpResponse GetMaskPng(ApiContext& ctx, const HttpRequest& req, const PathParams& params) {
  const storage::Capture c = AuthorizedCapture(ctx, req, params);
  return PngResponse(RequireMask(ctx, c, kLesionMask));
}

HttpResponse GetOverlayPng(ApiContext& ctx, const HttpRequest& req, const PathParams& params) {
  const storage::Capture c = AuthorizedCapture(ctx, req, params);
  const cv::Mat lesion = RequireMask(ctx, c, kLesionMask);
  const cv::Mat image = pipeline::DecodeStoredImage(ctx.store, c);
  return PngResponse(
      scoring::RenderOverlay(image, lesion,
                             pipeline::LatestMask(ctx.store, c.id, kSkinMask).value_or(cv::Mat())),
      MaxSide(req));
}

HttpResponse GetAlignedPng(ApiContext& ctx, const HttpRequest& req, const PathParams& params) {
  const storage::Capture c = AuthorizedCapture(ctx, req, params);
  const auto reg = pipeline::StoredRegistration(ctx.store, c);
  if (!reg) {
    throw Error(ErrorCode::kNotFound,
                "capture " + params.at("id") + " has no successful registration to its baseline");
  }
  const bool overlay = BoolQuery(req, "overlay").value_or(false);
  const int max_side = MaxSide(req);
  cv::Mat warped =
      registration::WarpImageToBaseline(pipeline::DecodeStoredImage(ctx.store, c), reg->result);
  if (overlay) {
    // The lesion outline in the baseline's frame: the capture's own masks warped with the same
    // transform (nearest neighbour), drawn on the warped photo.
    const cv::Mat lesion =
        registration::WarpMaskToBaseline(RequireMask(ctx, c, kLesionMask), reg->result);
    const auto skin = pipeline::LatestMask(ctx.store, c.id, kSkinMask);
    warped = scoring::RenderOverlay(
        warped, lesion, skin ? registration::WarpMaskToBaseline(*skin, reg->result) : cv::Mat());
  }
  return PngResponse(warped, max_side);
}

// The change map shows exactly the stored change (pipeline::StoredChange computes it with the
// one function the pipeline stored it with).
HttpResponse GetChangePng(ApiContext& ctx, const HttpRequest& req, const PathParams& params) {
  const storage::Capture c = AuthorizedCapture(ctx, req, params);
  const int max_side = MaxSide(req);
  std::string why_not;
  const auto change = pipeline::StoredChange(ctx.store, c, &why_not);
  if (!change) throw Error(ErrorCode::kNotFound, why_not);
  const auto base = ctx.store.repository().FindCapture(change->baseline_capture_id);
  if (!base) throw Error(ErrorCode::kNotFound, "the baseline capture is gone");
  return PngResponse(
      scoring::RenderChangeMap(pipeline::DecodeStoredImage(ctx.store, *base), change->change),
      max_side);
}

}  // namespace skintrack::service
