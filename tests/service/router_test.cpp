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
  EXPECT_EQ(wrong.headers[0].second, "GET, HEAD, OPTIONS");  // HEAD wherever GET
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

// Issue 13 item 1: request bytes that are not UTF-8 reached nlohmann's dump, which threw (the
// 404's message echoes the path; the throw escaped the router). Refused at the edge now, and every
// echo of them is escaped.
TEST(Router, RefusesPathsAndQueriesThatAreNotUtf8) {
  Router router;
  int called = 0;
  router.Add("GET", "/v1/patients/{patient}/timeseries",
             [&called](const HttpRequest&, const PathParams&) {
               ++called;
               return HttpResponse();
             });
  for (const std::string path : {"/\xff", "/v1/patients/\xff/timeseries", "/v1/\xc3\x28"}) {
    const HttpResponse r = router.Dispatch(Get(path));
    EXPECT_EQ(r.status, 400) << path;
    EXPECT_EQ(ErrorCodeOf(r), "invalid_argument");
    EXPECT_EQ(router.Admit(Get(path)).refusal->status, 400);
  }
  HttpRequest query = Get("/v1/patients/P1/timeseries");
  query.query["condition"] = "\xff";
  EXPECT_EQ(router.Dispatch(query).status, 400);
  query.query = {{"\xff", "x"}};
  EXPECT_EQ(router.Dispatch(query).status, 400);
  EXPECT_EQ(called, 0);
  query.query = {{"condition", "psoriasis \xc3\xa9"}};
  EXPECT_EQ(router.Dispatch(query).status, 200);
  EXPECT_EQ(called, 1);
}

TEST(Router, ErrorMessagesEchoingBytesThatAreNotUtf8AreEscaped) {
  Router router;
  router.Add("GET", "/echo", [](const HttpRequest& r, const PathParams&) -> HttpResponse {
    throw Error(ErrorCode::kUnsupportedMedia, "got '" + r.Header("content-type") + "'");
  });
  HttpRequest req = Get("/echo");
  req.headers["content-type"] = "image/\xff";
  HttpResponse r;
  ASSERT_NO_THROW(r = router.Dispatch(req));
  EXPECT_EQ(r.status, 415);
  EXPECT_EQ(nlohmann::json::parse(r.body)["error"]["message"], "got 'image/\xef\xbf\xbd'");
  EXPECT_NO_THROW(ErrorResponse(400, "x", "\xff\xfe"));
}

TEST(Utf8, AcceptsWellFormedAndRejectsMalformedSequences) {
  for (const std::string ok : {"", "abc", "\xc3\xa9", "\xe2\x82\xac", "\xf0\x9f\x98\x80",
                               "\xef\xbf\xbd", "\xf4\x8f\xbf\xbf"}) {
    EXPECT_TRUE(IsValidUtf8(ok)) << ok;
  }
  for (const std::string bad :
       {"\xff", "\x80", "\xc3", "\xc3\x28", "\xc0\xaf" /* overlong '/' */, "\xe0\x80\xaf",
        "\xed\xa0\x80" /* surrogate */, "\xf4\x90\x80\x80" /* > U+10FFFF */, "a\xf0\x9f\x98"}) {
    EXPECT_FALSE(IsValidUtf8(bad)) << bad;
  }
}

TEST(Router, AdmitRunsTheGateOnTheHeadAndGivesTheBodyClass) {
  Router router;
  int handled = 0;
  const Handler ok = [&handled](const HttpRequest&, const PathParams&) {
    ++handled;
    return HttpResponse();
  };
  router.Add(
      "POST", "/upload", ok,
      [](const HttpRequest& head) {
        if (head.Header("authorization").empty()) {
          throw Error(ErrorCode::kUnauthorized, "no token");
        }
      },
      BodyClass::kUpload);
  router.Add("POST", "/json", ok);
  HttpRequest head = Get("/upload");
  head.method = "POST";
  const Admission refused = router.Admit(head);
  ASSERT_TRUE(refused.refusal);
  EXPECT_EQ(refused.refusal->status, 401);
  EXPECT_EQ(ErrorCodeOf(*refused.refusal), "unauthorized");
  head.headers["authorization"] = "Bearer x";
  const Admission admitted = router.Admit(head);
  EXPECT_FALSE(admitted.refusal);
  EXPECT_EQ(admitted.body, BodyClass::kUpload);
  head.path = "/json";
  EXPECT_EQ(router.Admit(head).body, BodyClass::kJson);  // the default class
  head.method = "GET";
  EXPECT_EQ(router.Admit(head).refusal->status, 405);
  EXPECT_EQ(handled, 0);  // admission never runs a handler
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
