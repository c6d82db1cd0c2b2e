#include "skintrack/pipeline/annotations.h"

#include <opencv2/core.hpp>

#include "skintrack/annotation/document.h"
#include "skintrack/core/error.h"
#include "skintrack/pipeline/annotation_agreement.h"
#include "skintrack/pipeline/results.h"

namespace skintrack::pipeline {

using annotation::AnnotationAction;
using annotation::AnnotationState;
using annotation::ReviewDecision;
using nlohmann::json;

namespace {

cv::Size SizeOf(const storage::Capture& capture) { return {capture.width, capture.height}; }

// The version a change follows must be the latest one (the repository checks it again inside
// its transaction; checking here first refuses a stale change before any blob is stored).
void CheckExpectedVersion(int latest, int expected) {
  if (latest == expected) return;
  throw Error(ErrorCode::kConflict,
              latest == 0 ? "the annotation does not exist yet: expected_version must be 0"
                          : "the annotation is at version " + std::to_string(latest) + ", not " +
                                std::to_string(expected) + ": reload it and try again");
}

const char* StepName(AnnotationState to) {
  return to == AnnotationState::kDraft ? "save" : "submit";
}

// The lesion class of a capture's condition: what its consensus and its scores are about.
annotation::MaskClass LesionClassOf(Condition condition) {
  return condition == Condition::kPsoriasis ? annotation::MaskClass::kPsoriasisPlaque
                                            : annotation::MaskClass::kVitiligoDepigmented;
}

// `labels[i]` are the image-level labels of `c.inputs[i]`.
json AgreementJson(const CaptureConsensus& c, const std::vector<annotation::ImageLabels>& labels) {
  json per_annotator = json::array();
  std::vector<std::string> authors;
  for (std::size_t i = 0; i < c.inputs.size(); ++i) {
    const scoring::AnnotatorAgreement& a = c.report.per_annotator[i];
    per_annotator.push_back({{"annotation_id", c.inputs[i].annotation_id},
                             {"version_id", c.inputs[i].id},
                             {"author", c.inputs[i].author},
                             {"dice_vs_consensus", a.dice_vs_consensus},
                             {"dice_vs_others", a.dice_vs_others},
                             {"sensitivity", a.sensitivity},
                             {"specificity", a.specificity}});
    authors.push_back(c.inputs[i].author);
  }
  return {{"method", scoring::ConsensusMethodName(c.method)},
          {"annotators", c.inputs.size()},
          {"pairwise_dice_mean", c.report.pairwise_dice_mean},
          {"consensus_fraction", c.report.consensus_fraction},
          {"per_annotator", per_annotator},
          {"labels", CaptureLabelAgreementJson(authors, labels)}};
}

}  // namespace

annotation::Tier TierOf(storage::Role role) {
  switch (role) {
    case storage::Role::kAnnotator:
      return annotation::Tier::kAnnotator;
    case storage::Role::kClinician:
      return annotation::Tier::kReviewer;
    case storage::Role::kAdmin:
      return annotation::Tier::kQa;
    case storage::Role::kDevice:
    case storage::Role::kCoordinator:
      break;
  }
  throw Error(ErrorCode::kForbidden,
              std::string("a ") + storage::RoleName(role) + " token takes no part in annotation");
}

bool MaySee(const Annotator& who, const storage::AnnotationVersion& version) {
  if (version.author == who.author) return true;
  if (version.state == AnnotationState::kDraft) return false;
  // Only reviewers and QA see others' work; annotators, devices and coordinators never do.
  return who.role == storage::Role::kClinician || who.role == storage::Role::kAdmin;
}

storage::AnnotationVersion ChangeOwnAnnotation(
    storage::Store& store, const storage::Capture& capture, const Annotator& who,
    AnnotationAction action, const std::optional<annotation::AnnotationContent>& content,
    const std::string& note, int expected_version) {
  if (action == AnnotationAction::kReview) {
    throw Error(ErrorCode::kInvalidArgument, "a review is ReviewAnnotation's, not the author's");
  }
  const annotation::Tier tier = TierOf(who.role);
  const auto latest = store.repository().FindAnnotation(capture.id, who.author);
  const std::optional<AnnotationState> from =
      latest ? std::optional<AnnotationState>(latest->state) : std::nullopt;
  const AnnotationState to = annotation::Transition(from, action, tier, /*is_author=*/true,
                                                    latest ? latest->decision : std::nullopt);
  CheckExpectedVersion(latest ? latest->version : 0, expected_version);
  std::string bytes;
  if (content) {
    bytes = annotation::EncodeDocument(*content, SizeOf(capture));
  } else if (action == AnnotationAction::kReopen) {
    bytes = store.ReadBlob(latest->content.sha256);  // the same blob: no new space
  } else {
    throw Error(ErrorCode::kInvalidArgument,
                std::string("content: a ") + StepName(to) + " needs the annotation's content");
  }
  storage::NewAnnotationVersion v;
  v.capture_id = capture.id;
  v.author = who.author;
  v.author_role = latest ? latest->author_role : who.role;
  v.state = to;
  v.note = note;
  v.expected_version = expected_version;
  return store.AppendAnnotationVersion(v, bytes, who.author);
}

storage::AnnotationVersion ReviewAnnotation(
    storage::Store& store, const storage::Capture& capture, std::int64_t annotation_id,
    const Annotator& reviewer, ReviewDecision decision,
    const std::optional<annotation::AnnotationContent>& corrected, const std::string& note,
    int expected_version) {
  const annotation::Tier tier = TierOf(reviewer.role);
  const auto history = store.repository().AnnotationHistory(annotation_id);
  if (history.empty() || history.back().capture_id != capture.id) {
    throw Error(ErrorCode::kNotFound, "capture " + std::to_string(capture.id) +
                                          " has no annotation " + std::to_string(annotation_id));
  }
  const storage::AnnotationVersion& latest = history.back();
  annotation::Transition(latest.state, AnnotationAction::kReview, tier,
                         reviewer.author == latest.author, decision);
  CheckExpectedVersion(latest.version, expected_version);
  const bool corrects = decision == ReviewDecision::kCorrected;
  if (corrects != corrected.has_value()) {
    throw Error(ErrorCode::kInvalidArgument,
                corrects ? "content: a correction needs the corrected content"
                         : std::string("content: an ") + annotation::ReviewDecisionName(decision) +
                               " review keeps the submitted content and takes none");
  }
  const std::string bytes = corrects ? annotation::EncodeDocument(*corrected, SizeOf(capture))
                                     : store.ReadBlob(latest.content.sha256);
  storage::NewAnnotationVersion v;
  v.capture_id = capture.id;
  v.author = latest.author;
  v.author_role = latest.author_role;
  v.state = AnnotationState::kReviewed;
  v.decision = decision;
  v.note = note;
  v.expected_version = expected_version;
  return store.AppendAnnotationVersion(v, bytes, reviewer.author);
}

annotation::AnnotationContent LoadAnnotationContent(storage::Store& store,
                                                    const storage::Capture& capture,
                                                    const storage::AnnotationVersion& version) {
  if (version.capture_id != capture.id) {
    throw Error(ErrorCode::kInvalidArgument, "annotation version " + std::to_string(version.id) +
                                                 " is not of capture " +
                                                 std::to_string(capture.id));
  }
  const std::string bytes = store.ReadBlob(version.content.sha256);
  try {
    return annotation::DecodeDocument(bytes, SizeOf(capture));
  } catch (const Error& e) {
    // Stored documents were checked when saved: one that no longer reads is damage, not input.
    throw Error(ErrorCode::kInternal,
                "stored annotation version " + std::to_string(version.id) + ": " + e.what());
  }
}

bool CountsForConsensus(const storage::AnnotationVersion& version) {
  if (version.state == AnnotationState::kSubmitted) return true;
  return version.state == AnnotationState::kReviewed &&
         (version.decision == ReviewDecision::kAccepted ||
          version.decision == ReviewDecision::kCorrected);
}

namespace {

// The consensus of `versions` (each with a lesion mask of the capture's condition) and the
// image-level labels of each, in `versions` order: what the mask and the agreement are computed
// from, the same figures for the same versions.
struct ConsensusOfVersions {
  CaptureConsensus consensus;
  std::vector<annotation::ImageLabels> labels;
};

ConsensusOfVersions ConsensusOf(storage::Store& store, const storage::Capture& capture,
                                const std::vector<storage::AnnotationVersion>& versions,
                                scoring::ConsensusMethod method) {
  const annotation::MaskClass lesion = LesionClassOf(capture.condition);
  ConsensusOfVersions out;
  out.consensus.method = method;
  std::vector<cv::Mat> masks;
  for (const storage::AnnotationVersion& v : versions) {
    annotation::AnnotationContent content = LoadAnnotationContent(store, capture, v);
    const auto mask = content.masks.find(lesion);
    if (mask == content.masks.end()) continue;
    masks.push_back(mask->second);
    out.labels.push_back(std::move(content.labels));
    out.consensus.inputs.push_back(v);
  }
  if (masks.size() < 2) {
    throw Error(ErrorCode::kConflict,
                std::string("a consensus needs at least 2 submitted or accepted / corrected "
                            "annotations with a ") +
                    annotation::MaskClassName(lesion) + " mask; capture " +
                    std::to_string(capture.id) + " has " + std::to_string(masks.size()));
  }
  out.consensus.report = scoring::BuildConsensus(masks, method);
  return out;
}

json ConsensusInputsJson(const storage::Capture& capture, const CaptureConsensus& c) {
  json inputs = {{"capture_id", capture.id},
                 {"mask_class", annotation::MaskClassName(LesionClassOf(capture.condition))},
                 {"annotation_version_ids", json::array()}};
  for (const storage::AnnotationVersion& v : c.inputs) {
    inputs["annotation_version_ids"].push_back(v.id);
  }
  return inputs;
}

std::string ConsensusAlgorithm(scoring::ConsensusMethod method) {
  return std::string("consensus-") + scoring::ConsensusMethodName(method);
}

// The agreement figures of the consensus stored as mask result `mask_result_id`.
ResultRecord AgreementRecord(const storage::Capture& capture, const ConsensusOfVersions& of,
                             std::int64_t mask_result_id) {
  ResultRecord agreement;
  agreement.kind = storage::ResultKind::kMeasurement;
  agreement.name = result::kAnnotationAgreement;
  agreement.source = storage::ResultSource::kConsensus;
  agreement.algorithm = ConsensusAlgorithm(of.consensus.method);
  agreement.value = of.consensus.report.pairwise_dice_mean;
  agreement.payload = AgreementJson(of.consensus, of.labels);
  agreement.payload["mask_result_id"] = mask_result_id;
  agreement.inputs = ConsensusInputsJson(capture, of.consensus);
  agreement.inputs["mask_result_id"] = mask_result_id;
  return agreement;
}

}  // namespace

CaptureConsensus BuildCaptureConsensus(storage::Store& store, const storage::Capture& capture,
                                       scoring::ConsensusMethod method, const Annotator& who,
                                       const PipelineOptions& options) {
  if (TierOf(who.role) < annotation::Tier::kReviewer) {
    throw Error(ErrorCode::kForbidden, "building a consensus needs a clinician (tier 2) or above");
  }
  std::vector<storage::AnnotationVersion> counting;
  for (const storage::AnnotationVersion& v : store.repository().LatestAnnotations(capture.id)) {
    if (CountsForConsensus(v)) counting.push_back(v);
  }
  // Everything is computed before the first write: an error here leaves nothing behind.
  const ConsensusOfVersions of = ConsensusOf(store, capture, counting, method);
  CaptureConsensus out = of.consensus;
  ResultRecord mask;
  mask.kind = storage::ResultKind::kMask;
  mask.name = result::kLesionMask;
  mask.source = storage::ResultSource::kConsensus;
  mask.algorithm = ConsensusAlgorithm(method);
  mask.payload = {{"pixels", cv::countNonZero(out.report.mask)},
                  {"method", scoring::ConsensusMethodName(method)},
                  {"annotators", out.inputs.size()}};
  mask.inputs = ConsensusInputsJson(capture, out);
  mask.provenance = {{"area", "consensus"}};
  mask.blob = EncodePng(out.report.mask);
  // Should the process stop between the two appends, CompleteConsensusAgreement (run when a
  // worker processes the capture: the lease gives it back to the queue) stores the agreement.
  const auto append = [&] {
    out.mask = Append(store, capture.id, mask, who.author);
    out.agreement =
        Append(store, capture.id, AgreementRecord(capture, of, out.mask.id), who.author);
  };
  // Scored again with the consensus like a clinician's correction; a baseline's teaches its
  // site's follow-ups, which are requeued.
  out.requeued_captures = ApplyReviewedMask(store, capture, options, who.author, append);
  return out;
}

std::optional<storage::Result> CompleteConsensusAgreement(storage::Store& store,
                                                          const storage::Capture& capture,
                                                          const std::string& actor) {
  const auto mask = LatestResult(store, capture.id, result::kLesionMask);
  if (!mask || mask->source != storage::ResultSource::kConsensus) return std::nullopt;
  const auto agreement = LatestResult(store, capture.id, result::kAnnotationAgreement);
  if (agreement &&
      json::parse(agreement->inputs_json).value("mask_result_id", std::int64_t{0}) == mask->id) {
    return std::nullopt;
  }
  const json inputs = json::parse(mask->inputs_json);
  const json payload = json::parse(mask->payload_json);
  std::vector<storage::AnnotationVersion> versions;
  for (const json& id : inputs.at("annotation_version_ids")) {
    const auto v = store.repository().FindAnnotationVersion(id.get<std::int64_t>());
    if (!v) {
      throw Error(ErrorCode::kInternal, "consensus mask " + std::to_string(mask->id) +
                                            " names annotation version " + id.dump() +
                                            ", which is not stored");
    }
    versions.push_back(*v);
  }
  const ConsensusOfVersions of =
      ConsensusOf(store, capture, versions,
                  scoring::ParseConsensusMethod(payload.at("method").get<std::string>()));
  return Append(store, capture.id, AgreementRecord(capture, of, mask->id), actor);
}

}  // namespace skintrack::pipeline
