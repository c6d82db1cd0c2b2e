// The annotation content rules and the review workflow.
#include "skintrack/annotation/annotation.h"

#include <gtest/gtest.h>

#include "skintrack/core/error.h"

namespace skintrack::annotation {
namespace {

void ExpectInvalid(const AnnotationContent& c, const std::string& named) {
  try {
    CheckContent(c, {100, 80});
    ADD_FAILURE() << "accepted, expected an error naming " << named;
  } catch (const Error& e) {
    EXPECT_EQ(e.code(), ErrorCode::kInvalidArgument);
    EXPECT_NE(std::string(e.what()).find(named), std::string::npos) << e.what();
  }
}

TEST(AnnotationTest, ClassNamesRoundTrip) {
  for (MaskClass c : kAllMaskClasses) EXPECT_EQ(ParseMaskClass(MaskClassName(c)), c);
  EXPECT_THROW(ParseMaskClass("plaque"), Error);
  EXPECT_EQ(ConditionOf(MaskClass::kPsoriasisScale), Condition::kPsoriasis);
  EXPECT_EQ(ConditionOf(MaskClass::kVitiligoEnvelope), Condition::kVitiligo);
  EXPECT_FALSE(ConditionOf(MaskClass::kExclude));
  EXPECT_EQ(ParseReviewDecision("corrected"), ReviewDecision::kCorrected);
  EXPECT_EQ(ParseAnnotationState("submitted"), AnnotationState::kSubmitted);
}

TEST(AnnotationTest, ValidContentPasses) {
  AnnotationContent c;
  c.masks[MaskClass::kPsoriasisPlaque] = cv::Mat::zeros(80, 100, CV_8U);
  c.masks[MaskClass::kExclude] = cv::Mat(80, 100, CV_8U, cv::Scalar(255));
  c.boxes.push_back({MaskClass::kPsoriasisPlaque, 10, 10, 20, 30});
  c.keypoints.push_back({"navel", 50, 40});
  c.labels.diagnosis = Condition::kPsoriasis;
  c.labels.subtype = "guttate";
  c.labels.erythema = 4;
  c.labels.fitzpatrick = 6;
  c.labels.monk = 10;
  c.labels.locations = {"trunk-anterior"};
  EXPECT_NO_THROW(CheckContent(c, {100, 80}));
}

TEST(AnnotationTest, BadContentIsNamed) {
  AnnotationContent c;
  c.masks[MaskClass::kPsoriasisScale] = cv::Mat::zeros(80, 99, CV_8U);
  ExpectInvalid(c, "masks.psoriasis_scale");
  c.masks[MaskClass::kPsoriasisScale] = cv::Mat(80, 100, CV_8U, cv::Scalar(7));
  ExpectInvalid(c, "only 0 and 255");
  c = {};
  c.boxes.push_back({MaskClass::kSkin, 90, 10, 20, 5});
  ExpectInvalid(c, "boxes[0]");
  c = {};
  c.keypoints = {{"navel", 1, 1}, {"navel", 2, 2}};
  ExpectInvalid(c, "keypoints[1]");
  c.keypoints = {{"Navel!", 1, 1}};
  ExpectInvalid(c, "keypoints[0]");
  c = {};
  c.labels.erythema = 5;
  ExpectInvalid(c, "labels.erythema");
  c = {};
  c.labels.subtype = "guttate";
  ExpectInvalid(c, "needs a diagnosis");
  c.labels.diagnosis = Condition::kVitiligo;
  ExpectInvalid(c, "not a subtype of vitiligo");
  c = {};
  c.labels.locations = {"elbow-of-the-moon"};
  ExpectInvalid(c, "unknown body site");
}

TEST(AnnotationTest, WorkflowMovesDraftToSubmittedToReviewed) {
  using A = AnnotationAction;
  using S = AnnotationState;
  EXPECT_EQ(Transition(std::nullopt, A::kSaveDraft, Tier::kAnnotator, true), S::kDraft);
  EXPECT_EQ(Transition(S::kDraft, A::kSaveDraft, Tier::kAnnotator, true), S::kDraft);
  EXPECT_EQ(Transition(S::kDraft, A::kSubmit, Tier::kAnnotator, true), S::kSubmitted);
  EXPECT_EQ(
      Transition(S::kSubmitted, A::kReview, Tier::kReviewer, false, ReviewDecision::kAccepted),
      S::kReviewed);
  EXPECT_EQ(Transition(S::kReviewed, A::kReopen, Tier::kAnnotator, true, ReviewDecision::kRejected),
            S::kDraft);
}

TEST(AnnotationTest, WorkflowRefusesWhatTheRulesForbid) {
  using A = AnnotationAction;
  using S = AnnotationState;
  auto code = [](auto&& f) {
    try {
      f();
    } catch (const Error& e) {
      return e.code();
    }
    return ErrorCode::kInternal;  // not thrown
  };
  // Someone else's draft; a submitted annotation changed; a tier-1 review; a self-review; a
  // review of a draft; a review without a decision; reopening an accepted annotation.
  EXPECT_EQ(code([] { Transition(S::kDraft, A::kSaveDraft, Tier::kQa, false); }),
            ErrorCode::kForbidden);
  EXPECT_EQ(code([] { Transition(S::kSubmitted, A::kSaveDraft, Tier::kAnnotator, true); }),
            ErrorCode::kConflict);
  EXPECT_EQ(code([] {
              Transition(S::kSubmitted, A::kReview, Tier::kAnnotator, false,
                         ReviewDecision::kAccepted);
            }),
            ErrorCode::kForbidden);
  EXPECT_EQ(code([] {
              Transition(S::kSubmitted, A::kReview, Tier::kReviewer, true,
                         ReviewDecision::kAccepted);
            }),
            ErrorCode::kForbidden);
  EXPECT_EQ(code([] {
              Transition(S::kDraft, A::kReview, Tier::kReviewer, false, ReviewDecision::kRejected);
            }),
            ErrorCode::kConflict);
  EXPECT_EQ(code([] { Transition(S::kSubmitted, A::kReview, Tier::kQa, false); }),
            ErrorCode::kConflict);
  EXPECT_EQ(code([] {
              Transition(S::kReviewed, A::kReopen, Tier::kAnnotator, true,
                         ReviewDecision::kAccepted);
            }),
            ErrorCode::kConflict);
}

}  // namespace
}  // namespace skintrack::annotation
