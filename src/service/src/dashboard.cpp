#include "skintrack/service/dashboard.h"

#include <string_view>

#include "skintrack/core/error.h"

namespace skintrack::service {
namespace {

bool EndsWith(const std::string& s, std::string_view suffix) {
  return s.size() >= suffix.size() &&
         s.compare(s.size() - suffix.size(), suffix.size(), suffix) == 0;
}

HttpResponse AssetResponse(const std::string& name) {
  for (std::size_t i = 0; i < kDashboardAssetCount; ++i) {
    const EmbeddedFile& f = kDashboardAssets[i];
    if (name != f.name) continue;
    HttpResponse r;
    r.content_type = DashboardContentType(name);
    r.body.assign(reinterpret_cast<const char*>(f.data), f.size);
    // No data lives in these files, but a stale script against a newer API would misbehave.
    r.headers.emplace_back("Cache-Control", "no-cache");
    r.headers.emplace_back("X-Content-Type-Options", "nosniff");
    r.headers.emplace_back("Referrer-Policy", "no-referrer");
    r.headers.emplace_back("Content-Security-Policy",
                           "default-src 'none'; script-src 'self'; style-src 'self'; "
                           "img-src 'self' blob: data:; connect-src 'self'; form-action 'self'; "
                           "base-uri 'none'; frame-ancestors 'none'");
    return r;
  }
  throw Error(ErrorCode::kNotFound, "no dashboard file '" + name + "'");
}

}  // namespace

std::string DashboardContentType(const std::string& name) {
  if (EndsWith(name, ".html")) return "text/html; charset=utf-8";
  if (EndsWith(name, ".js")) return "text/javascript; charset=utf-8";
  if (EndsWith(name, ".css")) return "text/css; charset=utf-8";
  if (EndsWith(name, ".svg")) return "image/svg+xml";
  return "application/octet-stream";
}

void AddDashboardRoutes(Router& router) {
  router.Add("GET", "/",
             [](const HttpRequest&, const PathParams&) { return AssetResponse("index.html"); });
  router.Add("GET", "/dashboard/{file}", [](const HttpRequest&, const PathParams& params) {
    return AssetResponse(params.at("file"));
  });
}

}  // namespace skintrack::service
