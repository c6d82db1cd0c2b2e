// The annotation workflow on an in-memory store: each step and each refusal (nothing written on
// any error), the blind rule, optimistic concurrency, and the consensus: stored as the lesion
// mask with source consensus beside the automated one, the agreement figures, the scores'
// provenance `consensus`, and the segmenter choice and training using it like a clinician's mask.
#include <gtest/gtest.h>

#include <nlohmann/json.hpp>
#include <opencv2/imgproc.hpp>

#include "../support/full_disk.h"
#include "phantom_store.h"
#include "skintrack/core/error.h"
#include "skintrack/pipeline/annotations.h"
#include "skintrack/pipeline/model_training.h"
#include "skintrack/pipeline/segmenter_choice.h"

namespace skintrack::pipeline {
namespace {

using annotation::AnnotationAction;
using annotation::AnnotationContent;
using annotation::AnnotationState;
using annotation::MaskClass;
using annotation::ReviewDecision;
using nlohmann::json;
using storage::Role;

const Annotator kAnn1{"token:ann1", Role::kAnnotator};
const Annotator kAnn2{"token:ann2", Role::kAnnotator};
const Annotator kDoc{"token:doc1", Role::kClinician};
const Annotator kDoc2{"token:doc2", Role::kClinician};
const Annotator kAdmin{"token:admin1", Role::kAdmin};

// The code of the Error `f` throws; fails the test when it throws none.
template <typename F>
ErrorCode CodeOf(F f) {
  try {
    f();
  } catch (const Error& e) {
    return e.code();
  }
  ADD_FAILURE() << "no error";
  return ErrorCode::kInternal;
}

class AnnotationWorkflow : public ::testing::Test {
 protected:
  void SetUp() override {
    store_ = storage::Store::OpenInMemory();
    series_ = testing::SmallSeries(41, 2, {160, 120});
    ids_ = testing::StoreSeries(*store_, "P1", "left-forearm", series_);
  }

  storage::Capture Capture(std::size_t k = 0) {
    return *store_->repository().FindCapture(ids_.at(k));
  }
  cv::Size Size() const { return series_.visits[0].image.size(); }

  // A lesion mask: the phantom's truth, grown (> 0) or shrunk (< 0) by `grow` pixels.
  AnnotationContent Lesion(int grow, std::size_t k = 0) const {
    cv::Mat mask = series_.visits[k].lesion_mask.clone();
    const cv::Mat kernel = cv::getStructuringElement(cv::MORPH_ELLIPSE, {3, 3});
    for (int i = 0; i < std::abs(grow); ++i) {
      if (grow > 0) cv::dilate(mask, mask, kernel);
      if (grow < 0) cv::erode(mask, mask, kernel);
    }
    AnnotationContent c;
    c.masks[MaskClass::kPsoriasisPlaque] = mask;
    c.labels.diagnosis = Condition::kPsoriasis;
    return c;
  }

  storage::AnnotationVersion Submit(const Annotator& who, const AnnotationContent& content,
                                    std::size_t k = 0) {
    return ChangeOwnAnnotation(*store_, Capture(k), who, AnnotationAction::kSubmit, content, "", 0);
  }

  std::size_t Versions(std::int64_t annotation_id) {
    return store_->repository().AnnotationHistory(annotation_id).size();
  }
  std::size_t AuditCount() { return store_->repository().ListAudit({}).size(); }

