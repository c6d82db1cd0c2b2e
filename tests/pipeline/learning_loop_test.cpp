// The patient reference in the pipeline: a follow-up of a site whose baseline has a corrected
// lesion mask is segmented by the reference segmenter (provenance names it), and a new corrected
// mask on the baseline requeues and re-segments the follow-ups as new versions.
#include <gtest/gtest.h>

#include <nlohmann/json.hpp>
#include <opencv2/imgproc.hpp>

#include "../support/full_disk.h"
#include "phantom_store.h"
#include "skintrack/core/error.h"
#include "skintrack/pipeline/baseline.h"
#include "skintrack/pipeline/segmenter_choice.h"

namespace skintrack::pipeline {
namespace {

using nlohmann::json;
using testing::AppendCorrectedMask;
using testing::DrainQueue;
using testing::SmallSeries;
using testing::StoreSeries;

json LesionProvenance(storage::Store& store, std::int64_t capture) {
  const auto r = LatestResult(store, capture, result::kLesionMask);
  EXPECT_TRUE(r.has_value());
  return r ? json::parse(r->provenance_json) : json();
}

// A phantom series of one patient's left forearm, stored and processed.
struct ProcessedSeries {
  ProcessedSeries(int seed, int visits, const std::string& patient)
      : store(storage::Store::OpenInMemory()),
        series(SmallSeries(seed, visits)),
        ids(StoreSeries(*store, patient, "left-forearm", series)) {
    EXPECT_EQ(DrainQueue(*store, PipelineOptions{}), visits);
  }
  std::unique_ptr<storage::Store> store;
  phantom::Series series;
  std::vector<std::int64_t> ids;
};

TEST(LearningLoop, FollowUpsOfACorrectedBaselineUseThePatientReference) {
  ProcessedSeries processed(31, 3, "P1");
  auto& store = processed.store;
  const phantom::Series& s = processed.series;
  const auto& ids = processed.ids;
  const PipelineOptions options;
  // Without a correction every capture has the classical segmenter, no model.
  for (const std::int64_t id : ids) {
    const json p = LesionProvenance(*store, id);
    EXPECT_EQ(p["segmenter"].get<std::string>().rfind("classical", 0), 0u) << p.dump();
    EXPECT_TRUE(p["model_id"].is_null());
  }
  const auto before =
      store->repository().ResultHistory(ids[1], storage::ResultKind::kMask, result::kLesionMask);
  ASSERT_EQ(before.size(), 1u);

  // The clinician corrects the baseline (the phantom's truth): its follow-ups are requeued...
  AppendCorrectedMask(*store, ids[0], s.visits[0].lesion_mask);
  EXPECT_EQ(OnCorrectedMask(*store, *store->repository().FindCapture(ids[0]), options, "c"), 2);
  const auto audit = store->repository().ListAudit({});
  int requeues = 0;
  for (const auto& a : audit) requeues += a.action == "capture.requeue";
  EXPECT_EQ(requeues, 2);
  // ...and segmented again by the reference fitted on the baseline and its corrected mask.
  EXPECT_EQ(DrainQueue(*store, options), 2);
  const int mask_version =
      LatestResult(*store, ids[0], result::kLesionMask)->version;  // the clinician's
  for (const std::int64_t id : {ids[1], ids[2]}) {
    const json p = LesionProvenance(*store, id);
    EXPECT_EQ(p["segmenter"].get<std::string>().rfind("reference-forest", 0), 0u) << p.dump();
    EXPECT_EQ(p["model_id"], PatientModelId(ids[0], mask_version, ""));
    EXPECT_EQ(p["reference"]["capture_id"].get<std::int64_t>(), ids[0]);
    // The earlier mask is kept; the score names the segmenter too.
    EXPECT_EQ(store->repository()
                  .ResultHistory(id, storage::ResultKind::kMask, result::kLesionMask)
                  .size(),
              2u);
    const auto pasi = LatestResult(*store, id, result::kPasiSite);
    ASSERT_TRUE(pasi);
    EXPECT_EQ(json::parse(pasi->provenance_json)["model_id"], p["model_id"]);
  }
  // The baseline keeps the clinician's mask.
  EXPECT_EQ(LatestResult(*store, ids[0], result::kLesionMask)->source,
            storage::ResultSource::kClinician);
  // The reference learned this patient's lesions: on the follow-ups it is at least as close to
  // the truth as the classical segmenter was (phantoms: both are good, the reference is not worse
  // by more than a little).
  for (int k = 1; k < 3; ++k) {
    const cv::Mat now = *LatestMask(*store, ids[static_cast<std::size_t>(k)], result::kLesionMask);
    EXPECT_GT(testing::Dice(now, s.visits[static_cast<std::size_t>(k)].lesion_mask), 0.8);
  }

  // A second correction is a new mask version: a new patient model id, requeued again.
  cv::Mat eroded;
  cv::erode(s.visits[0].lesion_mask, eroded, cv::Mat());
  AppendCorrectedMask(*store, ids[0], eroded);
  EXPECT_EQ(OnCorrectedMask(*store, *store->repository().FindCapture(ids[0]), options, "c"), 2);
  EXPECT_EQ(DrainQueue(*store, options), 2);
  EXPECT_EQ(LesionProvenance(*store, ids[1])["model_id"],
            PatientModelId(ids[0], mask_version + 1, ""));
  EXPECT_EQ(store->repository()
                .ResultHistory(ids[1], storage::ResultKind::kMask, result::kLesionMask)
                .size(),
            3u);
}

// A clinician's baseline mask with no lesion teaches the reference nothing: the follow-ups are
// segmented by the fallback (here the classical segmenter), and the provenance names no patient
// model, only the reference that was consulted.
TEST(LearningLoop, ABaselineMaskWithoutLesionNamesNoPatientModel) {
  ProcessedSeries processed(33, 2, "P3");
  auto& store = processed.store;
  const auto& ids = processed.ids;
  const PipelineOptions options;
  AppendCorrectedMask(*store, ids[0],
                      cv::Mat::zeros(processed.series.visits[0].lesion_mask.size(), CV_8UC1));
  EXPECT_EQ(OnCorrectedMask(*store, *store->repository().FindCapture(ids[0]), options, "c"), 1);
  EXPECT_EQ(DrainQueue(*store, options), 1);
  const json p = LesionProvenance(*store, ids[1]);
  EXPECT_EQ(p["segmenter"].get<std::string>().rfind("classical", 0), 0u) << p.dump();
  EXPECT_TRUE(p["model_id"].is_null()) << p.dump();
  EXPECT_EQ(p["reference"]["capture_id"].get<std::int64_t>(), ids[0]);
}

TEST(LearningLoop, ACorrectedFollowUpRequeuesNothingAndKeepsItsOwnMask) {
  ProcessedSeries processed(32, 2, "P2");
  auto& store = processed.store;
  const auto& ids = processed.ids;
  const PipelineOptions options;
  AppendCorrectedMask(*store, ids[1], processed.series.visits[1].lesion_mask);
  EXPECT_EQ(OnCorrectedMask(*store, *store->repository().FindCapture(ids[1]), options, "c"), 0);
  const CaptureSegmenter chosen =
      SegmenterFor(*store, *store->repository().FindCapture(ids[1]), options);
  EXPECT_TRUE(chosen.clinician_mask);
  EXPECT_TRUE(chosen.provenance["model_id"].is_null());
}

// The process dies after a clinician's mask on the baseline landed and before its rescore and
// requeue: the capture was leased for the change, so the next start gives it back to the queue, a
// worker scores it with the mask, and its processing requeues the follow-ups not yet segmented
// with that mask.
TEST(LearningLoop, ACorrectionCutShortByACrashIsFinishedByTheWorkers) {
  ProcessedSeries processed(34, 3, "P4");
  auto& store = processed.store;
  const auto& ids = processed.ids;
  const PipelineOptions options;
  const auto score_before = LatestResult(*store, ids[0], result::kPasiSite);
  ASSERT_TRUE(score_before);
  // What ApplyReviewedMask does up to the crash.
  ASSERT_TRUE(store->repository().LeaseProcessed(ids[0], store->EditWorkerId(), 60000, "test"));
  AppendCorrectedMask(*store, ids[0], processed.series.visits[0].lesion_mask);
  const std::int64_t mask_id = LatestResult(*store, ids[0], result::kLesionMask)->id;
  EXPECT_EQ(DrainQueue(*store, options), 0);  // nothing due: the lease is held

  EXPECT_EQ(store->Recover().requeued_captures, 1);  // as the next start on the directory
  EXPECT_EQ(DrainQueue(*store, options), 3);         // the baseline, then its two follow-ups
  const auto score_after = LatestResult(*store, ids[0], result::kPasiSite);
  EXPECT_GT(score_after->id, mask_id);  // scored after (with) the clinician's mask
  EXPECT_EQ(LatestResult(*store, ids[0], result::kLesionMask)->id, mask_id);
  for (const std::int64_t id : {ids[1], ids[2]}) {
    EXPECT_EQ(LesionProvenance(*store, id)["reference"]["mask_result_id"], mask_id);
  }
  // Processed again, the baseline requeues nothing more: every follow-up has the mask.
  const storage::Capture baseline = *store->repository().FindCapture(ids[0]);
  EXPECT_EQ(RequeueSeriesForBaseline(*store, baseline, "worker:test"), 0);
}

TEST(LearningLoop, AReviewedMaskIsAppliedUnderALeaseAndAFailureRequeuesTheCapture) {
  ProcessedSeries processed(35, 2, "P5");
  auto& store = processed.store;
  const auto& ids = processed.ids;
  const PipelineOptions options;
  const storage::Capture baseline = *store->repository().FindCapture(ids[0]);
  const cv::Mat truth = processed.series.visits[0].lesion_mask;
  EXPECT_EQ(ApplyReviewedMask(*store, baseline, options, "clinician:test",
                              [&] {
                                // Leased meanwhile: no worker takes the capture.
                                EXPECT_EQ(store->repository().FindCapture(ids[0])->status,
                                          storage::CaptureStatus::kProcessing);
                                AppendCorrectedMask(*store, ids[0], truth);
                              }),
            1);
  EXPECT_EQ(store->repository().FindCapture(ids[0])->status, storage::CaptureStatus::kProcessed);
  EXPECT_EQ(DrainQueue(*store, options), 1);  // the follow-up only

  // A failure half-way (the mask stored, then an error): the capture goes back to the queue at
  // once, and the error reaches the caller.
  EXPECT_THROW(ApplyReviewedMask(*store, baseline, options, "clinician:test",
                                 [&] {
                                   AppendCorrectedMask(*store, ids[0], truth);
                                   throw Error(ErrorCode::kStorageFull, "no room");
                                 }),
               Error);
  const storage::Capture after = *store->repository().FindCapture(ids[0]);
  EXPECT_EQ(after.status, storage::CaptureStatus::kQueued);
  EXPECT_NE(after.last_error.find("no room"), std::string::npos);
  EXPECT_EQ(DrainQueue(*store, options), 2);  // the baseline, then the follow-up
}

// A clinician's mask that lands while a worker segments the capture (the worker chose the
// segmenter before it came) is not put out of force by the automated mask stored after it: the
// person's mask is stored again as the latest version and the capture is processed with it.
TEST(LearningLoop, AClinicianMaskThatLandsDuringSegmentationStaysInForce) {
  const auto disk = std::make_shared<skintrack::testing::Disk>();
  const auto store = skintrack::testing::OpenFullableStore(disk);
  const phantom::Series series = SmallSeries(36, 1);
  const std::int64_t id = StoreSeries(*store, "P6", "left-forearm", series)[0];
  bool landed = false;
  // The quality verdict, then (after the segmentation) the automated lesion mask: the clinician's
  // lands just before it.
  disk->before_next_result_append = [&](const storage::NewResult&) {
    disk->before_next_result_append = [&](const storage::NewResult& next) {
      EXPECT_EQ(next.name, result::kLesionMask);
      EXPECT_EQ(next.source, storage::ResultSource::kAutomated);
      AppendCorrectedMask(*store, id, series.visits[0].lesion_mask);
      landed = true;
    };
  };
  EXPECT_EQ(DrainQueue(*store, PipelineOptions{}), 1);
  ASSERT_TRUE(landed);
  const auto history =
      store->repository().ResultHistory(id, storage::ResultKind::kMask, result::kLesionMask);
  ASSERT_EQ(history.size(), 3u);  // the clinician's, the automated one, the clinician's again
  EXPECT_EQ(history[0].source, storage::ResultSource::kClinician);
  EXPECT_EQ(history[1].source, storage::ResultSource::kAutomated);
  EXPECT_EQ(history[2].source, storage::ResultSource::kClinician);
  EXPECT_EQ(history[2].blob_sha256, history[0].blob_sha256);
  EXPECT_EQ(json::parse(history[2].inputs_json)["restored_result_id"], history[0].id);
  EXPECT_TRUE(LatestResult(*store, id, result::kSkinMask));  // the pass's skin mask is kept
  // Scored with the person's mask: the processing after the restore chose it.
  const auto pasi = LatestResult(*store, id, result::kPasiSite);
  ASSERT_TRUE(pasi);
  EXPECT_GT(pasi->id, history[2].id);
  EXPECT_EQ(json::parse(pasi->provenance_json)["clinician_mask_result_id"], history[2].id)
      << pasi->provenance_json;
}

// A follow-up in processing when its site's baseline changes is passed over by the requeue that
// change makes (only processed captures are requeued); once marked processed, the worker sees
// that what it read of the baseline is out of date and requeues it. Two such changes: a
// clinician's mask on the baseline, then another capture chosen as the baseline.
TEST(LearningLoop, AFollowUpInProcessingWhenItsBaselineChangesIsProcessedAgain) {
  ProcessedSeries processed(36, 3, "P6");
  auto& store = processed.store;
  const auto& ids = processed.ids;
  storage::Repository& repo = store->repository();
  const PipelineOptions options;
  // Processes ids[2] as a worker does, running `meanwhile` while it is still in processing;
  // returns what the check after its completion requeued.
  const auto process_follow_up = [&](const std::function<void()>& meanwhile) {
    EXPECT_EQ(repo.RequeueProcessed({ids[2]}, "test", "test"), 1);
    const auto item = repo.ClaimWork("worker:test", 60000);
    EXPECT_TRUE(item && item->capture.id == ids[2]);
    BaselineAsRead as_read;
    ProcessCapture(*store, item->capture, options, "worker:test", &as_read);
    meanwhile();
    repo.CompleteWork(ids[2], "worker:test");
    return RequeueIfBaselineChanged(*store, item->capture, options, as_read, "worker:test");
  };
  EXPECT_EQ(process_follow_up([] {}), 0);  // nothing changed: nothing requeued

  std::int64_t mask_id = 0;
  EXPECT_EQ(process_follow_up([&] {
              AppendCorrectedMask(*store, ids[0], processed.series.visits[0].lesion_mask);
              mask_id = LatestResult(*store, ids[0], result::kLesionMask)->id;
              // The baseline's requeue: ids[1] only, ids[2] is in processing.
              EXPECT_EQ(OnCorrectedMask(*store, *repo.FindCapture(ids[0]), options, "c"), 1);
            }),
            1);
  EXPECT_EQ(repo.FindCapture(ids[2])->status, storage::CaptureStatus::kQueued);
  EXPECT_EQ(DrainQueue(*store, options), 2);
  for (const std::int64_t id : {ids[1], ids[2]}) {
    EXPECT_EQ(LesionProvenance(*store, id)["reference"]["mask_result_id"], mask_id);
  }

  EXPECT_EQ(process_follow_up([&] {
              ResultRecord choice;
              choice.name = result::kBaselineChoice;
              choice.source = storage::ResultSource::kClinician;
              choice.algorithm = "clinician-choice";
              choice.value = 1.0;
              Append(*store, ids[1], choice, "clinician:test");
              // Processing the new baseline requeues ids[0] only.
              EXPECT_EQ(ProcessCapture(*store, *repo.FindCapture(ids[1]), options, "c"), 1);
            }),
            1);
  EXPECT_EQ(DrainQueue(*store, options), 2);
  const auto registration = LatestResult(*store, ids[2], result::kToBaseline);
  EXPECT_EQ(json::parse(registration->payload_json)["baseline_capture_id"], ids[1]);
}

}  // namespace
}  // namespace skintrack::pipeline
