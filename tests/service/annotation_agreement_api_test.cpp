// GET /v1/annotations/agreement through the router: staff only, the same figures as the CLI's
// (pipeline::ComputeDatasetAgreement), the labels stored with a consensus, bad query 400.
#include <nlohmann/json.hpp>

#include "annotation_api_fixture.h"
#include "skintrack/pipeline/annotation_agreement.h"

namespace skintrack::service {
namespace {

using nlohmann::json;

TEST_F(AnnotationApiTest, DatasetLabelAgreementForStaff) {
  const std::int64_t c = PushCapture(61, "2026-01-05T10:00:00Z");
  Assign(c, {ann_a_.id, ann_b_.id});
  ASSERT_EQ(PutMine(ann_a_, c, "submit", 0, PlaqueDocument(RectMask({40, 40, 120, 100}), 2)).status,
            201);
  ASSERT_EQ(PutMine(ann_b_, c, "submit", 0, PlaqueDocument(RectMask({70, 60, 120, 100}), 3)).status,
            201);
  const HttpResponse built =
      Call("POST", CapturePath(c) + "/consensus", clinician_, json{{"method", "majority"}});
  ASSERT_EQ(built.status, 201) << built.body;
  // The consensus holds each annotator's erythema and their (dis)agreement on this capture.
  const json erythema = Body(built)["labels"]["erythema"]["per_annotator"];
  ASSERT_EQ(erythema.size(), 2u) << built.body;
  EXPECT_EQ(erythema[0]["author"], ann_a_.Author());
  EXPECT_EQ(erythema[0]["value"], 2);
  EXPECT_EQ(erythema[1]["value"], 3);
  EXPECT_EQ(erythema[1]["agreement_with_others"], 0.0);
  EXPECT_EQ(Body(built)["labels"]["diagnosis"]["per_annotator"][1]["agreement_with_others"], 1.0);

  for (const Caller* who : {&admin_, &clinician_}) {
    const HttpResponse r = Call("GET", "/v1/annotations/agreement", *who);
    ASSERT_EQ(r.status, 200) << r.body;
    const json j = Body(r);
    EXPECT_EQ(j, pipeline::DatasetAgreementJson(pipeline::ComputeDatasetAgreement(*store_, {})));
    EXPECT_EQ(j["captures"], 1);
    EXPECT_EQ(j["labels"]["erythema"]["units"], 1);
    EXPECT_EQ(j["labels"]["erythema"]["ratings"], 2);
    EXPECT_EQ(j["lesion_dice_captures"], 1);
    EXPECT_EQ(j["lesion_pairwise_dice_mean"], Body(built)["pairwise_dice_mean"]);
  }
  for (const Caller* who : {&coordinator_, &device_, &ann_a_}) {
    EXPECT_EQ(Call("GET", "/v1/annotations/agreement", *who).status, 403);
  }
  EXPECT_EQ(Call("GET", "/v1/annotations/agreement", Caller{}).status, 401);
  EXPECT_EQ(Body(Call("GET", "/v1/annotations/agreement?condition=vitiligo", admin_))["captures"],
            0);
  const HttpResponse bad = Call("GET", "/v1/annotations/agreement?condition=eczema", admin_);
  EXPECT_EQ(bad.status, 400);
  EXPECT_NE(Message(bad).find("eczema"), std::string::npos) << bad.body;
}

}  // namespace
}  // namespace skintrack::service
