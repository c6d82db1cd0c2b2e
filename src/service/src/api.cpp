// The route table: every route of the API, in matching order (the router tries them in turn), with
// the roles that may call it and its body class. The server checks both on the request's head,
// before it reads the body (Router::Admit); the handlers authorise again (routes_*.cpp), and
// api_gate_test.cpp proves for every route and role that the two agree.
#include <vector>

#include "annotation_support.h"
#include "api_support.h"
#include "routes.h"

namespace skintrack::service {

void AddApiRoutes(Router& router, ApiContext& ctx) {
  using storage::Role;
  using Roles = std::vector<Role>;
  const Roles no_token;  // public: no Authorization needed
  const Roles admin = {Role::kAdmin};
  const Roles staff = {Role::kAdmin, Role::kClinician};
  const Roles ingest = {Role::kDevice, Role::kClinician, Role::kAdmin};
  const Roles& readers = AllReaders();
  const Roles& annotating = AnnotationRoles();  // annotator, clinician, admin
  const Roles photo = {Role::kAdmin, Role::kClinician, Role::kAnnotator};  // annotator: assigned
  constexpr BodyClass kJson = BodyClass::kJson;
  constexpr BodyClass kUpload = BodyClass::kUpload;
  struct Route {
    const char* method;
    const char* pattern;
    RouteHandler handler;
    const Roles& roles;
    BodyClass body;
  };
  const Route routes[] = {
      {"GET", "/healthz", GetHealth, no_token, kJson},
      {"GET", "/readyz", GetReady, no_token, kJson},
      {"GET", "/metrics", GetMetrics, no_token, kJson},
      {"POST", "/v1/patients", CreatePatient, staff, kJson},
      {"POST", "/v1/tokens", CreateToken, admin, kJson},
      {"GET", "/v1/tokens", ListTokens, admin, kJson},
      {"DELETE", "/v1/tokens/{id}", RevokeToken, admin, kJson},
      {"GET", "/v1/patients", ListPatients, readers, kJson},
      {"POST", "/v1/patients/{patient}/sites/{site}/captures", PushCapture, ingest, kUpload},
      {"GET", "/v1/captures/{id}", GetCapture, readers, kJson},
      {"GET", "/v1/captures/{id}/image", GetImage, photo, kJson},
      {"GET", "/v1/captures/{id}/mask.png", GetMaskPng, staff, kJson},
      {"GET", "/v1/captures/{id}/overlay.png", GetOverlayPng, staff, kJson},
      {"GET", "/v1/captures/{id}/aligned.png", GetAlignedPng, staff, kJson},
      {"GET", "/v1/captures/{id}/change.png", GetChangePng, staff, kJson},
      {"GET", "/v1/patients/{patient}/timeseries", GetTimeSeries, readers, kJson},
      {"GET", "/v1/patients/{patient}/response", GetResponse, readers, kJson},
      {"PUT", "/v1/captures/{id}/baseline", PutBaseline, staff, kJson},
      {"PUT", "/v1/captures/{id}/assessment", PutAssessment, staff, kJson},
      {"PUT", "/v1/captures/{id}/mask", PutMask, staff, kUpload},
      {"GET", "/v1/annotation-queue", GetAnnotationQueue, annotating, kJson},
      {"GET", "/v1/review-queue", GetReviewQueue, staff, kJson},
      {"GET", "/v1/captures/{id}/annotations", ListCaptureAnnotations, annotating, kJson},
      {"PUT", "/v1/captures/{id}/annotations/mine", PutOwnAnnotation, annotating, kJson},
      {"GET", "/v1/annotations/{annotation_id}/versions", GetAnnotationVersions, annotating, kJson},
      {"POST", "/v1/annotations/{annotation_id}/review", ReviewAnnotationRoute, staff, kJson},
      {"POST", "/v1/captures/{id}/assignments", PostAssignments, admin, kJson},
      {"GET", "/v1/captures/{id}/assignments", GetAssignments, staff, kJson},
      {"POST", "/v1/captures/{id}/consensus", PostConsensus, staff, kJson},
      {"GET", "/v1/captures/{id}/consensus", GetConsensus, staff, kJson},
      {"GET", "/v1/annotations/export", GetAnnotationExport, readers, kJson},
      {"GET", "/v1/exports/cohort.csv", GetCohortCsv, readers, kJson},
      {"GET", "/v1/exports/rs.csv", GetRsCsv, readers, kJson},
      {"GET", "/v1/exports/rs-define.json", GetRsDefine, readers, kJson},
      {"GET", "/v1/exports/fhir", GetFhirExport, readers, kJson},
      {"GET", "/v1/annotations/agreement", GetAnnotationAgreement, staff, kJson},
  };
  for (const Route& r : routes) {
    Gate gate;
    if (!r.roles.empty()) {
      gate = [&ctx, roles = r.roles](const HttpRequest& head) { Authorize(ctx, head, roles); };
    }
    router.Add(
        r.method, r.pattern,
        [&ctx, handler = r.handler](const HttpRequest& req, const PathParams& params) {
          return handler(ctx, req, params);
        },
        std::move(gate), r.body);
  }
}

}  // namespace skintrack::service
