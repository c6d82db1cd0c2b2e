// The route table: every route of the API, in matching order (the router tries them in turn).
#include "routes.h"

namespace skintrack::service {

void AddApiRoutes(Router& router, ApiContext& ctx) {
  struct Route {
    const char* method;
    const char* pattern;
    RouteHandler handler;
  };
  static const Route kRoutes[] = {
      {"GET", "/healthz", GetHealth},
      {"GET", "/metrics", GetMetrics},
      {"POST", "/v1/patients", CreatePatient},
      {"POST", "/v1/tokens", CreateToken},
      {"GET", "/v1/tokens", ListTokens},
      {"DELETE", "/v1/tokens/{id}", RevokeToken},
      {"GET", "/v1/patients", ListPatients},
      {"POST", "/v1/patients/{patient}/sites/{site}/captures", PushCapture},
      {"GET", "/v1/captures/{id}", GetCapture},
      {"GET", "/v1/captures/{id}/image", GetImage},
      {"GET", "/v1/captures/{id}/mask.png", GetMaskPng},
      {"GET", "/v1/captures/{id}/overlay.png", GetOverlayPng},
      {"GET", "/v1/captures/{id}/aligned.png", GetAlignedPng},
      {"GET", "/v1/captures/{id}/change.png", GetChangePng},
      {"GET", "/v1/patients/{patient}/timeseries", GetTimeSeries},
      {"GET", "/v1/patients/{patient}/response", GetResponse},
      {"PUT", "/v1/captures/{id}/baseline", PutBaseline},
      {"PUT", "/v1/captures/{id}/assessment", PutAssessment},
      {"PUT", "/v1/captures/{id}/mask", PutMask},
  };
  for (const Route& r : kRoutes) {
    router.Add(r.method, r.pattern,
               [&ctx, handler = r.handler](const HttpRequest& req, const PathParams& params) {
                 return handler(ctx, req, params);
               });
  }
}

}  // namespace skintrack::service
