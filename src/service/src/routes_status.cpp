// /healthz and /metrics: for load balancers and Prometheus, without a token.
#include "api_support.h"
#include "routes.h"
#include "skintrack/service/service.h"

namespace skintrack::service {

HttpResponse GetHealth(ApiContext& ctx, const HttpRequest&, const PathParams&) {
  const storage::QueueCounts q = ctx.store.repository().CountQueue();
  return JsonResponse(200, {{"status", "ok"},
                            {"queue",
                             {{"queued", q.queued},
                              {"processing", q.processing},
                              {"processed", q.processed},
                              {"failed", q.failed}}}});
}

HttpResponse GetMetrics(ApiContext& ctx, const HttpRequest&, const PathParams&) {
  HttpResponse r;
  r.content_type = "text/plain; version=0.0.4";
  r.body = ctx.metrics
               ? ctx.metrics->Render(ctx.store, ctx.workers ? &ctx.workers->stats() : nullptr)
               : std::string();
  return r;
}

}  // namespace skintrack::service
