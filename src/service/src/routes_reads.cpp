// Reads: a capture with its results, a patient's time series, and the treatment response
// (pipeline::ComputePatientResponse, pseudonymised for coordinators).
#include "api_support.h"
#include "pagination.h"
#include "routes.h"
#include "skintrack/pipeline/response.h"

namespace skintrack::service {

using nlohmann::json;

HttpResponse GetCapture(ApiContext& ctx, const HttpRequest& req, const PathParams& params) {
  const auto token = Authorize(ctx, req, AllReaders());
  return JsonResponse(200, CaptureJson(ctx, token, LoadCapture(ctx, params.at("id")), true));
}

HttpResponse GetTimeSeries(ApiContext& ctx, const HttpRequest& req, const PathParams& params) {
  const auto token = Authorize(ctx, req, AllReaders());
  storage::SeriesQuery q;
  q.patient_id = ResolvePatient(ctx, token, params.at("patient"));
  if (auto it = req.query.find("site"); it != req.query.end()) {
    storage::ValidateId(it->second, "site");
    FindBodySite(it->second);
    q.site = it->second;
  }
  q.condition = OptionalCondition(req);
  // In capture order, (captured_at, id), which is also the cursor's key (pagination.h).
  const Page<storage::SeriesPoint> page =
      Paginate(ctx.store.repository().TimeSeries(q), ParsePageRequest(req),
               [](const storage::SeriesPoint& p) {
                 return SortableInt(p.capture.captured_at) + SortableInt(p.capture.id);
               });
  json points = json::array();
  for (const storage::SeriesPoint& p : page.items) {
    json j = CaptureJson(ctx, token, p.capture, false);
    json results = json::object();
    for (const storage::Result& r : ctx.store.repository().LatestResults(p.capture.id)) {
      if (r.kind == storage::ResultKind::kMask) continue;
      results[r.name] = {{"value", r.value ? json(*r.value) : json(nullptr)},
                         {"version", r.version},
                         {"source", storage::ResultSourceName(r.source)}};
    }
    j["results"] = results;
    points.push_back(j);
  }
  return JsonResponse(200, {{"patient", PatientField(ctx, token, q.patient_id)},
                            {"points", points},
                            {"next", page.NextJson()}});
}

HttpResponse GetResponse(ApiContext& ctx, const HttpRequest& req, const PathParams& params) {
  const auto token = Authorize(ctx, req, AllReaders());
  const std::string patient = ResolvePatient(ctx, token, params.at("patient"));
  pipeline::ResponseOptions options;
  options.condition = OptionalCondition(req);
  if (Pseudonymised(token)) options.pseudonymise = ctx.pseudonym;
  return JsonResponse(200, pipeline::ComputePatientResponse(ctx.store, patient, options));
}

}  // namespace skintrack::service