  std::unique_ptr<storage::Store> store_;
  phantom::Series series_;
  std::vector<std::int64_t> ids_;
};

TEST(AnnotationTiers, RolesMapToTiers) {
  EXPECT_EQ(TierOf(Role::kAnnotator), annotation::Tier::kAnnotator);
  EXPECT_EQ(TierOf(Role::kClinician), annotation::Tier::kReviewer);
  EXPECT_EQ(TierOf(Role::kAdmin), annotation::Tier::kQa);
  EXPECT_EQ(CodeOf([] { TierOf(Role::kDevice); }), ErrorCode::kForbidden);
  EXPECT_EQ(CodeOf([] { TierOf(Role::kCoordinator); }), ErrorCode::kForbidden);
}

TEST_F(AnnotationWorkflow, AuthorSavesThenSubmitsAsNewVersions) {
  const auto v1 = ChangeOwnAnnotation(*store_, Capture(), kAnn1, AnnotationAction::kSaveDraft,
                                      Lesion(0), "first pass", 0);
  EXPECT_EQ(v1.version, 1);
  EXPECT_EQ(v1.state, AnnotationState::kDraft);
  EXPECT_EQ(v1.author, kAnn1.author);
  EXPECT_EQ(v1.author_role, Role::kAnnotator);
  const auto v2 = ChangeOwnAnnotation(*store_, Capture(), kAnn1, AnnotationAction::kSaveDraft,
                                      Lesion(0), "unchanged", 1);
  EXPECT_EQ(v2.version, 2);
  EXPECT_EQ(v2.annotation_id, v1.annotation_id);
  EXPECT_EQ(v2.content.sha256, v1.content.sha256);  // canonical bytes: the same blob
  const auto v3 =
      ChangeOwnAnnotation(*store_, Capture(), kAnn1, AnnotationAction::kSubmit, Lesion(1), "", 2);
  EXPECT_EQ(v3.state, AnnotationState::kSubmitted);
  EXPECT_NE(v3.content.sha256, v1.content.sha256);
  const AnnotationContent back = LoadAnnotationContent(*store_, Capture(), v3);
  EXPECT_EQ(cv::countNonZero(back.masks.at(MaskClass::kPsoriasisPlaque) !=
                             Lesion(1).masks.at(MaskClass::kPsoriasisPlaque)),
            0);
  EXPECT_EQ(back.labels.diagnosis, Condition::kPsoriasis);
  EXPECT_EQ(Versions(v1.annotation_id), 3U);
}

TEST_F(AnnotationWorkflow, RefusedChangesWriteNothing) {
  const auto v1 = ChangeOwnAnnotation(*store_, Capture(), kAnn1, AnnotationAction::kSaveDraft,
                                      Lesion(0), "", 0);
  const std::size_t audit = AuditCount();
  const storage::Capture c = Capture();
  AnnotationContent wrong_size;
  wrong_size.masks[MaskClass::kPsoriasisPlaque] = cv::Mat::zeros(10, 10, CV_8UC1);
  try {
    ChangeOwnAnnotation(*store_, c, kAnn1, AnnotationAction::kSaveDraft, wrong_size, "", 1);
    ADD_FAILURE() << "a mask of another size was saved";
  } catch (const Error& e) {
    EXPECT_EQ(e.code(), ErrorCode::kInvalidArgument);
    EXPECT_EQ(std::string(e.what()).rfind("masks.psoriasis_plaque:", 0), 0U) << e.what();
  }
  // No content to save or submit; a review through the author's door; a stale version; a
  // device token; a reopen of a draft.
  EXPECT_EQ(
      CodeOf([&] { ChangeOwnAnnotation(*store_, c, kAnn1, AnnotationAction::kSubmit, {}, "", 1); }),
      ErrorCode::kInvalidArgument);
  EXPECT_EQ(CodeOf([&] {
              ChangeOwnAnnotation(*store_, c, kAnn1, AnnotationAction::kReview, Lesion(0), "", 1);
            }),
            ErrorCode::kInvalidArgument);
  EXPECT_EQ(CodeOf([&] {
              ChangeOwnAnnotation(*store_, c, kAnn1, AnnotationAction::kSubmit, Lesion(0), "", 0);
            }),
            ErrorCode::kConflict);
  EXPECT_EQ(CodeOf([&] {
              ChangeOwnAnnotation(*store_, c, {"token:dev", Role::kDevice},
                                  AnnotationAction::kSaveDraft, Lesion(0), "", 0);
            }),
            ErrorCode::kForbidden);
  EXPECT_EQ(
      CodeOf([&] { ChangeOwnAnnotation(*store_, c, kAnn1, AnnotationAction::kReopen, {}, "", 1); }),
      ErrorCode::kConflict);
  EXPECT_EQ(Versions(v1.annotation_id), 1U);
  EXPECT_EQ(AuditCount(), audit);
  EXPECT_FALSE(store_->repository().FindAnnotation(c.id, "token:dev").has_value());
  // A submitted annotation is no longer its author's to change.
  ChangeOwnAnnotation(*store_, c, kAnn1, AnnotationAction::kSubmit, Lesion(0), "", 1);
  EXPECT_EQ(CodeOf([&] {
              ChangeOwnAnnotation(*store_, c, kAnn1, AnnotationAction::kSaveDraft, Lesion(1), "",
                                  2);
            }),
            ErrorCode::kConflict);
  EXPECT_EQ(Versions(v1.annotation_id), 2U);
}

TEST_F(AnnotationWorkflow, ReviewsAcceptCorrectAndReject) {
  const storage::Capture c = Capture();
  const auto a1 = Submit(kAnn1, Lesion(0));
  const auto a2 = Submit(kAnn2, Lesion(2));
  const auto own = Submit(kDoc, Lesion(1));
  const std::size_t audit = AuditCount();
  // Refusals: a tier-1 review, a self-review, content with an accept, a correction without
  // content, a stale version, an annotation of another capture.
  EXPECT_EQ(CodeOf([&] {
              ReviewAnnotation(*store_, c, a1.annotation_id, kAnn2, ReviewDecision::kAccepted, {},
                               "", 1);
            }),
            ErrorCode::kForbidden);
  EXPECT_EQ(CodeOf([&] {
              ReviewAnnotation(*store_, c, own.annotation_id, kDoc, ReviewDecision::kAccepted, {},
                               "", 1);
            }),
            ErrorCode::kForbidden);
  EXPECT_EQ(CodeOf([&] {
              ReviewAnnotation(*store_, c, a1.annotation_id, kDoc, ReviewDecision::kAccepted,
                               Lesion(1), "", 1);
            }),
            ErrorCode::kInvalidArgument);
  EXPECT_EQ(CodeOf([&] {
              ReviewAnnotation(*store_, c, a1.annotation_id, kDoc, ReviewDecision::kCorrected, {},
                               "", 1);
            }),
            ErrorCode::kInvalidArgument);
  EXPECT_EQ(CodeOf([&] {
              ReviewAnnotation(*store_, c, a1.annotation_id, kDoc, ReviewDecision::kAccepted, {},
                               "", 2);
            }),
            ErrorCode::kConflict);
  EXPECT_EQ(CodeOf([&] {
              ReviewAnnotation(*store_, Capture(1), a1.annotation_id, kDoc,
                               ReviewDecision::kAccepted, {}, "", 1);
            }),
            ErrorCode::kNotFound);
  EXPECT_EQ(AuditCount(), audit);
  EXPECT_EQ(Versions(a1.annotation_id), 1U);

  const auto accepted =
      ReviewAnnotation(*store_, c, a1.annotation_id, kDoc, ReviewDecision::kAccepted, {}, "ok", 1);
  EXPECT_EQ(accepted.state, AnnotationState::kReviewed);
  EXPECT_EQ(accepted.decision, ReviewDecision::kAccepted);
  EXPECT_EQ(accepted.author, kAnn1.author);  // still the annotator's annotation...
  EXPECT_EQ(accepted.actor, kDoc.author);    // ...reviewed by the clinician
  EXPECT_EQ(accepted.content.sha256, a1.content.sha256);
  // Reviewed once: a second review of the same version is refused.
  EXPECT_EQ(CodeOf([&] {
              ReviewAnnotation(*store_, c, a1.annotation_id, kAdmin, ReviewDecision::kRejected, {},
                               "", 2);
            }),
            ErrorCode::kConflict);
  const auto corrected = ReviewAnnotation(*store_, c, a2.annotation_id, kAdmin,
                                          ReviewDecision::kCorrected, Lesion(0), "tighter", 1);
  EXPECT_EQ(corrected.decision, ReviewDecision::kCorrected);
  EXPECT_EQ(corrected.content.sha256, a1.content.sha256);  // the corrected content, Lesion(0)
  const auto rejected = ReviewAnnotation(*store_, c, own.annotation_id, kDoc2,
                                         ReviewDecision::kRejected, {}, "missed one", 1);
  EXPECT_EQ(rejected.decision, ReviewDecision::kRejected);
}

TEST_F(AnnotationWorkflow, ARejectedAnnotationIsReopenedByItsAuthor) {
  const storage::Capture c = Capture();
  const auto a = Submit(kAnn1, Lesion(1));
  ReviewAnnotation(*store_, c, a.annotation_id, kDoc, ReviewDecision::kRejected, {}, "", 1);
  // Only its author reopens; content absent keeps the last content.
  EXPECT_EQ(CodeOf([&] {
              ReviewAnnotation(*store_, c, a.annotation_id, kDoc, ReviewDecision::kAccepted, {}, "",
                               2);
            }),
            ErrorCode::kConflict);
  const auto draft =
      ChangeOwnAnnotation(*store_, c, kAnn1, AnnotationAction::kReopen, {}, "fixing", 2);
  EXPECT_EQ(draft.state, AnnotationState::kDraft);
  EXPECT_FALSE(draft.decision.has_value());
  EXPECT_EQ(draft.content.sha256, a.content.sha256);
  const auto resubmitted =
      ChangeOwnAnnotation(*store_, c, kAnn1, AnnotationAction::kSubmit, Lesion(0), "", 3);
  EXPECT_EQ(resubmitted.version, 4);
  // An accepted annotation is not reopened.
  ReviewAnnotation(*store_, c, a.annotation_id, kDoc, ReviewDecision::kAccepted, {}, "", 4);
  EXPECT_EQ(
      CodeOf([&] { ChangeOwnAnnotation(*store_, c, kAnn1, AnnotationAction::kReopen, {}, "", 5); }),
      ErrorCode::kConflict);
}

TEST_F(AnnotationWorkflow, TwoChangesFollowingOneVersionCannotBothWin) {
  const storage::Capture c = Capture();
  const auto a = Submit(kAnn1, Lesion(0));
  // Two reviewers read version 1; the second to answer is refused, not lost.
  ReviewAnnotation(*store_, c, a.annotation_id, kDoc, ReviewDecision::kAccepted, {}, "", 1);
  EXPECT_EQ(CodeOf([&] {
              ReviewAnnotation(*store_, c, a.annotation_id, kDoc2, ReviewDecision::kCorrected,
                               Lesion(1), "", 1);
            }),
            ErrorCode::kConflict);
  // The same for an author's two tabs saving after version 1.
  ChangeOwnAnnotation(*store_, c, kAnn2, AnnotationAction::kSaveDraft, Lesion(0), "", 0);
  ChangeOwnAnnotation(*store_, c, kAnn2, AnnotationAction::kSaveDraft, Lesion(1), "tab 1", 1);
  EXPECT_EQ(CodeOf([&] {
              ChangeOwnAnnotation(*store_, c, kAnn2, AnnotationAction::kSaveDraft, Lesion(2),
                                  "tab 2", 1);
            }),
            ErrorCode::kConflict);
  EXPECT_EQ(store_->repository().FindAnnotation(c.id, kAnn2.author)->note, "tab 1");
}

TEST_F(AnnotationWorkflow, BlindAnnotation) {
  const storage::Capture c = Capture();
  const auto draft =
      ChangeOwnAnnotation(*store_, c, kAnn1, AnnotationAction::kSaveDraft, Lesion(0), "", 0);
  const auto submitted = Submit(kAnn2, Lesion(0));
  const auto reviewed = ReviewAnnotation(*store_, c, submitted.annotation_id, kDoc,
                                         ReviewDecision::kAccepted, {}, "", 1);
  const Annotator coordinator{"token:coord", Role::kCoordinator};
  EXPECT_TRUE(MaySee(kAnn1, draft));  // one's own work, always
  EXPECT_TRUE(MaySee(kAnn2, reviewed));
  for (const Annotator& who : {kAnn2, kDoc, kAdmin, coordinator}) {
    EXPECT_FALSE(MaySee(who, draft)) << who.author;  // nobody sees another's draft
  }
  for (const auto& v : {submitted, reviewed}) {
    EXPECT_FALSE(MaySee(kAnn1, v));  // a tier-1 annotator never sees another's work
    EXPECT_FALSE(MaySee(coordinator, v));
    EXPECT_TRUE(MaySee(kDoc, v));
    EXPECT_TRUE(MaySee(kAdmin, v));
  }
}

TEST_F(AnnotationWorkflow, WhatCountsForAConsensus) {
  storage::AnnotationVersion v;
  v.state = AnnotationState::kDraft;
  EXPECT_FALSE(CountsForConsensus(v));
  v.state = AnnotationState::kSubmitted;
  EXPECT_TRUE(CountsForConsensus(v));
  v.state = AnnotationState::kReviewed;
  for (const auto& [decision, counts] :
       {std::pair{ReviewDecision::kAccepted, true}, std::pair{ReviewDecision::kCorrected, true},
        std::pair{ReviewDecision::kRejected, false}}) {
    v.decision = decision;
    EXPECT_EQ(CountsForConsensus(v), counts);
  }
}

TEST_F(AnnotationWorkflow, ConsensusNeedsTwoAnnotationsThatCount) {
  const storage::Capture c = Capture();
  const PipelineOptions options;
  ASSERT_EQ(testing::DrainQueue(*store_, options), 2);
  const auto automated = LatestResult(*store_, c.id, result::kLesionMask);
  Submit(kAnn1, Lesion(0));
  ChangeOwnAnnotation(*store_, c, kAnn2, AnnotationAction::kSaveDraft, Lesion(1), "", 0);
  const auto rejected = Submit(kDoc, Lesion(2));
  ReviewAnnotation(*store_, c, rejected.annotation_id, kAdmin, ReviewDecision::kRejected, {}, "",
                   1);
  AnnotationContent labels_only;  // counts, but has no lesion mask
  labels_only.labels.erythema = 2;
  Submit(kDoc2, labels_only);
  try {
    BuildCaptureConsensus(*store_, c, scoring::ConsensusMethod::kMajority, kAdmin, options);
    ADD_FAILURE() << "a consensus of one annotation";
  } catch (const Error& e) {
    EXPECT_EQ(e.code(), ErrorCode::kConflict);
    EXPECT_NE(std::string(e.what()).find("has 1"), std::string::npos) << e.what();
  }
  EXPECT_EQ(CodeOf([&] {
              BuildCaptureConsensus(*store_, c, scoring::ConsensusMethod::kMajority, kAnn1,
                                    options);
            }),
            ErrorCode::kForbidden);
  // Nothing written: the automated mask is still the latest, no agreement figures.
  EXPECT_EQ(LatestResult(*store_, c.id, result::kLesionMask)->id, automated->id);
  EXPECT_FALSE(LatestResult(*store_, c.id, result::kAnnotationAgreement).has_value());
}

TEST_F(AnnotationWorkflow, ConsensusIsStoredScoredAndUsedLikeAClinicianMask) {
  const storage::Capture c = Capture();
  const PipelineOptions options;
  ASSERT_EQ(testing::DrainQueue(*store_, options), 2);
  const auto automated = LatestResult(*store_, c.id, result::kLesionMask);
  const auto a1 = Submit(kAnn1, Lesion(-2));
  const auto a2 = Submit(kAnn2, Lesion(3));
  const auto a3 = Submit(kDoc, Lesion(0));
  const auto a2_accepted =
      ReviewAnnotation(*store_, c, a2.annotation_id, kAdmin, ReviewDecision::kAccepted, {}, "", 1);
  ChangeOwnAnnotation(*store_, c, kDoc2, AnnotationAction::kSaveDraft, Lesion(6), "", 0);

  const CaptureConsensus out =
      BuildCaptureConsensus(*store_, c, scoring::ConsensusMethod::kMajority, kAdmin, options);
  ASSERT_EQ(out.inputs.size(), 3U);  // the draft does not count
  EXPECT_EQ(out.inputs[0].id, a1.id);
  EXPECT_EQ(out.inputs[1].id, a2_accepted.id);
  EXPECT_EQ(out.inputs[2].id, a3.id);
  EXPECT_EQ(out.requeued_captures, 1);  // the capture is the baseline: its follow-up learns

  // The mask: majority of the three, counted here pixel by pixel.
  std::vector<cv::Mat> masks;
  for (int grow : {-2, 3, 0}) masks.push_back(Lesion(grow).masks.at(MaskClass::kPsoriasisPlaque));
  cv::Mat votes = cv::Mat::zeros(Size(), CV_32S);
  for (const cv::Mat& m : masks) cv::add(votes, m / 255, votes, cv::noArray(), CV_32S);
  const cv::Mat expected = votes >= 2;
  const auto stored = LatestResult(*store_, c.id, result::kLesionMask);
  ASSERT_TRUE(stored);
  EXPECT_EQ(stored->id, out.mask.id);
  EXPECT_EQ(stored->source, storage::ResultSource::kConsensus);
  EXPECT_EQ(stored->algorithm, "consensus-majority");
  EXPECT_EQ(json::parse(stored->inputs_json)["annotation_version_ids"],
            json::array({a1.id, a2_accepted.id, a3.id}));
  const cv::Mat consensus = *LatestMask(*store_, c.id, result::kLesionMask);
  EXPECT_EQ(cv::countNonZero(consensus != expected), 0);
  // The automated mask stays beside it.
  const auto history =
      store_->repository().ResultHistory(c.id, storage::ResultKind::kMask, result::kLesionMask);
  ASSERT_GE(history.size(), 2U);
  EXPECT_EQ(history.front().id, automated->id);
  EXPECT_EQ(history.front().source, storage::ResultSource::kAutomated);

  // The agreement figures.
  const auto agreement = LatestResult(*store_, c.id, result::kAnnotationAgreement);
  ASSERT_TRUE(agreement);
  EXPECT_EQ(agreement->kind, storage::ResultKind::kMeasurement);
  EXPECT_EQ(agreement->source, storage::ResultSource::kConsensus);
  const json figures = json::parse(agreement->payload_json);
  EXPECT_EQ(figures["method"], "majority");
  EXPECT_EQ(figures["annotators"], 3);
  EXPECT_EQ(figures["mask_result_id"], out.mask.id);
  const double pairwise =
      (scoring::MaskDice(masks[0], masks[1]) + scoring::MaskDice(masks[0], masks[2]) +
       scoring::MaskDice(masks[1], masks[2])) /
      3;
  EXPECT_NEAR(figures["pairwise_dice_mean"].get<double>(), pairwise, 1e-9);
  EXPECT_NEAR(figures["consensus_fraction"].get<double>(),
              static_cast<double>(cv::countNonZero(expected)) / expected.total(), 1e-9);
  ASSERT_EQ(figures["per_annotator"].size(), 3U);
  const json& first = figures["per_annotator"][0];
  EXPECT_EQ(first["annotation_id"], a1.annotation_id);
  EXPECT_EQ(first["version_id"], a1.id);
  EXPECT_EQ(first["author"], kAnn1.author);
  EXPECT_NEAR(first["dice_vs_consensus"].get<double>(), scoring::MaskDice(masks[0], expected),
              1e-9);
  EXPECT_NEAR(first["dice_vs_others"].get<double>(),
              scoring::MaskDice(masks[0], masks[1] | masks[2]), 1e-9);  // majority of 2: union
  for (const char* key : {"sensitivity", "specificity"}) EXPECT_TRUE(first[key].is_number());

  // Rescored: the scores' area provenance is consensus.
  const auto pasi = LatestResult(*store_, c.id, result::kPasiSite);
  ASSERT_TRUE(pasi);
  EXPECT_EQ(pasi->source, storage::ResultSource::kConsensus);
  EXPECT_EQ(json::parse(pasi->provenance_json)["area"], "consensus");
  EXPECT_EQ(json::parse(pasi->payload_json)["pasi"]["regions"][0]["area_provenance"], "consensus");
  const auto measurements = LatestResult(*store_, c.id, result::kMeasurements);
  EXPECT_EQ(measurements->source, storage::ResultSource::kConsensus);
  EXPECT_EQ(json::parse(measurements->provenance_json)["mask_source"], "consensus");

  // The segmenter choice keeps the consensus in force, and training takes it as a photo.
  const CaptureSegmenter chosen = SegmenterFor(*store_, c, options);
  EXPECT_TRUE(chosen.clinician_mask);
  EXPECT_EQ(chosen.provenance["mask_source"], "consensus");
  const auto photos = CorrectedPhotos(store_->repository(), store_->blobs(), Condition::kPsoriasis);
  ASSERT_EQ(photos.size(), 1U);
  EXPECT_EQ(photos[0].capture_id, c.id);
  // The follow-up is segmented again by the patient reference fitted on the consensus.
  ASSERT_EQ(testing::DrainQueue(*store_, options), 1);
  const json follow_up =
      json::parse(LatestResult(*store_, ids_[1], result::kLesionMask)->provenance_json);
  EXPECT_EQ(follow_up["reference"]["mask_result_id"], out.mask.id) << follow_up.dump();
}

// The disk fills between the consensus mask and its agreement figures (as a process stopping
// there would leave it): the change fails, the capture goes back to the queue, and the worker
// that processes it stores the figures, naming the mask in force, once.
TEST_F(AnnotationWorkflow, AConsensusCutShortGetsItsAgreementFromTheWorker) {
  const auto disk = std::make_shared<skintrack::testing::Disk>();
  store_ = skintrack::testing::OpenFullableStore(disk);
  ids_ = testing::StoreSeries(*store_, "P1", "left-forearm", series_);
  const storage::Capture c = Capture();
  const PipelineOptions options;
  ASSERT_EQ(testing::DrainQueue(*store_, options), 2);
  Submit(kAnn1, Lesion(-2));
  Submit(kAnn2, Lesion(2));
  disk->before_next_result_append = [&](const storage::NewResult& mask) {
    EXPECT_EQ(mask.name, result::kLesionMask);
    disk->before_next_result_append = [](const storage::NewResult& agreement) {
      EXPECT_EQ(agreement.name, result::kAnnotationAgreement);
      skintrack::testing::Disk::Refuse("skintrack.db-wal");
    };
  };
  EXPECT_EQ(CodeOf([&] {
              BuildCaptureConsensus(*store_, c, scoring::ConsensusMethod::kMajority, kDoc, options);
            }),
            ErrorCode::kStorageFull);
  const auto mask = LatestResult(*store_, c.id, result::kLesionMask);
  ASSERT_EQ(mask->source, storage::ResultSource::kConsensus);
  EXPECT_FALSE(LatestResult(*store_, c.id, result::kAnnotationAgreement));
  EXPECT_EQ(store_->repository().FindCapture(c.id)->status, storage::CaptureStatus::kQueued);

  ASSERT_GE(testing::DrainQueue(*store_, options), 1);
  const auto agreement = LatestResult(*store_, c.id, result::kAnnotationAgreement);
  ASSERT_TRUE(agreement);
  const json figures = json::parse(agreement->payload_json);
  EXPECT_EQ(figures["mask_result_id"], mask->id);
  EXPECT_EQ(json::parse(agreement->inputs_json)["annotation_version_ids"],
            json::parse(mask->inputs_json)["annotation_version_ids"]);
  EXPECT_EQ(figures["method"], "majority");
  EXPECT_NEAR(figures["pairwise_dice_mean"].get<double>(),
              scoring::MaskDice(Lesion(-2).masks.at(MaskClass::kPsoriasisPlaque),
                                Lesion(2).masks.at(MaskClass::kPsoriasisPlaque)),
              1e-9);
  // Complete now: processing the capture again stores no second copy.
  EXPECT_FALSE(CompleteConsensusAgreement(*store_, c, "worker:test"));
  EXPECT_EQ(LatestResult(*store_, c.id, result::kAnnotationAgreement)->id, agreement->id);
}

TEST_F(AnnotationWorkflow, StapleConsensusNamesItsMethod) {
  const storage::Capture c = Capture();
  Submit(kAnn1, Lesion(-1));
  Submit(kAnn2, Lesion(1));
  const CaptureConsensus out =
      BuildCaptureConsensus(*store_, c, scoring::ConsensusMethod::kStaple, kDoc, PipelineOptions{});
  EXPECT_EQ(out.mask.algorithm, "consensus-staple");
  EXPECT_EQ(out.agreement.algorithm, "consensus-staple");
  EXPECT_EQ(json::parse(out.agreement.payload_json)["method"], "staple");
  EXPECT_EQ(out.requeued_captures, 0);  // not processed yet: no baseline, nothing requeued
}

}  // namespace
}  // namespace skintrack::pipeline
