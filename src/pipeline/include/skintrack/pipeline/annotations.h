// The annotation workflow on a Store (docs/annotation.md): authors save and submit their
// annotations, reviewers accept / correct / reject them, tier 3 assigns captures and builds the
// consensus that scoring then uses (a lesion mask with source `consensus`, beside the automated
// one). The service's routes and the CLI's `annotations import|export` call these functions; the
// rules themselves (who may take which step: annotation::Transition; what content is valid:
// annotation::CheckContent; the consensus: scoring::BuildConsensus) live in their own homes.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "skintrack/annotation/annotation.h"
#include "skintrack/pipeline/pipeline.h"
#include "skintrack/scoring/consensus.h"
#include "skintrack/storage/store.h"

namespace skintrack::pipeline {

// Someone taking a step of the workflow.
struct Annotator {
  std::string author;  // "token:<id>", "coco:<name>", "cli"
  storage::Role role = storage::Role::kAnnotator;
};

// annotator: tier 1; clinician: tier 2; admin: tier 3. Error(kForbidden) for device and
// coordinator tokens, which take no part in annotation.
annotation::Tier TierOf(storage::Role role);

// Blind annotation: an author always sees their own annotation; nobody sees someone else's
// draft; tier 2+ see other authors' submitted and reviewed annotations; a tier-1 annotator never
// sees another annotator's work.
bool MaySee(const Annotator& who, const storage::AnnotationVersion& version);

// The author saves (kSaveDraft) or submits (kSubmit) their own annotation of `capture`, or takes
// a rejected one back to draft (kReopen, content then optional: absent keeps the last content).
// `expected_version`: the version the author last read (0 for a new annotation); a stale one is
// Error(kConflict). Content is checked against the capture's size first (Error(kInvalidArgument)
// naming the field); nothing is written on any error.
storage::AnnotationVersion ChangeOwnAnnotation(
    storage::Store& store, const storage::Capture& capture, const Annotator& who,
    annotation::AnnotationAction action,
    const std::optional<annotation::AnnotationContent>& content, const std::string& note,
    int expected_version);

// A reviewer's decision on a submitted annotation of `capture`. kCorrected needs `corrected`
// content (it becomes the annotation's content); kAccepted / kRejected keep the submitted content
// and take none. Error(kNotFound) for an annotation that is not of this capture.
storage::AnnotationVersion ReviewAnnotation(
    storage::Store& store, const storage::Capture& capture, std::int64_t annotation_id,
    const Annotator& reviewer, annotation::ReviewDecision decision,
    const std::optional<annotation::AnnotationContent>& corrected, const std::string& note,
    int expected_version);

// The content of a stored version, decoded and checked against the capture's size.
annotation::AnnotationContent LoadAnnotationContent(storage::Store& store,
                                                    const storage::Capture& capture,
                                                    const storage::AnnotationVersion& version);

// Which annotations count for a consensus: the latest version of each annotation that is
// submitted, or reviewed as accepted or corrected (drafts and rejected ones do not count).
bool CountsForConsensus(const storage::AnnotationVersion& version);

// The consensus of a capture's lesion masks (the class of the capture's condition: psoriasis
// plaque, vitiligo depigmented) and the agreement figures, as stored.
struct CaptureConsensus {
  scoring::ConsensusMethod method = scoring::ConsensusMethod::kMajority;
  std::vector<storage::AnnotationVersion> inputs;  // the versions it was built from
  scoring::ConsensusReport report;                 // per_annotator in `inputs` order
  storage::Result mask;                            // kMask "lesion", source kConsensus
  storage::Result agreement;  // kMeasurement "annotation_agreement", source kConsensus
  int requeued_captures = 0;  // follow-ups requeued when the capture is its site's baseline
};

// Builds the consensus of `capture` from the annotations that count (at least 2 with a lesion
// mask of the capture's condition, else Error(kConflict) saying how many there are), stores it as
// the capture's lesion mask with source `consensus` plus the agreement figures (inputs name the
// annotation version ids), and rescores the capture so its scores carry provenance `consensus`.
// `who` must be tier 2+ (Error(kForbidden)).
CaptureConsensus BuildCaptureConsensus(storage::Store& store, const storage::Capture& capture,
                                       scoring::ConsensusMethod method, const Annotator& who,
                                       const PipelineOptions& options);

// When the capture's lesion mask in force is a consensus whose agreement figures were not stored
// (the process stopped, or the disk filled, between the two appends of BuildCaptureConsensus),
// computes them again from the annotation versions the mask names (the same figures) and stores
// them; returns the stored result, or nothing when there was nothing to complete. A worker calls
// it whenever it processes a capture with a reviewed mask in force.
std::optional<storage::Result> CompleteConsensusAgreement(storage::Store& store,
                                                          const storage::Capture& capture,
                                                          const std::string& actor);

}  // namespace skintrack::pipeline
