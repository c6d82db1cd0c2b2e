// The route handlers, one named function per route, in files by area; src/api.cpp registers them
// in one table. Each authorizes first, then validates, then acts; errors are skintrack::Error,
// mapped to HTTP by the router.
#pragma once

#include "skintrack/service/api.h"

namespace skintrack::service {

using RouteHandler = HttpResponse (*)(ApiContext&, const HttpRequest&, const PathParams&);

// routes_status.cpp: no token.
HttpResponse GetReady(ApiContext& ctx, const HttpRequest& req, const PathParams& params);
HttpResponse GetHealth(ApiContext& ctx, const HttpRequest& req, const PathParams& params);
HttpResponse GetMetrics(ApiContext& ctx, const HttpRequest& req, const PathParams& params);

// routes_patients.cpp
HttpResponse CreatePatient(ApiContext& ctx, const HttpRequest& req, const PathParams& params);
HttpResponse ListPatients(ApiContext& ctx, const HttpRequest& req, const PathParams& params);

// routes_tokens.cpp
HttpResponse CreateToken(ApiContext& ctx, const HttpRequest& req, const PathParams& params);
HttpResponse ListTokens(ApiContext& ctx, const HttpRequest& req, const PathParams& params);
HttpResponse RevokeToken(ApiContext& ctx, const HttpRequest& req, const PathParams& params);

// routes_captures.cpp: ingest.
HttpResponse PushCapture(ApiContext& ctx, const HttpRequest& req, const PathParams& params);

// routes_reads.cpp
HttpResponse GetCapture(ApiContext& ctx, const HttpRequest& req, const PathParams& params);
HttpResponse GetTimeSeries(ApiContext& ctx, const HttpRequest& req, const PathParams& params);
HttpResponse GetResponse(ApiContext& ctx, const HttpRequest& req, const PathParams& params);

// routes_images.cpp
HttpResponse GetImage(ApiContext& ctx, const HttpRequest& req, const PathParams& params);
HttpResponse GetMaskPng(ApiContext& ctx, const HttpRequest& req, const PathParams& params);
HttpResponse GetOverlayPng(ApiContext& ctx, const HttpRequest& req, const PathParams& params);
HttpResponse GetAlignedPng(ApiContext& ctx, const HttpRequest& req, const PathParams& params);
HttpResponse GetChangePng(ApiContext& ctx, const HttpRequest& req, const PathParams& params);

// routes_clinician.cpp: clinician input.
HttpResponse PutBaseline(ApiContext& ctx, const HttpRequest& req, const PathParams& params);
HttpResponse PutAssessment(ApiContext& ctx, const HttpRequest& req, const PathParams& params);
HttpResponse PutMask(ApiContext& ctx, const HttpRequest& req, const PathParams& params);

// routes_annotations.cpp: annotations (annotator, clinician, admin).
HttpResponse ListCaptureAnnotations(ApiContext& ctx, const HttpRequest& req,
                                    const PathParams& params);
HttpResponse PutOwnAnnotation(ApiContext& ctx, const HttpRequest& req, const PathParams& params);
HttpResponse GetAnnotationVersions(ApiContext& ctx, const HttpRequest& req,
                                   const PathParams& params);
HttpResponse ReviewAnnotationRoute(ApiContext& ctx, const HttpRequest& req,
                                   const PathParams& params);

// routes_annotation_admin.cpp: the queues, assignments, consensus, the COCO export.
HttpResponse GetAnnotationQueue(ApiContext& ctx, const HttpRequest& req, const PathParams& params);
HttpResponse GetReviewQueue(ApiContext& ctx, const HttpRequest& req, const PathParams& params);
HttpResponse PostAssignments(ApiContext& ctx, const HttpRequest& req, const PathParams& params);
HttpResponse GetAssignments(ApiContext& ctx, const HttpRequest& req, const PathParams& params);
HttpResponse PostConsensus(ApiContext& ctx, const HttpRequest& req, const PathParams& params);
HttpResponse GetConsensus(ApiContext& ctx, const HttpRequest& req, const PathParams& params);
HttpResponse GetAnnotationExport(ApiContext& ctx, const HttpRequest& req, const PathParams& params);
HttpResponse GetAnnotationAgreement(ApiContext& ctx, const HttpRequest& req,
                                    const PathParams& params);

// routes_exports.cpp: the cohort exports (pseudonymised, audited).
HttpResponse GetCohortCsv(ApiContext& ctx, const HttpRequest& req, const PathParams& params);
HttpResponse GetRsCsv(ApiContext& ctx, const HttpRequest& req, const PathParams& params);
HttpResponse GetRsDefine(ApiContext& ctx, const HttpRequest& req, const PathParams& params);
HttpResponse GetFhirExport(ApiContext& ctx, const HttpRequest& req, const PathParams& params);

}  // namespace skintrack::service
