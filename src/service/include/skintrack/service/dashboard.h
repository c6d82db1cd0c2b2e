// The web dashboard: hand-written HTML, CSS and JS from web/, embedded into the binary at build
// time (cmake/EmbedFiles.cmake) and served by `skintrack serve` at / beside the API. The pages
// hold no patient data; they call the /v1 API from the browser with the user's bearer token.
#pragma once
#include <cstddef>
#include <string>

#include "skintrack/service/http.h"

namespace skintrack::service {

struct EmbeddedFile {
  const char* name;  // path relative to web/, e.g. "app.js"
  const unsigned char* data;
  std::size_t size;
};
extern const EmbeddedFile kDashboardAssets[];
extern const std::size_t kDashboardAssetCount;

// GET / (index.html) and GET /dashboard/{file} (the other assets), with a strict
// Content-Security-Policy (same-origin scripts, styles and API calls; images from blob: URLs).
void AddDashboardRoutes(Router& router);

// The Content-Type for an asset name by its extension ("application/octet-stream" if unknown).
std::string DashboardContentType(const std::string& name);

}  // namespace skintrack::service
