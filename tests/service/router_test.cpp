#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

#include "skintrack/service/http.h"

namespace skintrack::service {
namespace {

HttpRequest Get(const std::string& path) {
  HttpRequest r;
  r.method = "GET";
  r.path = path;
  return r;
}

std::string ErrorCodeOf(const HttpResponse& r) {
  return nlohmann::json::parse(r.body)["error"]["code"].get<std::string>();
}

TEST(Router, MatchesPatternsAndCapturesParameters) {
  Router router;
  router.Add("GET", "/v1/captures/{id}", [](const HttpRequest&, const PathParams& p) {
    HttpResponse r;
    r.body = p.at("id");
    return r;
  });
  router.Add("GET", "/v1/captures/{id}/image", [](const HttpRequest&, const PathParams& p) {
    HttpResponse r;
    r.body = "image " + p.at("id");
    return r;
  });
  EXPECT_EQ(router.Dispatch(Get("/v1/captures/42")).body, "42");
  EXPECT_EQ(router.Dispatch(Get("/v1/captures/42/image")).body, "image 42");
  EXPECT_EQ(router.Dispatch(Get("/v1/captures/42/")).body, "42");  // trailing slash
  const HttpResponse missing = router.Dispatch(Get("/v1/nothing"));
  EXPECT_EQ(missing.status, 404);
  EXPECT_EQ(ErrorCodeOf(missing), "not_found");
  HttpRequest post = Get("/v1/captures/42");
  post.method = "POST";
  const HttpResponse wrong = router.Dispatch(post);
  EXPECT_EQ(wrong.status, 405);
  ASSERT_EQ(wrong.headers.size(), 1u);
  EXPECT_EQ(wrong.headers[0].second, "GET");
  EXPECT_EQ(router.Routes().size(), 2u);
}

TEST(Router, MapsErrorsToStatusesWithJsonBodies) {
  Router router;
  const std::pair<ErrorCode, int> cases[] = {
      {ErrorCode::kInvalidArgument, 400},  {ErrorCode::kUnauthorized, 401},
      {ErrorCode::kForbidden, 403},        {ErrorCode::kNotFound, 404},
      {ErrorCode::kConflict, 409},         {ErrorCode::kImageTooLarge, 413},
      {ErrorCode::kUnsupportedMedia, 415}, {ErrorCode::kImageDecode, 400},
      {ErrorCode::kStorage, 503},          {ErrorCode::kInternal, 500}};
  for (const auto& [code, status] : cases) {
    router.Add("GET", std::string("/e/") + ErrorCodeName(code),
               [code = code](const HttpRequest&, const PathParams&) -> HttpResponse {
                 throw Error(code, "boom");
               });
    const HttpResponse r = router.Dispatch(Get(std::string("/e/") + ErrorCodeName(code)));
    EXPECT_EQ(r.status, status) << ErrorCodeName(code);
    EXPECT_EQ(ErrorCodeOf(r), ErrorCodeName(code));
    EXPECT_EQ(r.content_type, "application/json");
  }
  router.Add("GET", "/crash", [](const HttpRequest&, const PathParams&) -> HttpResponse {
    throw std::runtime_error("secret internals");
  });
  const HttpResponse crash = router.Dispatch(Get("/crash"));
  EXPECT_EQ(crash.status, 500);
  EXPECT_EQ(crash.body.find("secret"), std::string::npos);
}

TEST(Query, DecodesAndRejectsBadEscapes) {
  const auto q = ParseQuery("condition=psoriasis&captured_at=2026-01-01T10%3A00%3A00Z&visit=a+b&x");
  EXPECT_EQ(q.at("condition"), "psoriasis");
  EXPECT_EQ(q.at("captured_at"), "2026-01-01T10:00:00Z");
  EXPECT_EQ(q.at("visit"), "a b");
  EXPECT_EQ(q.at("x"), "");
  EXPECT_THROW(ParseQuery("a=%zz"), Error);
  EXPECT_THROW(ParseQuery("a=%4"), Error);
  EXPECT_EQ(PercentDecode("/v1/patients/..%2Fetc", false), "/v1/patients/../etc");
}

}  // namespace
}  // namespace skintrack::service
