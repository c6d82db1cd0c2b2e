// libFuzzer target: raw bytes as one connection would receive them -> the server's own parse,
// framing checks, admission on the head and body limits (ServeBytes, the steps the sessions use)
// -> the real API's router (every /v1 route and the dashboard) over an in-memory store with a
// patient, one capture and a token of each role. The input may name those tokens as @admin@,
// @clinician@, @coordinator@ and @device@ (replaced before parsing), so that the fuzzer gets past
// authentication into the handlers. A crash, a sanitizer report, an exception escaping or an
// answer that is not JSON where JSON is due all stop the run.
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <memory>
#include <nlohmann/json.hpp>
#include <opencv2/core.hpp>
#include <opencv2/imgcodecs.hpp>
#include <string>
#include <utility>
#include <vector>

#include "skintrack/pipeline/pipeline.h"
#include "skintrack/pipeline/pseudonym.h"
#include "skintrack/service/dashboard.h"
#include "skintrack/service/service.h"
#include "skintrack/storage/store.h"

namespace {

using skintrack::service::HttpRequest;
using skintrack::service::HttpResponse;

struct World {
  std::unique_ptr<skintrack::storage::Store> store;
  skintrack::service::Metrics metrics;
  std::unique_ptr<skintrack::service::ApiContext> context;
  skintrack::service::Router router;
  skintrack::service::ServerOptions options;
  std::vector<std::pair<std::string, std::string>> tokens;  // (placeholder, token)

  std::vector<HttpResponse> Serve(const std::string& bytes) {
    return skintrack::service::ServeBytes(
        bytes, options, [this](const HttpRequest& head) { return router.Admit(head); },
        [this](const HttpRequest& r) { return router.Dispatch(r); });
  }
};

World* MakeWorld() {
  auto* w = new World();
  w->store = skintrack::storage::Store::OpenInMemory();
  w->context.reset(new skintrack::service::ApiContext{
      *w->store, nullptr, &w->metrics, skintrack::service::IntakeLimits{}, 0.0,
      skintrack::pipeline::PseudonymKey{skintrack::pipeline::PseudonymKey::Scheme::kHmacSha256,
                                        "fuzz-key"},
      skintrack::pipeline::PipelineOptions{}});
  skintrack::service::AddApiRoutes(w->router, *w->context);
  skintrack::service::AddDashboardRoutes(w->router);
  // Small limits: the fuzzer explores framing and routes, not megabytes.
  w->options.max_body_bytes = 256 * 1024;
  w->options.max_json_body_bytes = 16 * 1024;
  w->options.max_body_memory_bytes = 256 * 1024;

  skintrack::storage::PatientInfo patient;
  patient.id = "P1";
  w->store->repository().CreatePatient(patient, "fuzz");
  using skintrack::storage::Role;
  for (const auto& [name, role] :
       {std::pair{"@admin@", Role::kAdmin}, std::pair{"@clinician@", Role::kClinician},
        std::pair{"@coordinator@", Role::kCoordinator}, std::pair{"@device@", Role::kDevice}}) {
    skintrack::storage::NewToken t;
    t.role = role;
    if (role == Role::kDevice) t.patient_scope = {"P1"};
    w->tokens.emplace_back(name, w->store->repository().CreateToken(t, "fuzz").token);
  }
  // One stored capture (id 1), so that the capture routes reach their handlers' later steps.
  cv::Mat image(64, 64, CV_8UC3, cv::Scalar(80, 120, 200));
  std::vector<unsigned char> png;
  cv::imencode(".png", image, png);
  const std::string body(png.begin(), png.end());
  const auto r = w->Serve(
      "POST /v1/patients/P1/sites/left-forearm/captures?condition=psoriasis&captured_at="
      "2026-01-01T08:00:00Z HTTP/1.1\r\nAuthorization: Bearer " +
      w->tokens[0].second + "\r\nContent-Type: image/png\r\nContent-Length: " +
      std::to_string(body.size()) + "\r\n\r\n" + body);
  if (r.size() != 1 || r[0].status != 201) {
    std::fprintf(stderr, "http_fuzz: setup capture failed: %s\n",
                 r.empty() ? "" : r[0].body.c_str());
    std::abort();
  }
  return w;
}

World& TheWorld() {
  static World* world = MakeWorld();  // lives for the process: libFuzzer never returns
  return *world;
}

std::string WithTokens(std::string bytes, const World& w) {
  for (const auto& [placeholder, token] : w.tokens) {
    for (size_t at = bytes.find(placeholder); at != std::string::npos;
         at = bytes.find(placeholder, at + token.size())) {
      bytes.replace(at, placeholder.size(), token);
    }
  }
  return bytes;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  World& w = TheWorld();
  const std::string bytes = WithTokens(std::string(reinterpret_cast<const char*>(data), size), w);
  for (const HttpResponse& r : w.Serve(bytes)) {
    if (r.status < 100 || r.status > 599) std::abort();
    // Every error answer is a JSON object with its code and message.
    if (r.status >= 400) {
      const auto j = nlohmann::json::parse(r.body, nullptr, false);
      if (j.is_discarded() || !j.contains("error") || !j["error"].contains("code")) std::abort();
    }
  }
  return 0;
}
