// The annotation API through the router, without sockets: an in-memory store, a patient, phantom
// psoriasis captures processed synchronously, a token of every role and two annotators.
#pragma once

#include <gtest/gtest.h>

#include <nlohmann/json.hpp>
#include <opencv2/imgcodecs.hpp>
#include <opencv2/imgproc.hpp>
#include <string>
#include <vector>

#include "skintrack/phantom/phantom.h"
#include "skintrack/pipeline/pipeline.h"
#include "skintrack/pipeline/pseudonym.h"
#include "skintrack/service/service.h"
#include "skintrack/storage/store.h"

namespace skintrack::service {

struct Caller {
  std::string token;  // the bearer secret
  std::string id;     // the token id: the author is "token:<id>"
  std::string Author() const { return "token:" + id; }
};

class AnnotationApiTest : public ::testing::Test {
 protected:
  static constexpr int kWidth = 240;
  static constexpr int kHeight = 180;

  void SetUp() override {
    store_ = storage::Store::OpenInMemory();
    context_.reset(new ApiContext{
        *store_, nullptr, &metrics_, IntakeLimits{}, 1.0,
        pipeline::PseudonymKey{pipeline::PseudonymKey::Scheme::kHmacSha256, "test-key"},
        pipeline::PipelineOptions{}});
    AddApiRoutes(router_, *context_);
    storage::PatientInfo patient;
    patient.id = "P1";  // before the device token scoped to it
    store_->repository().CreatePatient(patient, "test");
    admin_ = MakeToken(storage::Role::kAdmin);
    clinician_ = MakeToken(storage::Role::kClinician);
    coordinator_ = MakeToken(storage::Role::kCoordinator);
    device_ = MakeToken(storage::Role::kDevice, {"P1"});
    ann_a_ = MakeToken(storage::Role::kAnnotator);
    ann_b_ = MakeToken(storage::Role::kAnnotator);
  }

  Caller MakeToken(storage::Role role, std::vector<std::string> scope = {}) {
    storage::NewToken t;
    t.role = role;
    t.patient_scope = std::move(scope);
    const storage::CreatedToken created = store_->repository().CreateToken(t, "test");
    return {created.token, created.info.id};
  }

  // A raw body (or none).
  HttpResponse CallRaw(const std::string& method, const std::string& target, const Caller& who,
                       const std::string& body) {
    HttpRequest r;
    r.method = method;
    const size_t q = target.find('?');
    r.path = target.substr(0, q);
    if (q != std::string::npos) r.query = ParseQuery(target.substr(q + 1));
    if (!who.token.empty()) r.headers["authorization"] = "Bearer " + who.token;
    r.body = body;
    return router_.Dispatch(r);
  }
  HttpResponse Call(const std::string& method, const std::string& target, const Caller& who) {
    return CallRaw(method, target, who, "");
  }
  HttpResponse Call(const std::string& method, const std::string& target, const Caller& who,
                    const nlohmann::json& body) {
    return CallRaw(method, target, who, body.dump());
  }

  static nlohmann::json Body(const HttpResponse& r) { return nlohmann::json::parse(r.body); }
  static std::string Message(const HttpResponse& r) {
    const auto j = nlohmann::json::parse(r.body, nullptr, false);
    return j.is_discarded() || !j.contains("error") ? "" : j["error"]["message"].get<std::string>();
  }

  // Pushes one phantom capture of patient P1 and processes it; returns its id.
  std::int64_t PushCapture(std::uint64_t seed, const std::string& when) {
    phantom::PhantomOptions o;
    o.size = cv::Size(kWidth, kHeight);
    o.visits = 1;
    o.seed = seed;
    o.new_lesions = false;
    std::vector<unsigned char> jpeg;
    cv::imencode(".jpg", phantom::GeneratePhantom(o).visits[0].image, jpeg);
    HttpRequest r;
    r.method = "POST";
    r.path = "/v1/patients/P1/sites/left-forearm/captures";
    r.query = ParseQuery("condition=psoriasis&captured_at=" + when);
    r.headers["authorization"] = "Bearer " + admin_.token;
    r.headers["content-type"] = "image/jpeg";
    r.body.assign(jpeg.begin(), jpeg.end());
    const HttpResponse pushed = router_.Dispatch(r);
    EXPECT_EQ(pushed.status, 201) << pushed.body;
    const auto item = store_->repository().ClaimWork("worker:test", 60000);
    EXPECT_TRUE(item);
    if (!item) return 0;
    pipeline::ProcessCapture(*store_, item->capture, pipeline::PipelineOptions{}, "worker:test");
    store_->repository().CompleteWork(item->capture.id, "worker:test");
    return item->capture.id;
  }

  // A mask of the capture's size with one filled rectangle.
  static cv::Mat RectMask(const cv::Rect& r) {
    cv::Mat m(kHeight, kWidth, CV_8UC1, cv::Scalar(0));
    m(r).setTo(255);
    return m;
  }

  // A mask as a client sends it: COCO run lengths in a list, down each column (column-major),
  // alternating unmarked / marked, starting unmarked. Written here independently of the codec.
  static nlohmann::json ListRle(const cv::Mat& mask) {
    std::vector<long long> counts;
    bool marked = false;
    long long run = 0;
    for (int x = 0; x < mask.cols; ++x) {
      for (int y = 0; y < mask.rows; ++y) {
        const bool here = mask.at<unsigned char>(y, x) != 0;
        if (here != marked) {
          counts.push_back(run);
          run = 0;
          marked = here;
        }
        ++run;
      }
    }
    counts.push_back(run);
    return {{"size", {mask.rows, mask.cols}}, {"counts", counts}};
  }

  // A document with a psoriasis plaque mask and a few labels.
  static nlohmann::json PlaqueDocument(const cv::Mat& plaque, int erythema = 2) {
    return {{"masks", {{"psoriasis_plaque", ListRle(plaque)}}},
            {"labels", {{"diagnosis", "psoriasis"}, {"erythema", erythema}}}};
  }

  std::string CapturePath(std::int64_t id) const { return "/v1/captures/" + std::to_string(id); }

  void Assign(std::int64_t capture, const std::vector<std::string>& token_ids) {
    const HttpResponse r = Call("POST", CapturePath(capture) + "/assignments", admin_,
                                nlohmann::json{{"annotators", token_ids}});
    ASSERT_EQ(r.status, 200) << r.body;
  }

  // PUT .../annotations/mine; returns the answer.
  HttpResponse PutMine(const Caller& who, std::int64_t capture, const std::string& action,
                       int expected_version, const nlohmann::json& content,
                       const std::string& note = "") {
    nlohmann::json body = {{"action", action}, {"expected_version", expected_version}};
    if (!content.is_null()) body["content"] = content;
    if (!note.empty()) body["note"] = note;
    return Call("PUT", CapturePath(capture) + "/annotations/mine", who, body);
  }

  std::unique_ptr<storage::Store> store_;
  Metrics metrics_;
  std::unique_ptr<ApiContext> context_;
  Router router_;
  Caller admin_, clinician_, coordinator_, device_, ann_a_, ann_b_;
};

}  // namespace skintrack::service
