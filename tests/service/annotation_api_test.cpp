// The annotation routes (docs/annotation.md "HTTP API"): every route against every role, blind
// annotation, assignments and the queue, the author's and the reviewer's steps, stale versions
// and bad documents. Consensus and export: annotation_consensus_api_test.cpp.
#include <map>
#include <set>

#include "annotation_api_fixture.h"
#include "skintrack/annotation/document.h"

namespace skintrack::service {
namespace {

using nlohmann::json;

TEST_F(AnnotationApiTest, EveryRouteRefusesTheRolesThatTakeNoPart) {
  const std::int64_t c = PushCapture(1, "2026-01-01T00:00:00Z");
  Assign(c, {ann_a_.id});
  const HttpResponse saved = PutMine(ann_a_, c, "submit", 0, PlaqueDocument(RectMask({40, 40, 80, 60})));
  ASSERT_EQ(saved.status, 201) << saved.body;
  const std::string versions =
      "/v1/annotations/" + std::to_string(Body(saved)["annotation_id"].get<std::int64_t>());
  const std::string cap = CapturePath(c);
  const std::map<std::string, const Caller*> callers = {
      {"admin", &admin_},   {"clinician", &clinician_},   {"coordinator", &coordinator_},
      {"device", &device_}, {"annotator (assigned)", &ann_a_}, {"annotator (not assigned)", &ann_b_}};
  struct RouteCase {
    std::string method, target;
    std::set<std::string> allowed;  // everyone else: 403
  };
  const std::set<std::string> annotating = {"admin", "clinician", "annotator (assigned)"};
  const std::set<std::string> staff = {"admin", "clinician"};
  const RouteCase cases[] = {
      {"GET", "/v1/annotation-queue", {"admin", "clinician", "annotator (assigned)",
                                       "annotator (not assigned)"}},
      {"GET", cap + "/image", annotating},
      {"GET", cap + "/annotations", annotating},
      {"PUT", cap + "/annotations/mine", annotating},
      {"GET", versions + "/versions", annotating},  // the author, and tier 2+
      {"POST", versions + "/review", staff},
      {"POST", cap + "/assignments", {"admin"}},
      {"GET", cap + "/assignments", staff},
      {"POST", cap + "/consensus", staff},
      {"GET", cap + "/consensus", staff},
      {"GET", "/v1/annotations/export", {"admin", "clinician", "coordinator"}},
  };
  for (const RouteCase& route : cases) {
    for (const auto& [name, who] : callers) {
      // An empty body: the allowed callers get past authorisation to a 400 / 404 / 409 or a 200,
      // and nothing is changed by it.
      const HttpResponse r = Call(route.method, route.target, *who);
      const std::string what = route.method + " " + route.target + " as " + name;
      if (route.allowed.count(name)) {
        EXPECT_NE(r.status, 401) << what << ": " << r.body;
        EXPECT_NE(r.status, 403) << what << ": " << r.body;
      } else {
        EXPECT_EQ(r.status, 403) << what << ": " << r.body;
      }
    }
    EXPECT_EQ(Call(route.method, route.target, Caller{}).status, 401) << route.target;
  }
  // The empty bodies wrote nothing: one version, one assignment.
  EXPECT_EQ(store_->repository().AnnotationHistory(Body(saved)["annotation_id"]).size(), 1u);
  EXPECT_EQ(store_->repository().ListAssignments(c, "").size(), 1u);
}

TEST_F(AnnotationApiTest, AnnotatorTokensAreCreatedWithoutScope) {
  const HttpResponse made = Call("POST", "/v1/tokens", admin_, json{{"role", "annotator"}});
  ASSERT_EQ(made.status, 201) << made.body;
  EXPECT_EQ(Body(made)["role"], "annotator");
  const HttpResponse scoped =
      Call("POST", "/v1/tokens", admin_, json{{"role", "annotator"}, {"patients", {"P1"}}});
  EXPECT_EQ(scoped.status, 400) << scoped.body;
  // The new token works on the annotation routes at once.
  const Caller fresh{Body(made)["token"].get<std::string>(), Body(made)["id"].get<std::string>()};
  EXPECT_EQ(Call("GET", "/v1/annotation-queue", fresh).status, 200);
  EXPECT_EQ(Call("GET", "/v1/patients", fresh).status, 403);  // and on nothing else
}

TEST_F(AnnotationApiTest, AssignmentsNameOnlyAnnotatingTokensAndFillTheQueue) {
  const std::int64_t first = PushCapture(1, "2026-01-01T00:00:00Z");
  const std::int64_t second = PushCapture(2, "2026-01-08T00:00:00Z");
  const std::string path = CapturePath(first) + "/assignments";
  Caller revoked = MakeToken(storage::Role::kAnnotator);
  store_->repository().RevokeToken(revoked.id, "test");
  struct Bad {
    json body;
    std::string names;  // what the message must name
  };
  const Bad bad[] = {
      {json::object(), "annotators"},
      {{{"annotators", json::array()}}, "annotators"},
      {{{"annotators", {ann_a_.id, 7}}}, "annotators[1]"},
      {{{"annotators", {ann_a_.id, "0123456789abcdef"}}}, "0123456789abcdef"},
      {{{"annotators", {coordinator_.id}}}, "coordinator"},
      {{{"annotators", {device_.id}}}, "device"},
      {{{"annotators", {revoked.id}}}, "revoked"},
      {{{"annotators", {ann_a_.id}}, {"count", 2}}, "count"},
  };
  for (const Bad& b : bad) {
    const HttpResponse r = Call("POST", path, admin_, b.body);
    EXPECT_EQ(r.status, 400) << b.body.dump();
    EXPECT_NE(Message(r).find(b.names), std::string::npos) << Message(r);
  }
  EXPECT_TRUE(store_->repository().ListAssignments(first, "").empty());  // nothing written
  EXPECT_EQ(Call("POST", CapturePath(999) + "/assignments", admin_,
                 json{{"annotators", {ann_a_.id}}})
                .status,
            404);

  const HttpResponse made =
      Call("POST", path, admin_, json{{"annotators", {ann_a_.id, clinician_.id}}});
  ASSERT_EQ(made.status, 200) << made.body;
  EXPECT_EQ(Body(made)["added"], 2);
  ASSERT_EQ(Body(made)["assignments"].size(), 2u);
  std::set<std::string> assigned;  // assigned in one millisecond: their order is the storage's
  const json made_body = Body(made);
  for (const json& a : made_body["assignments"]) {
    assigned.insert(a["annotator"].get<std::string>());
    EXPECT_EQ(a["annotator"], "token:" + a["token_id"].get<std::string>());
    EXPECT_EQ(a["assigned_by"], admin_.Author());
  }
  EXPECT_EQ(assigned, (std::set<std::string>{ann_a_.Author(), clinician_.Author()}));
  // Assigning again is a no-op.
  const HttpResponse again = Call("POST", path, admin_, json{{"annotators", {ann_a_.id}}});
  EXPECT_EQ(Body(again)["added"], 0);
  EXPECT_EQ(Body(Call("GET", path, clinician_))["assignments"].size(), 2u);
  Assign(second, {ann_a_.id});

  // The queue: oldest assignment first; annotators see subject ids, not the patient id.
  const json queue = Body(Call("GET", "/v1/annotation-queue", ann_a_));
  ASSERT_EQ(queue["captures"].size(), 2u);
  EXPECT_EQ(queue["captures"][0]["id"], first);
  EXPECT_EQ(queue["captures"][1]["id"], second);
  EXPECT_NE(queue["captures"][0]["patient"], "P1");
  EXPECT_EQ(Body(Call("GET", "/v1/annotation-queue?limit=1", ann_a_))["captures"].size(), 1u);
  EXPECT_EQ(Call("GET", "/v1/annotation-queue?limit=0", ann_a_).status, 400);
  EXPECT_TRUE(Body(Call("GET", "/v1/annotation-queue", ann_b_))["captures"].empty());

  // The photo: for the assigned annotator only.
  EXPECT_EQ(Call("GET", CapturePath(first) + "/image", ann_a_).status, 200);
  EXPECT_EQ(Call("GET", CapturePath(first) + "/image", ann_b_).status, 403);
  // Other images stay clinicians'.
  EXPECT_EQ(Call("GET", CapturePath(first) + "/mask.png", ann_a_).status, 403);

  // Submitted work leaves the queue; a draft stays in it.
  ASSERT_EQ(PutMine(ann_a_, first, "submit", 0, PlaqueDocument(RectMask({40, 40, 80, 60}))).status,
            201);
  ASSERT_EQ(PutMine(ann_a_, second, "save", 0, PlaqueDocument(RectMask({40, 40, 80, 60}))).status,
            201);
  const json left = Body(Call("GET", "/v1/annotation-queue", ann_a_));
  ASSERT_EQ(left["captures"].size(), 1u);
  EXPECT_EQ(left["captures"][0]["id"], second);
}

TEST_F(AnnotationApiTest, BlindAnnotatorsSeeOnlyTheirOwnWork) {
  const std::int64_t c = PushCapture(3, "2026-01-01T00:00:00Z");
  Assign(c, {ann_a_.id, ann_b_.id});
  const HttpResponse a = PutMine(ann_a_, c, "save", 0, PlaqueDocument(RectMask({40, 40, 80, 60})),
                                 "unsure about the edge");
  const HttpResponse b = PutMine(ann_b_, c, "submit", 0, PlaqueDocument(RectMask({60, 50, 80, 60})));
  ASSERT_EQ(a.status, 201) << a.body;
  ASSERT_EQ(b.status, 201) << b.body;
  const std::string a_versions =
      "/v1/annotations/" + std::to_string(Body(a)["annotation_id"].get<std::int64_t>()) + "/versions";
  const std::string b_versions =
      "/v1/annotations/" + std::to_string(Body(b)["annotation_id"].get<std::int64_t>()) + "/versions";

  // Each annotator lists its own annotation only, with its content and note.
  const json listed = Body(Call("GET", CapturePath(c) + "/annotations", ann_a_));
  ASSERT_EQ(listed["annotations"].size(), 1u);
  EXPECT_EQ(listed["annotations"][0]["author"], ann_a_.Author());
  EXPECT_EQ(listed["annotations"][0]["note"], "unsure about the edge");
  EXPECT_TRUE(listed["annotations"][0]["content"]["masks"].contains("psoriasis_plaque"));
  // Another annotator's versions, draft or submitted: 403, whichever way it is asked.
  EXPECT_EQ(Call("GET", b_versions, ann_a_).status, 403);
  EXPECT_EQ(Call("GET", a_versions, ann_b_).status, 403);
  EXPECT_EQ(Call("GET", a_versions, ann_a_).status, 200);
  // A clinician sees submitted work, never someone's draft.
  const json staff = Body(Call("GET", CapturePath(c) + "/annotations", clinician_));
  ASSERT_EQ(staff["annotations"].size(), 1u);
  EXPECT_EQ(staff["annotations"][0]["author"], ann_b_.Author());
  EXPECT_EQ(Call("GET", a_versions, clinician_).status, 403);
  EXPECT_EQ(Call("GET", b_versions, clinician_).status, 200);
  EXPECT_EQ(Call("GET", "/v1/annotations/99999/versions", clinician_).status, 404);
  EXPECT_EQ(Call("GET", "/v1/annotations/x1/versions", clinician_).status, 400);
}

TEST_F(AnnotationApiTest, SaveSubmitReviewReopenAndStaleVersions) {
  const std::int64_t c = PushCapture(4, "2026-01-01T00:00:00Z");
  Assign(c, {ann_a_.id});
  const cv::Mat plaque = RectMask({40, 40, 80, 60});
  const HttpResponse v1 = PutMine(ann_a_, c, "save", 0, PlaqueDocument(plaque));
  ASSERT_EQ(v1.status, 201) << v1.body;
  EXPECT_EQ(Body(v1)["version"], 1);
  EXPECT_EQ(Body(v1)["state"], "draft");
  EXPECT_TRUE(Body(v1)["decision"].is_null());
  EXPECT_EQ(Body(v1)["author_role"], "annotator");
  EXPECT_EQ(Body(v1)["capture_id"], c);
  // The content comes back canonical, with the same pixels.
  const annotation::AnnotationContent back = annotation::DecodeDocument(
      Body(v1)["content"].dump(), cv::Size(kWidth, kHeight));
  ASSERT_EQ(back.masks.count(annotation::MaskClass::kPsoriasisPlaque), 1u);
  EXPECT_EQ(cv::countNonZero(back.masks.at(annotation::MaskClass::kPsoriasisPlaque) != plaque), 0);
  EXPECT_TRUE(Body(v1)["content"]["masks"]["psoriasis_plaque"]["counts"].is_string());

  // A stale expected_version is refused: 409, nothing written.
  const HttpResponse stale = PutMine(ann_a_, c, "save", 0, PlaqueDocument(plaque, 3));
  EXPECT_EQ(stale.status, 409) << stale.body;
  EXPECT_EQ(PutMine(ann_a_, c, "submit", 5, PlaqueDocument(plaque)).status, 409);
  const HttpResponse v2 = PutMine(ann_a_, c, "submit", 1, PlaqueDocument(plaque, 3));
  ASSERT_EQ(v2.status, 201) << v2.body;
  EXPECT_EQ(Body(v2)["state"], "submitted");
  const std::int64_t id = Body(v2)["annotation_id"];
  const std::string review = "/v1/annotations/" + std::to_string(id) + "/review";

  // A submitted annotation is not the author's to change any more.
  EXPECT_EQ(PutMine(ann_a_, c, "save", 2, PlaqueDocument(plaque)).status, 409);
  // Reviews: stale version 409; the reviewer's decision, note and actor are recorded.
  EXPECT_EQ(Call("POST", review, clinician_,
                 json{{"decision", "rejected"}, {"expected_version", 1}})
                .status,
            409);
  const HttpResponse rejected = Call("POST", review, clinician_,
                                     json{{"decision", "rejected"},
                                          {"expected_version", 2},
                                          {"note", "the plaque extends further left"}});
  ASSERT_EQ(rejected.status, 201) << rejected.body;
  EXPECT_EQ(Body(rejected)["state"], "reviewed");
  EXPECT_EQ(Body(rejected)["decision"], "rejected");
  EXPECT_EQ(Body(rejected)["actor"], clinician_.Author());
  EXPECT_EQ(Body(rejected)["author"], ann_a_.Author());
  // Rejected work is back in the author's queue; reopening keeps the last content.
  EXPECT_EQ(Body(Call("GET", "/v1/annotation-queue", ann_a_))["captures"].size(), 1u);
  const HttpResponse reopened = PutMine(ann_a_, c, "reopen", 3, json());
  ASSERT_EQ(reopened.status, 201) << reopened.body;
  EXPECT_EQ(Body(reopened)["state"], "draft");
  EXPECT_EQ(Body(reopened)["content_sha256"], Body(v2)["content_sha256"]);
  const cv::Mat wider = RectMask({20, 40, 100, 60});
  ASSERT_EQ(PutMine(ann_a_, c, "submit", 4, PlaqueDocument(wider, 3)).status, 201);
  // A correction replaces the content; the history keeps every version.
  const HttpResponse corrected =
      Call("POST", review, admin_,
           json{{"decision", "corrected"},
                {"expected_version", 5},
                {"content", PlaqueDocument(RectMask({20, 30, 110, 80}), 2)}});
  ASSERT_EQ(corrected.status, 201) << corrected.body;
  EXPECT_EQ(Body(corrected)["decision"], "corrected");
  const json history =
      Body(Call("GET", "/v1/annotations/" + std::to_string(id) + "/versions", ann_a_));
  ASSERT_EQ(history["versions"].size(), 6u);
  std::vector<std::string> states;
  for (const json& v : history["versions"]) states.push_back(v["state"]);
  EXPECT_EQ(states, (std::vector<std::string>{"draft", "submitted", "reviewed", "draft",
                                              "submitted", "reviewed"}));
  EXPECT_EQ(history["versions"][2]["note"], "the plaque extends further left");
  // Only a rejected annotation can be reopened: a corrected one is final.
  EXPECT_EQ(PutMine(ann_a_, c, "reopen", 6, json()).status, 409);
}

TEST_F(AnnotationApiTest, BadBodiesNameTheFieldAndWriteNothing) {
  const std::int64_t c = PushCapture(5, "2026-01-01T00:00:00Z");
  Assign(c, {ann_a_.id});
  const cv::Mat plaque = RectMask({40, 40, 80, 60});
  json wrong_size = PlaqueDocument(plaque);
  wrong_size["masks"]["psoriasis_plaque"] = ListRle(cv::Mat(10, 10, CV_8UC1, cv::Scalar(0)));
  json unknown_class = PlaqueDocument(plaque);
  unknown_class["masks"]["eczema"] = ListRle(plaque);
  struct Bad {
    json body;
    std::string names;
  };
  const Bad bad[] = {
      {{{"action", "save"}, {"expected_version", 0}, {"content", wrong_size}},
       "content.masks.psoriasis_plaque"},
      {{{"action", "save"}, {"expected_version", 0}, {"content", unknown_class}}, "eczema"},
      {{{"action", "save"}, {"expected_version", 0}, {"content", PlaqueDocument(plaque, 7)}},
       "content.labels.erythema"},
      {{{"action", "save"}, {"expected_version", 0}, {"content", "masks"}}, "content"},
      {{{"action", "publish"}, {"expected_version", 0}, {"content", PlaqueDocument(plaque)}},
       "action"},
      {{{"expected_version", 0}, {"content", PlaqueDocument(plaque)}}, "action"},
      {{{"action", "save"}, {"content", PlaqueDocument(plaque)}}, "expected_version"},
      {{{"action", "save"}, {"expected_version", 4294967296}, {"content", PlaqueDocument(plaque)}},
       "expected_version"},
      {{{"action", "save"}, {"expected_version", 0}, {"note", 5}}, "note"},
      {{{"action", "save"}, {"expected_verison", 0}, {"content", PlaqueDocument(plaque)}},
       "expected_verison"},
  };
  for (const Bad& b : bad) {
    const HttpResponse r = Call("PUT", CapturePath(c) + "/annotations/mine", ann_a_, b.body);
    EXPECT_EQ(r.status, 400) << b.body.dump().substr(0, 200);
    EXPECT_NE(Message(r).find(b.names), std::string::npos) << Message(r);
  }
  EXPECT_EQ(CallRaw("PUT", CapturePath(c) + "/annotations/mine", ann_a_, "not json").status, 400);
  EXPECT_FALSE(store_->repository().FindAnnotation(c, ann_a_.Author()));  // nothing written

  // A review's bad body writes nothing either.
  const HttpResponse submitted = PutMine(ann_a_, c, "submit", 0, PlaqueDocument(plaque));
  ASSERT_EQ(submitted.status, 201);
  const std::int64_t id = Body(submitted)["annotation_id"];
  const std::string review = "/v1/annotations/" + std::to_string(id) + "/review";
  for (const json& body :
       {json{{"decision", "approved"}, {"expected_version", 1}}, json{{"expected_version", 1}},
        json{{"decision", "corrected"}, {"expected_version", 1}, {"content", wrong_size}}}) {
    EXPECT_EQ(Call("POST", review, clinician_, body).status, 400) << body.dump().substr(0, 200);
  }
  EXPECT_EQ(store_->repository().AnnotationHistory(id).size(), 1u);
}

}  // namespace
}  // namespace skintrack::service
