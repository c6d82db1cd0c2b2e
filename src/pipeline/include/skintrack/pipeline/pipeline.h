// Processing of one stored capture, in the order a newcomer should read it (src/process.cpp):
//   decode -> quality gate -> segment -> register to the site's baseline (+ change) ->
//   measure -> score -> store.
// (Segmentation comes before registration because the registration ignores lesions: it aligns
// skin minus lesions of both photos.) Every output is appended to storage as a new result
// version, never overwritten, with the algorithm version and what it was computed from. The
// worker pool (workers.h) runs this for the durable queue; the API runs it for a clinician's
// baseline choice and re-scores after clinician input (Rescore).
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>

#include "skintrack/pipeline/results.h"
#include "skintrack/scoring/quality.h"
#include "skintrack/storage/store.h"

namespace skintrack::pipeline {

class ActiveModels;  // models.h

struct PipelineOptions {
  int workers = 2;  // processing threads
  std::int64_t lease_ms = std::int64_t{10} * 60 * 1000;
  int registration_threads = 1;  // ITK threads per registration (workers x this <= cores)
  scoring::QualityOptions quality;
  // The data directory's active models (models.h); null = none (patient references and the
  // classical segmenter only).
  std::shared_ptr<ActiveModels> models;
  void Check() const;  // throws Error(kInvalidArgument)
};

// What a processing read of its site's baseline before it segmented the capture: the baseline
// and the reviewed lesion mask in force on it (0: none), the inputs of the patient reference and
// of the change. `read` is false when the capture failed the quality gate (nothing depends on
// the baseline then).
struct BaselineAsRead {
  bool read = false;
  std::optional<std::int64_t> baseline_id;
  std::int64_t reviewed_mask_id = 0;
};

// Processes one capture end to end and stores its results. Throws skintrack::Error when the
// capture cannot be processed (the caller records the failure in the queue). When the capture
// is its site's baseline, the captures registered to another one are requeued
// (RequeueSeriesForBaseline); returns how many. A reviewed lesion mask stored while the capture
// was segmented without it stays in force: stored again after the automated one, and the capture
// is processed once more, with it.
// `as_read`, when given, receives what the processing read of the baseline (its last pass).
int ProcessCapture(storage::Store& store, const storage::Capture& capture,
                   const PipelineOptions& options, const std::string& actor,
                   BaselineAsRead* as_read = nullptr);

// After a processed capture's CompleteWork: when its site's baseline, or the reviewed lesion mask
// of that baseline, is no longer what its processing read (`as_read`), the capture is requeued
// (audited with the reason) and 1 returned, else 0. The requeue such a change makes
// (RequeueFollowUps, RequeueSeriesForBaseline) passes over a capture still in processing; this
// check, made after the capture is marked processed, catches every change that came too late for
// it (a change written before the check is seen here, one written after it finds the capture
// processed). The workers call it.
int RequeueIfBaselineChanged(storage::Store& store, const storage::Capture& capture,
                             const PipelineOptions& options, const BaselineAsRead& as_read,
                             const std::string& actor);

// Measures and scores a processed capture again after clinician input (a new assessment or a
// corrected mask): new versions of its measurements and scores. Does nothing for a capture not
// segmented yet (the worker will score it with the input).
void Rescore(storage::Store& store, const storage::Capture& capture, const PipelineOptions& options,
             const std::string& actor);

// After a clinician corrected the lesion mask of `capture`: rescored (Rescore), and when it is
// its site's baseline, the site's processed follow-ups are put back in the durable queue
// (audited `capture.requeue`) so that the workers segment them again with the patient reference
// fitted on the new mask, as new result versions. Returns how many were requeued.
int OnCorrectedMask(storage::Store& store, const storage::Capture& capture,
                    const PipelineOptions& options, const std::string& actor);

// A reviewed lesion mask (a clinician's correction, a consensus) put in force: `append` writes it
// (and what goes with it), then OnCorrectedMask; returns how many follow-ups were requeued. A
// processed capture is leased meanwhile (Repository::LeaseProcessed, kept alive by a heartbeat),
// so that a process that dies after the mask landed loses nothing: the lease runs out (or the next
// start requeues it), a worker processes the capture again with the mask, and a baseline's
// processing requeues the follow-ups not yet segmented with it (RequeueSeriesForBaseline). An
// exception gives the capture back to the queue at once and is rethrown.
int ApplyReviewedMask(storage::Store& store, const storage::Capture& capture,
                      const PipelineOptions& options, const std::string& actor,
                      const std::function<void()>& append);

}  // namespace skintrack::pipeline
