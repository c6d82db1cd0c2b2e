// The API through the router, without sockets: an in-memory store, phantom captures processed
// synchronously by ProcessCapture.
#include <gtest/gtest.h>

#include <fstream>
#include <iterator>
#include <nlohmann/json.hpp>
#include <opencv2/imgcodecs.hpp>
#include <set>

#include "skintrack/phantom/phantom.h"
#include "skintrack/pipeline/baseline.h"
#include "skintrack/pipeline/change.h"
#include "skintrack/pipeline/pipeline.h"
#include "skintrack/pipeline/pseudonym.h"
#include "skintrack/registration/registration.h"
#include "skintrack/report/report.h"
#include "skintrack/scoring/change.h"
#include "skintrack/service/dashboard.h"
#include "skintrack/service/service.h"
#include "skintrack/storage/store.h"

namespace skintrack::service {
namespace {

using nlohmann::json;
using pipeline::PipelineOptions;
using pipeline::ProcessCapture;
using pipeline::SubjectId;
using report::ExportCohortCsv;
using report::ExportCohortFhir;
using report::kSkintrackCodeSystem;
using report::PatientReport;
using report::ReportFormat;

// The tests' pseudonym key (HMAC-SHA256, the scheme of new data directories).
const pipeline::PseudonymKey kTestKey{pipeline::PseudonymKey::Scheme::kHmacSha256, "test-key"};

std::string Jpeg(const cv::Mat& img) {
  std::vector<unsigned char> b;
  cv::imencode(".jpg", img, b, {cv::IMWRITE_JPEG_QUALITY, 92});
  return std::string(b.begin(), b.end());
}

// A small psoriasis phantom series with moderate poses and no new lesions.
phantom::PhantomOptions SeriesOptions(cv::Size size, int visits, std::uint64_t seed,
                                      double max_rotation_deg) {
  phantom::PhantomOptions o;
  o.size = size;
  o.visits = visits;
  o.seed = seed;
  o.max_rotation_deg = max_rotation_deg;
  o.new_lesions = false;
  return o;
}

class ApiTest : public ::testing::Test {
 protected:
  void SetUp() override {
    store_ = storage::Store::OpenInMemory();
    context_.reset(new ApiContext{*store_, nullptr, &metrics_, IntakeLimits{}, 1.0, kTestKey,
                                  PipelineOptions{}});
    AddApiRoutes(router_, *context_);
    admin_ = Token(storage::Role::kAdmin);
    clinician_ = Token(storage::Role::kClinician);
    coordinator_ = Token(storage::Role::kCoordinator);
  }

  std::string Token(storage::Role role, std::vector<std::string> scope = {}) {
    storage::NewToken t;
    t.role = role;
    t.patient_scope = std::move(scope);
    return store_->repository().CreateToken(t, "test").token;
  }

  HttpResponse Call(const std::string& method, const std::string& target, const std::string& token,
                    const std::string& body = "", const std::string& type = "") {
    HttpRequest r;
    r.method = method;
    const size_t q = target.find('?');
    r.path = target.substr(0, q);
    if (q != std::string::npos) r.query = ParseQuery(target.substr(q + 1));
    if (!token.empty()) r.headers["authorization"] = "Bearer " + token;
    if (!type.empty()) r.headers["content-type"] = type;
    r.body = body;
    return router_.Dispatch(r);
  }

  static json Body(const HttpResponse& r) { return json::parse(r.body); }
  static std::string Code(const HttpResponse& r) {
    return json::parse(r.body)["error"]["code"].get<std::string>();
  }

  void CreatePatient(const std::string& id) {
    ASSERT_EQ(Call("POST", "/v1/patients", admin_, json{{"id", id}}.dump()).status, 201);
  }

  // Pushes and processes one capture; returns its JSON.
  json Push(const std::string& patient, const std::string& site, const std::string& condition,
            const std::string& when, const std::string& bytes, int expect = 201) {
    const HttpResponse r = Call("POST",
                                "/v1/patients/" + patient + "/sites/" + site +
                                    "/captures?condition=" + condition + "&captured_at=" + when,
                                admin_, bytes, "image/jpeg");
    EXPECT_EQ(r.status, expect) << r.body;
    json j = Body(r);
    if (r.status == 201) {
      const auto item = store_->repository().ClaimWork("worker:test", 60000);
      EXPECT_TRUE(item && item->capture.id == j["id"].get<std::int64_t>());
      if (item) {
        ProcessCapture(*store_, item->capture, PipelineOptions{}, "worker:test");
        store_->repository().CompleteWork(item->capture.id, "worker:test");
      }
    }
    return j;
  }

