// The cohort exports over the API (docs/exports.md, "Over the API"): the wide CSV, the SDTM RS
// dataset with its define-style JSON, and the FHIR R4 Bundle, read from the running server's Store
// (no need to stop it, as the CLI must). Pseudonymised for every caller, as the CLI's: a trial
// dataset carries subject ids, never patient ids. Audited "cohort.export" like the CLI's.
//
// The HTTP layer answers with one body (HttpResponse has no chunked streaming), so an export is
// built in memory and refused above kMaxExportBytes (409, pointing at `skintrack export`): about
// 200,000 CSV rows or 30,000 FHIR Observations, far above a dermatology trial's size.
#include "api_support.h"
#include "routes.h"
#include "skintrack/report/cohort.h"
#include "skintrack/report/report.h"

namespace skintrack::service {
namespace {

constexpr std::size_t kMaxExportBytes = std::size_t{64} << 20;

enum class Export { kCohortCsv, kRsCsv, kRsDefine, kFhir };

HttpResponse Serve(ApiContext& ctx, const HttpRequest& req, Export what) {
  const auto token = Authorize(ctx, req, AllReaders());
  report::CohortExportOptions options;
  options.key = ctx.pseudonym;
  // Read per request: `skintrack study --set-id` may change it beside the running server.
  options.study_id =
      ctx.data_dir.empty() ? report::kDefaultStudyId : report::LoadStudyId(ctx.data_dir);
  HttpResponse r;
  const char* format = "";
  const char* file = "";
  switch (what) {
    case Export::kCohortCsv:
      r.body = report::ExportCohortCsv(ctx.store, options);
      r.content_type = "text/csv; charset=utf-8; header=present";
      format = "csv";
      file = "cohort.csv";
      break;
    case Export::kRsCsv:
      r.body = report::ExportRsCsv(ctx.store, options);
      r.content_type = "text/csv; charset=utf-8; header=present";
      format = "rs";
      file = "rs.csv";
      break;
    case Export::kRsDefine:
      r.body = report::ExportRsDefine(ctx.store, options);
      format = "rs-define";
      file = "rs-define.json";
      break;
    case Export::kFhir:
      r.body = report::ExportCohortFhir(ctx.store, options);
      r.content_type = "application/fhir+json";
      format = "fhir";
      file = "cohort-fhir.json";
      break;
  }
  if (r.body.size() > kMaxExportBytes) {
    throw Error(
        ErrorCode::kConflict,
        "the export (" + std::to_string(r.body.size() >> 20) +
            " MiB) exceeds the API's bound of 64 MiB: use `skintrack export` on the server");
  }
  storage::AuditEntry audit;
  audit.actor = Actor(token);
  audit.action = "cohort.export";
  audit.object = "cohort";
  audit.details_json = nlohmann::json({{"format", format}, {"via", "api"}}).dump();
  ctx.store.repository().AppendAudit(audit);
  r.headers.emplace_back("Content-Disposition",
                         std::string("attachment; filename=\"") + file + "\"");
  r.headers.emplace_back("Cache-Control", "no-store");  // a dataset, not a cacheable page
  return r;
}

}  // namespace

HttpResponse GetCohortCsv(ApiContext& ctx, const HttpRequest& req, const PathParams&) {
  return Serve(ctx, req, Export::kCohortCsv);
}
HttpResponse GetRsCsv(ApiContext& ctx, const HttpRequest& req, const PathParams&) {
  return Serve(ctx, req, Export::kRsCsv);
}
HttpResponse GetRsDefine(ApiContext& ctx, const HttpRequest& req, const PathParams&) {
  return Serve(ctx, req, Export::kRsDefine);
}
HttpResponse GetFhirExport(ApiContext& ctx, const HttpRequest& req, const PathParams&) {
  return Serve(ctx, req, Export::kFhir);
}

}  // namespace skintrack::service
