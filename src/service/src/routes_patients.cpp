// Patients: create (admin, clinician) and list with their sites (readers; coordinators see
// subject ids and only age bands of the safe form), paged by cursor (pagination.h).
#include <map>
#include <string>
#include <utility>
#include <vector>

#include "api_support.h"
#include "pagination.h"
#include "routes.h"
#include "skintrack/core/error.h"
#include "skintrack/pipeline/pseudonym.h"
#include "skintrack/pipeline/time_format.h"

namespace skintrack::service {

using nlohmann::json;
using storage::Role;

HttpResponse CreatePatient(ApiContext& ctx, const HttpRequest& req, const PathParams&) {
  const auto token = Authorize(ctx, req, {Role::kAdmin, Role::kClinician});
  const json body = ParseBodyObject(req);
  const auto id = StringField(body, "id");
  if (!id) {
    throw Error(ErrorCode::kInvalidArgument, "body needs \"id\": the pseudonymous patient id");
  }
  storage::PatientInfo info;
  info.id = *id;
  if (const auto fitzpatrick = IntegerField(body, "fitzpatrick", 1, 6)) {
    info.fitzpatrick = static_cast<int>(*fitzpatrick);
  }
  info.age_band = StringField(body, "age_band").value_or("");
  const storage::Patient p = ctx.store.repository().CreatePatient(info, Actor(token));
  return JsonResponse(
      201, {{"id", p.info.id},
            {"fitzpatrick", p.info.fitzpatrick ? json(*p.info.fitzpatrick) : json(nullptr)},
            {"age_band", p.info.age_band},
            {"created_at", pipeline::FormatRfc3339(p.created_at)}});
}

HttpResponse ListPatients(ApiContext& ctx, const HttpRequest& req, const PathParams&) {
  const auto token = Authorize(ctx, req, AllReaders());
  const PageRequest page_request = ParsePageRequest(req);
  // Ordered (and paged) by the id the caller sees: a coordinator's list in subject-id order, so
  // that neither the order nor a cursor reveals anything about the patient ids.
  struct Listed {
    storage::Patient patient;
    std::string shown_id;
  };
  std::vector<Listed> all;
  for (storage::Patient& p : ctx.store.repository().ListPatients()) {
    std::string shown = PatientField(ctx, token, p.info.id).get<std::string>();
    all.push_back({std::move(p), std::move(shown)});
  }
  const Page<Listed> page =
      Paginate(std::move(all), page_request, [](const Listed& l) { return l.shown_id; });
  json list = json::array();
  for (const Listed& listed : page.items) {
    const storage::Patient& p = listed.patient;
    json j = {{"id", listed.shown_id},
              {"age_band", Pseudonymised(token) ? pipeline::PseudonymisedAgeBand(p.info.age_band)
                                                : p.info.age_band}};
    if (p.info.fitzpatrick) j["fitzpatrick"] = *p.info.fitzpatrick;
    std::map<std::pair<std::string, std::string>, std::int64_t> latest;  // (site, cond)
    storage::SeriesQuery q;
    q.patient_id = p.info.id;
    for (const storage::SeriesPoint& point : ctx.store.repository().TimeSeries(q)) {
      latest[{point.capture.site, ConditionName(point.capture.condition)}] = point.capture.id;
    }
    json sites = json::array();
    for (const auto& [key, capture_id] : latest) {
      sites.push_back(
          {{"site", key.first}, {"condition", key.second}, {"latest_capture", capture_id}});
    }
    j["sites"] = sites;
    list.push_back(j);
  }
  return JsonResponse(200, {{"patients", list}, {"next", page.NextJson()}});
}

}  // namespace skintrack::service