  // What the workers would do: process every queued capture. Returns how many.
  int DrainQueue() {
    int n = 0;
    while (const auto item = store_->repository().ClaimWork("worker:test", 60000)) {
      ProcessCapture(*store_, item->capture, PipelineOptions{}, "worker:test");
      store_->repository().CompleteWork(item->capture.id, "worker:test");
      ++n;
    }
    return n;
  }

  std::int64_t BaselineOf(std::int64_t capture_id) {
    const json c = Body(Call("GET", "/v1/captures/" + std::to_string(capture_id), clinician_));
    return c["results"]["to_baseline"]["payload"]["baseline_capture_id"].get<std::int64_t>();
  }

  std::unique_ptr<storage::Store> store_;
  Metrics metrics_;
  std::unique_ptr<ApiContext> context_;
  Router router_;
  std::string admin_, clinician_, coordinator_;
};

TEST_F(ApiTest, EveryV1RouteNeedsAToken) {
  for (const auto& [method, pattern] : router_.Routes()) {
    if (pattern.rfind("/v1/", 0) != 0) continue;
    std::string path = pattern;
    for (const char* p : {"{patient}", "{site}", "{id}"}) {
      const size_t at = path.find(p);
      if (at != std::string::npos) path.replace(at, std::string(p).size(), "1");
    }
    const HttpResponse r = Call(method, path, "");
    EXPECT_EQ(r.status, 401) << method << " " << path;
    EXPECT_EQ(Call(method, path, "stk_0000000000000000_bad").status, 401) << path;
  }
}

TEST_F(ApiTest, RolesAreEnforced) {
  CreatePatient("P1");
  CreatePatient("P2");
  const std::string device = Token(storage::Role::kDevice, {"P1"});
  EXPECT_EQ(Call("GET", "/v1/patients", device).status, 403);
  EXPECT_EQ(Call("POST", "/v1/patients", coordinator_, R"({"id":"P3"})").status, 403);
  const std::string img = Jpeg(phantom::GeneratePhantom([] {
                                 phantom::PhantomOptions o;
                                 o.size = cv::Size(160, 120);
                                 o.visits = 1;
                                 return o;
                               }())
                                   .visits[0]
                                   .image);
  auto push = [&](const std::string& patient) {
    return Call("POST",
                "/v1/patients/" + patient +
                    "/sites/left-forearm/captures?condition=psoriasis&captured_at="
                    "2026-01-01T00:00:00Z",
                device, img, "image/jpeg");
  };
  EXPECT_EQ(push("P1").status, 201);
  const HttpResponse other = push("P2");
  EXPECT_EQ(other.status, 404);  // as for an unknown patient: the device learns nothing
  EXPECT_EQ(Code(other), "not_found");
  EXPECT_EQ(Call("GET", "/v1/captures/1", device).status, 403);  // devices only push
}

TEST_F(ApiTest, BadInputIsRejectedAndChangesNothing) {
  CreatePatient("P1");
  const std::string img = Jpeg(cv::Mat(100, 100, CV_8UC3, cv::Scalar(90, 140, 200)));
  const std::string ok_query = "?condition=psoriasis&captured_at=2026-01-01T00:00:00Z";
  struct Case {
    std::string target, body, type, code;
    int status;
  };
  const Case cases[] = {
      {"/v1/patients/NOPE/sites/left-forearm/captures" + ok_query, img, "image/jpeg", "not_found",
       404},
      {"/v1/patients/..%2Fetc/sites/left-forearm/captures" + ok_query, img, "image/jpeg",
       "invalid_argument", 400},
      {"/v1/patients/P1/sites/elbow/captures" + ok_query, img, "image/jpeg", "not_found", 404},
      {"/v1/patients/P1/sites/left-forearm/"
       "captures?condition=eczema&captured_at=2026-01-01T00:00:00Z",
       img, "image/jpeg", "invalid_argument", 400},
      {"/v1/patients/P1/sites/left-forearm/captures?condition=psoriasis&captured_at=yesterday", img,
       "image/jpeg", "invalid_argument", 400},
      {"/v1/patients/P1/sites/left-forearm/captures?condition=psoriasis", img, "image/jpeg",
       "invalid_argument", 400},
      {"/v1/patients/P1/sites/left-forearm/captures" + ok_query + "&wait=maybe", img, "image/jpeg",
       "invalid_argument", 400},
      {"/v1/patients/P1/sites/left-forearm/captures" + ok_query, img, "text/plain",
       "unsupported_media_type", 415},
      {"/v1/patients/P1/sites/left-forearm/captures" + ok_query, img.substr(0, img.size() / 2),
       "image/jpeg", "image_decode_failed", 400},
      {"/v1/patients/P1/sites/left-forearm/captures" + ok_query, "GIF89a....", "image/jpeg",
       "unsupported_media_type", 415},
  };
  for (const Case& c : cases) {
    const HttpResponse r = Call("POST", c.target, admin_, c.body, c.type);
    EXPECT_EQ(r.status, c.status) << c.target << " " << r.body;
    EXPECT_EQ(Code(r), c.code) << c.target;
  }
  EXPECT_EQ(store_->repository().CountQueue().queued, 0);
  EXPECT_EQ(Call("POST", "/v1/patients", admin_, "{not json").status, 400);
  EXPECT_EQ(Call("POST", "/v1/patients", admin_, R"({"id":"a/b"})").status, 400);
  EXPECT_EQ(Call("POST", "/v1/patients", admin_, R"({"id":"P2","age_band":7})").status, 400);
  EXPECT_EQ(Call("POST", "/v1/patients", admin_, R"([1,2])").status, 400);
  EXPECT_EQ(Call("POST", "/v1/tokens", admin_, R"({"role":"device","label":3})").status, 400);
  EXPECT_EQ(Call("POST", "/v1/patients", admin_, R"({"id":"P1"})").status, 409);
  EXPECT_EQ(Call("GET", "/v1/captures/abc", admin_).status, 400);
  EXPECT_EQ(Call("GET", "/v1/captures/999", admin_).status, 404);
  EXPECT_EQ(store_->repository().ListPatients().size(), 1u);
}

TEST_F(ApiTest, PhantomSeriesFlowsThroughToResponse) {
  CreatePatient("P1");
  const phantom::Series s = phantom::GeneratePhantom(SeriesOptions(cv::Size(480, 360), 3, 4, 20));
  std::vector<std::int64_t> ids;
  for (int k = 0; k < 3; ++k) {
    const json c =
        Push("P1", "left-forearm", "psoriasis", "2026-0" + std::to_string(k + 1) + "-15T09:00:00Z",
             Jpeg(s.visits[k].image));
    ids.push_back(c["id"].get<std::int64_t>());
  }
  // A retry of the same bytes is the same capture (200, not a new one).
  const json again =
      Push("P1", "left-forearm", "psoriasis", "2026-01-15T09:00:00Z", Jpeg(s.visits[0].image), 200);
  EXPECT_EQ(again["id"].get<std::int64_t>(), ids[0]);

  const HttpResponse r1 = Call("GET", "/v1/captures/" + std::to_string(ids[1]), clinician_);
  ASSERT_EQ(r1.status, 200) << r1.body;
  const json c1 = Body(r1);
  EXPECT_EQ(c1["status"], "processed");
  const json& reg = c1["results"]["to_baseline"]["payload"];
  EXPECT_EQ(reg["baseline_capture_id"].get<std::int64_t>(), ids[0]);
  EXPECT_TRUE(reg["converged"].get<bool>());
  // The stored matrix agrees with the phantom's truth within a couple of pixels at the centre.
  const cv::Matx23d& t = s.visits[1].truth.to_baseline;
  const double x = 240, y = 180;
  EXPECT_NEAR(reg["matrix"][0][0].get<double>() * x + reg["matrix"][0][1].get<double>() * y +
                  reg["matrix"][0][2].get<double>(),
              t(0, 0) * x + t(0, 1) * y + t(0, 2), 2.0);
  for (int k = 0; k < 3; ++k) {
    const json c = Body(Call("GET", "/v1/captures/" + std::to_string(ids[k]), clinician_));
    const double measured = c["results"]["measurements"]["value"].get<double>();
    EXPECT_NEAR(measured, s.visits[k].truth.lesion_fraction, 0.05) << "visit " << k;
  }

  const json response = Body(Call("GET", "/v1/patients/P1/response", clinician_));
  ASSERT_EQ(response["conditions"].size(), 1u);
  const json& visits = response["conditions"][0]["visits"];
  ASSERT_EQ(visits.size(), 3u);
  EXPECT_GE(visits[0]["pasi"].get<double>(), visits[2]["pasi"].get<double>());
  EXPECT_FALSE(visits[0]["score"]["pasi"]["complete"].get<bool>());  // only upper limbs imaged

  for (const char* png : {"mask.png", "overlay.png", "aligned.png", "change.png"}) {
    const HttpResponse r =
        Call("GET", "/v1/captures/" + std::to_string(ids[2]) + "/" + png, clinician_);
    EXPECT_EQ(r.status, 200) << png;
    EXPECT_EQ(r.content_type, "image/png");
  }
  EXPECT_EQ(Call("GET", "/v1/captures/" + std::to_string(ids[0]) + "/image", clinician_).status,
            200);
  // The dashboard's variants: reduced (?max_side) and the lesion outline in the baseline frame.
  const std::string base = "/v1/captures/" + std::to_string(ids[2]);
  const auto decode = [](const HttpResponse& r) {
    return cv::imdecode(std::vector<unsigned char>(r.body.begin(), r.body.end()), cv::IMREAD_COLOR);
  };
  const cv::Mat plain = decode(Call("GET", base + "/aligned.png", clinician_));
  const cv::Mat outlined = decode(Call("GET", base + "/aligned.png?overlay=true", clinician_));
  ASSERT_EQ(outlined.size(), plain.size());                // the baseline's frame
  EXPECT_GT(cv::norm(plain, outlined, cv::NORM_L1), 0.0);  // the outline was drawn
  const cv::Mat small = decode(Call("GET", base + "/change.png?max_side=120", clinician_));
  EXPECT_EQ(std::max(small.cols, small.rows), 120);
  EXPECT_EQ(decode(Call("GET", base + "/overlay.png?max_side=4000", clinician_)).cols, 480);
  for (const char* bad_query : {"/aligned.png?overlay=yes", "/aligned.png?max_side=10",
                                "/overlay.png?max_side=abc", "/change.png?max_side=99999"}) {
    const HttpResponse r = Call("GET", base + bad_query, clinician_);
    EXPECT_EQ(r.status, 400) << bad_query;
    EXPECT_EQ(Code(r), "invalid_argument") << bad_query;
  }

  // Clinician grades: a new score version with clinician provenance, the automated one kept.
  const HttpResponse bad = Call("PUT", "/v1/captures/" + std::to_string(ids[1]) + "/assessment",
                                clinician_, R"({"erythema": 7})");
  EXPECT_EQ(bad.status, 400);
  const HttpResponse put = Call("PUT", "/v1/captures/" + std::to_string(ids[1]) + "/assessment",
                                clinician_, R"({"erythema": 3, "induration": 2, "note": "ok"})");
  ASSERT_EQ(put.status, 201) << put.body;
  const json after = Body(put);
  EXPECT_EQ(after["results"]["pasi_site"]["version"].get<int>(), 2);
  EXPECT_EQ(after["results"]["pasi_site"]["source"], "clinician");
  const auto history =
      store_->repository().ResultHistory(ids[1], storage::ResultKind::kScore, "pasi_site");
  ASSERT_EQ(history.size(), 2u);
  EXPECT_EQ(history[0].source, storage::ResultSource::kAutomated);

  // A corrected mask of the wrong size changes nothing; a right one becomes the lesion mask.
  std::vector<unsigned char> png;
  cv::imencode(".png", cv::Mat(10, 10, CV_8U, cv::Scalar(255)), png);
  const std::string path = "/v1/captures/" + std::to_string(ids[2]) + "/mask";
  EXPECT_EQ(Call("PUT", path, clinician_, std::string(png.begin(), png.end()), "image/png").status,
            400);
  cv::imencode(".png", s.visits[2].lesion_mask, png);
  const HttpResponse mask_put =
      Call("PUT", path, clinician_, std::string(png.begin(), png.end()), "image/png");
  ASSERT_EQ(mask_put.status, 201) << mask_put.body;
  const json m = Body(mask_put)["results"]["measurements"];
  EXPECT_EQ(m["source"], "clinician");
  EXPECT_NEAR(m["value"].get<double>(), s.visits[2].truth.lesion_fraction, 0.02);

  // A clinician chooses visit 1 as the baseline: it is processed at once, the two others go back
  // in the queue and are registered against it again; the corrected mask of visit 2 stays.
  const HttpResponse choose =
      Call("PUT", "/v1/captures/" + std::to_string(ids[1]) + "/baseline", clinician_);
  ASSERT_EQ(choose.status, 200) << choose.body;
  EXPECT_EQ(Body(choose)["requeued_captures"].get<int>(), 2);
  EXPECT_EQ(BaselineOf(ids[1]), ids[1]);
  EXPECT_EQ(DrainQueue(), 2);
  const json c0 = Body(Call("GET", "/v1/captures/" + std::to_string(ids[0]), clinician_));
  EXPECT_EQ(BaselineOf(ids[0]), ids[1]);
  EXPECT_EQ(BaselineOf(ids[2]), ids[1]);
  EXPECT_EQ(c0["results"]["to_baseline"]["version"].get<int>(), 2);
  const json c2 = Body(Call("GET", "/v1/captures/" + std::to_string(ids[2]), clinician_));
  EXPECT_EQ(c2["results"]["lesion"]["source"], "clinician");
  EXPECT_EQ(
      Call("PUT", "/v1/captures/" + std::to_string(ids[1]) + "/baseline", coordinator_).status,
      403);

  // Coordinators see subject ids, never the patient id.
  const HttpResponse list = Call("GET", "/v1/patients", coordinator_);
  EXPECT_EQ(list.body.find("\"P1\""), std::string::npos);
  const std::string subject = SubjectId(kTestKey, "P1");
  EXPECT_NE(list.body.find(subject), std::string::npos);
  const HttpResponse series = Call("GET", "/v1/patients/" + subject + "/timeseries", coordinator_);
  EXPECT_EQ(series.status, 200);
  EXPECT_EQ(Body(series)["points"].size(), 3u);
  EXPECT_EQ(Call("GET", "/v1/patients/P1/timeseries", coordinator_).status, 404);
}

TEST_F(ApiTest, ALateCaptureWithAnEarlierDateBecomesTheBaselineOfTheSeries) {
  // A phone that was offline syncs its oldest photo last: the series is registered again to it.
  CreatePatient("P2");
  const phantom::Series s = phantom::GeneratePhantom(SeriesOptions(cv::Size(400, 300), 3, 9, 15));
  const std::int64_t v1 = Push("P2", "left-forearm", "psoriasis", "2026-03-01T09:00:00Z",
                               Jpeg(s.visits[1].image))["id"];
  const std::int64_t v2 = Push("P2", "left-forearm", "psoriasis", "2026-05-01T09:00:00Z",
                               Jpeg(s.visits[2].image))["id"];
  EXPECT_EQ(BaselineOf(v2), v1);
  const std::int64_t v0 = Push("P2", "left-forearm", "psoriasis", "2026-01-01T09:00:00Z",
                               Jpeg(s.visits[0].image))["id"];
  EXPECT_EQ(BaselineOf(v0), v0);
  // Both earlier-processed captures were put back in the queue (durably, audited) ...
  EXPECT_EQ(store_->repository().FindCapture(v1)->status, storage::CaptureStatus::kQueued);
  EXPECT_EQ(store_->repository().FindCapture(v2)->status, storage::CaptureStatus::kQueued);
  EXPECT_EQ(DrainQueue(), 2);
  // ... and now point at the new baseline, with a change map against it.
  EXPECT_EQ(BaselineOf(v1), v0);
  EXPECT_EQ(BaselineOf(v2), v0);
  const json c2 = Body(Call("GET", "/v1/captures/" + std::to_string(v2), clinician_));
  EXPECT_EQ(c2["results"]["change"]["inputs"]["baseline_capture_id"].get<std::int64_t>(), v0);
  EXPECT_EQ(c2["results"]["to_baseline"]["version"].get<int>(), 2);
  // Processing the baseline again requeues nothing: the series already points at it.
  EXPECT_EQ(ProcessCapture(*store_, *store_->repository().FindCapture(v0), PipelineOptions{},
                           "worker:test"),
            0);
}

TEST_F(ApiTest, SiteAreaDoesNotDependOnTheFieldOfView) {
  // Lesions that do not change, photographed from varying distance and position: the share of
  // the photo's skin that is lesion varies, the share of the site does not.
  CreatePatient("P3");
  phantom::PhantomOptions o = SeriesOptions(cv::Size(480, 360), 4, 5, 20);
  o.min_scale = 1.1;
  o.max_scale = 1.33;
  o.lesion_changes = false;
  const phantom::Series s = phantom::GeneratePhantom(o);
  double worst_photo = 0, worst_site = 0;
  for (int k = 0; k < o.visits; ++k) {
    const json c =
        Push("P3", "left-forearm", "psoriasis", "2026-0" + std::to_string(k + 1) + "-10T09:00:00Z",
             Jpeg(s.visits[k].image));
    const json full = Body(
        Call("GET", "/v1/captures/" + std::to_string(c["id"].get<std::int64_t>()), clinician_));
    const json& m = full["results"]["measurements"];
    const json& site = m["payload"]["site_area"];
    ASSERT_TRUE(site["used"].get<bool>()) << site.dump();
    const double truth = s.visits[k].truth.lesion_fraction_site;
    worst_photo = std::max(worst_photo, std::abs(m["value"].get<double>() - truth));
    worst_site = std::max(worst_site, std::abs(site["lesion_fraction"].get<double>() - truth));
    // The score uses the site's area; the measurement keeps the photo's own fraction.
    const json& region = full["results"]["pasi_site"]["payload"]["pasi"]["regions"][0];
    EXPECT_NEAR(region["area_percent"].get<double>(), 100.0 * site["lesion_fraction"].get<double>(),
                1e-9);
    EXPECT_EQ(full["results"]["pasi_site"]["provenance"]["area_frame"], "baseline");
  }
  // Measured (seed 5): photo up to 0.060 from the site's truth, site area 0.011.
  EXPECT_GT(worst_photo, 0.04);  // the field of view does move the photo's fraction ...
  EXPECT_LT(worst_site, 0.02);   // ... and not the site's
}

TEST_F(ApiTest, TheChangeMapServedIsTheStoredChange) {
  // The change.png route, the report's figure and the stored "change" result come from one
  // function (pipeline::ChangeInBaselineFrame): recomputed from the stored masks and
  // registration, the counts equal the stored ones, and the PNG served is that change rendered.
  CreatePatient("P4");
  const phantom::Series s = phantom::GeneratePhantom(SeriesOptions(cv::Size(480, 360), 3, 11, 25));
  std::vector<std::int64_t> ids;
  for (int k = 0; k < 2; ++k) {
    ids.push_back(Push("P4", "left-forearm", "psoriasis",
                       "2026-0" + std::to_string(k + 1) + "-01T09:00:00Z",
                       Jpeg(s.visits[k].image))["id"]
                      .get<std::int64_t>());
  }
  // Visit 3 with a clinician's mask drawn before processing that reaches beyond the skin (a strip
  // along the photo's border, into the background): there the baseline's skin mask matters.
  const HttpResponse pushed = Call("POST",
                                   "/v1/patients/P4/sites/left-forearm/captures?condition="
                                   "psoriasis&captured_at=2026-03-01T09:00:00Z",
                                   admin_, Jpeg(s.visits[2].image), "image/jpeg");
  ASSERT_EQ(pushed.status, 201);
  ids.push_back(Body(pushed)["id"].get<std::int64_t>());
  cv::Mat outline(s.visits[2].image.size(), CV_8U, cv::Scalar(255));
  outline(cv::Rect(16, 16, outline.cols - 32, outline.rows - 32)).setTo(0);
  std::vector<unsigned char> outline_png;
  cv::imencode(".png", outline, outline_png);
  ASSERT_EQ(Call("PUT", "/v1/captures/" + std::to_string(ids[2]) + "/mask", clinician_,
                 std::string(outline_png.begin(), outline_png.end()), "image/png")
                .status,
            201);
  ASSERT_EQ(DrainQueue(), 1);
  long long differs_from_field_of_view_only = 0;
  for (int k = 1; k < 3; ++k) {
    const std::string base = "/v1/captures/" + std::to_string(ids[k]);
    const json stored = Body(Call("GET", base, clinician_))["results"]["change"]["payload"];
    ASSERT_FALSE(stored.is_null());
    const storage::Capture capture = *store_->repository().FindCapture(ids[k]);
    const auto served = pipeline::StoredChange(*store_, capture);
    ASSERT_TRUE(served.has_value());
    EXPECT_EQ(served->baseline_capture_id, ids[0]);
    const scoring::MaskChange& c = served->change;
    EXPECT_EQ(c.baseline_pixels, stored["baseline_pixels"].get<long long>());
    EXPECT_EQ(c.current_pixels, stored["current_pixels"].get<long long>());
    EXPECT_EQ(c.new_pixels, stored["new_pixels"].get<long long>());
    EXPECT_EQ(c.persisting_pixels, stored["persisting_pixels"].get<long long>());
    EXPECT_EQ(c.cleared_pixels, stored["cleared_pixels"].get<long long>());

    const HttpResponse png = Call("GET", base + "/change.png", clinician_);
    ASSERT_EQ(png.status, 200);
    const cv::Mat shown = cv::imdecode(
        cv::Mat(1, static_cast<int>(png.body.size()), CV_8U, const_cast<char*>(png.body.data())),
        cv::IMREAD_COLOR);
    const cv::Mat expected = scoring::RenderChangeMap(
        pipeline::DecodeStoredImage(*store_, *store_->repository().FindCapture(ids[0])), c);
    ASSERT_EQ(shown.size(), expected.size());
    EXPECT_EQ(cv::norm(shown, expected, cv::NORM_INF), 0.0);

    // What the route computed before: the field of view alone, without the baseline's skin.
    const auto reg = pipeline::StoredRegistration(*store_, capture);
    const cv::Mat lesion = *pipeline::LatestMask(*store_, ids[k], pipeline::result::kLesionMask);
    const cv::Mat seen = registration::WarpMaskToBaseline(
        cv::Mat(lesion.size(), CV_8U, cv::Scalar(255)), reg->result);
    const scoring::MaskChange fov_only =
        scoring::CompareMasks(*pipeline::LatestMask(*store_, ids[0], pipeline::result::kLesionMask),
                              registration::WarpMaskToBaseline(lesion, reg->result), seen);
    differs_from_field_of_view_only += std::abs(fov_only.new_pixels - c.new_pixels) +
                                       std::abs(fov_only.cleared_pixels - c.cleared_pixels);
  }
  // Where the two rules differ (visit 3), the served map follows the stored one: the equality
  // above is not a coincidence of the data.
  EXPECT_GT(differs_from_field_of_view_only, 0);
}

TEST_F(ApiTest, QualityGateKeepsAndMarksBadCaptures) {
  CreatePatient("P1");
  const json c = Push("P1", "left-forearm", "psoriasis", "2026-01-01T00:00:00Z",
                      Jpeg(cv::Mat(200, 200, CV_8UC3, cv::Scalar(2, 2, 2))));
  const json read = Body(Call("GET", "/v1/captures/" + std::to_string(c["id"].get<int>()), admin_));
  const json& q = read["results"]["quality"]["payload"];
  EXPECT_FALSE(q["passed"].get<bool>());
  EXPECT_FALSE(q["reasons"].empty());
  EXPECT_FALSE(read["results"].contains("measurements"));
  // A capture that failed the gate cannot become the baseline.
  const HttpResponse choose =
      Call("PUT", "/v1/captures/" + std::to_string(c["id"].get<int>()) + "/baseline", admin_);
  EXPECT_EQ(choose.status, 409);
}

TEST_F(ApiTest, ReportsAndExportsMatchTheStoredScores) {
  CreatePatient("P1");
  phantom::PhantomOptions o;
  o.size = cv::Size(400, 300);
  o.visits = 2;
  o.seed = 6;
  o.max_rotation_deg = 15;
  const phantom::Series s = phantom::GeneratePhantom(o);
  std::vector<std::int64_t> ids;
  for (int k = 0; k < 2; ++k) {
    ids.push_back(Push("P1", "left-forearm", "psoriasis",
                       "2026-0" + std::to_string(k + 1) + "-01T09:00:00Z",
                       Jpeg(s.visits[k].image))["id"]
                      .get<std::int64_t>());
  }
  // A clinician confirms visit 2: its FHIR observations become final, visit 1's stay preliminary.
  ASSERT_EQ(Call("PUT", "/v1/captures/" + std::to_string(ids[1]) + "/assessment", clinician_,
                 R"({"induration": 2})")
                .status,
            201);
  const json response = Body(Call("GET", "/v1/patients/P1/response", clinician_));
  const json& visits = response["conditions"][0]["visits"];
  ASSERT_EQ(visits.size(), 2u);

  const std::string html = PatientReport(*store_, "P1", ReportFormat::kHtml);
  EXPECT_NE(html.find("<svg"), std::string::npos);
  EXPECT_NE(html.find("PASI75"), std::string::npos);
  EXPECT_NE(html.find("data:image/jpeg;base64,"), std::string::npos);

  const std::string csv = ExportCohortCsv(*store_, kTestKey);
  EXPECT_EQ(csv.find("P1,"), std::string::npos) << "subject ids must be pseudonymised";
  std::vector<std::string> lines;
  for (size_t start = 0, end; (end = csv.find('\n', start)) != std::string::npos; start = end + 1) {
    lines.push_back(csv.substr(start, end - start));
  }
  ASSERT_EQ(lines.size(), 3u);  // header + one row per visit
  char pasi[32];
  std::snprintf(pasi, sizeof pasi, ",%.3f,", visits[1]["pasi"].get<double>());
  EXPECT_NE(lines[2].find(SubjectId(kTestKey, "P1") + ",psoriasis,"), std::string::npos);
  EXPECT_NE(lines[2].find(pasi), std::string::npos) << lines[2];
  // Responder flags of the other condition are empty, not "N".
  auto cells = [](const std::string& line) {
    std::vector<std::string> out(1);
    for (char c : line) {
      if (c == ',') {
        out.emplace_back();
      } else {
        out.back().push_back(c);
      }
    }
    return out;
  };
  const std::vector<std::string> header = cells(lines[0]), row = cells(lines[2]);
  ASSERT_EQ(header.size(), row.size());
  for (size_t i = 0; i < header.size(); ++i) {
    if (header[i].rfind("pasi", 0) == 0 && header[i].size() <= 7 && header[i] != "pasi") {
      EXPECT_TRUE(row[i] == "Y" || row[i] == "N") << header[i] << "=" << row[i];
    }
    if (header[i].rfind("vasi", 0) == 0) {
      EXPECT_EQ(row[i], "") << header[i];
    }
  }

  const json bundle = json::parse(ExportCohortFhir(*store_, kTestKey));
  EXPECT_EQ(bundle["resourceType"], "Bundle");
  std::set<std::string> urls;
  for (const json& e : bundle["entry"]) urls.insert(e["fullUrl"].get<std::string>());
  int observations = 0, final_count = 0;
  std::function<void(const json&)> check_refs = [&](const json& j) {
    if (j.is_object()) {
      for (const auto& [k, v] : j.items()) {
        if (k == "reference") {
          EXPECT_TRUE(urls.count(v.get<std::string>())) << v;
        }
        check_refs(v);
      }
    } else if (j.is_array()) {
      for (const json& v : j) check_refs(v);
    }
  };
  for (const json& e : bundle["entry"]) {
    const json& r = e["resource"];
    check_refs(r);
    if (r["resourceType"] != "Observation") continue;
    if (r.contains("valueBoolean")) continue;  // responder flags: tests/report/exports_test.cpp
    ++observations;
    for (const char* field : {"status", "code", "subject", "effectiveDateTime", "valueQuantity",
                              "derivedFrom", "device"}) {
      EXPECT_TRUE(r.contains(field)) << field;
    }
    EXPECT_EQ(r["code"]["coding"][0]["system"], kSkintrackCodeSystem);
    if (r["status"] == "final") ++final_count;
    if (r["code"]["coding"][0]["code"] == "pasi" && r["status"] == "final") {
      EXPECT_NEAR(r["valueQuantity"]["value"].get<double>(), visits[1]["pasi"].get<double>(), 1e-3);
    }
  }
  EXPECT_EQ(observations, 4);  // PASI and BSA for each of two visits
  EXPECT_EQ(final_count, 2);
  EXPECT_EQ(bundle.dump().find("\"P1\""), std::string::npos);
}

TEST_F(ApiTest, ACorrectedBaselineMaskReSegmentsTheFollowUpsWithThePatientReference) {
  // The clinician's route: PUT a corrected mask on the site's baseline. The follow-ups go back in
  // the queue and come out segmented by the patient reference; the capture JSON names the
  // segmenter and the model of every mask and score.
  CreatePatient("P7");
  const phantom::Series s = phantom::GeneratePhantom(SeriesOptions(cv::Size(400, 300), 2, 17, 10));
  std::vector<std::int64_t> ids;
  for (int k = 0; k < 2; ++k) {
    ids.push_back(Push("P7", "left-forearm", "psoriasis",
                       "2026-0" + std::to_string(k + 1) + "-01T09:00:00Z",
                       Jpeg(s.visits[k].image))["id"]
                      .get<std::int64_t>());
  }
  const std::string follow_up = "/v1/captures/" + std::to_string(ids[1]);
  const json before = Body(Call("GET", follow_up, clinician_))["results"];
  EXPECT_TRUE(before["lesion"]["provenance"]["model_id"].is_null());
  std::vector<unsigned char> png;
  cv::imencode(".png", s.visits[0].lesion_mask, png);
  ASSERT_EQ(Call("PUT", "/v1/captures/" + std::to_string(ids[0]) + "/mask", clinician_,
                 std::string(png.begin(), png.end()), "image/png")
                .status,
            201);
  EXPECT_EQ(store_->repository().FindCapture(ids[1])->status, storage::CaptureStatus::kQueued);
  EXPECT_EQ(DrainQueue(), 1);
  const json after = Body(Call("GET", follow_up, clinician_))["results"];
  EXPECT_EQ(after["lesion"]["version"].get<int>(), 2);
  const std::string model = after["lesion"]["provenance"]["model_id"].get<std::string>();
  EXPECT_EQ(model.rfind("patient-c" + std::to_string(ids[0]) + "-m", 0), 0u) << model;
  EXPECT_EQ(after["lesion"]["payload"]["model_id"], model);
  EXPECT_EQ(after["pasi_site"]["provenance"]["model_id"], model);
  EXPECT_EQ(
      after["pasi_site"]["provenance"]["segmenter"].get<std::string>().rfind("reference-forest", 0),
      0u);
}

TEST(Dashboard, ServesTheEmbeddedPagesWithAStrictPolicy) {
  Router router;
  AddDashboardRoutes(router);
  HttpRequest req;
  req.method = "GET";
  req.path = "/";
  const HttpResponse index = router.Dispatch(req);
  ASSERT_EQ(index.status, 200);
  EXPECT_EQ(index.content_type, "text/html; charset=utf-8");
  EXPECT_NE(index.body.find("/dashboard/app.js"), std::string::npos);
  bool csp = false;
  for (const auto& [name, value] : index.headers) {
    if (name == "Content-Security-Policy")
      csp = value.find("script-src 'self'") != std::string::npos;
  }
  EXPECT_TRUE(csp);
  // Every embedded file is served byte for byte from the source tree's web/.
  for (std::size_t i = 0; i < kDashboardAssetCount; ++i) {
    const std::string name = kDashboardAssets[i].name;
    req.path = name == "index.html" ? "/" : "/dashboard/" + name;
    const HttpResponse r = router.Dispatch(req);
    std::ifstream in(std::string(SKINTRACK_SOURCE_DIR) + "/web/" + name, std::ios::binary);
    const std::string source((std::istreambuf_iterator<char>(in)),
                             std::istreambuf_iterator<char>());
    EXPECT_EQ(r.body, source) << name;
    EXPECT_NE(r.content_type, "application/octet-stream") << name;
  }
  req.path = "/dashboard/missing.js";
  EXPECT_EQ(router.Dispatch(req).status, 404);
  req.path = "/dashboard/..%2fservice.cpp";
  EXPECT_EQ(router.Dispatch(req).status, 404);
  req.method = "POST";
  req.path = "/";
  EXPECT_EQ(router.Dispatch(req).status, 405);
}

}  // namespace
}  // namespace skintrack::service
