// What an annotation holds and the workflow it goes through, as typed values independent of
// storage and HTTP: masks per class, boxes, keypoints and image-level labels of one capture by one
// annotator; states draft -> submitted -> reviewed (accepted / corrected / rejected). Every change
// is a new version (the store appends; nothing is overwritten).
#pragma once

#include <map>
#include <opencv2/core.hpp>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "skintrack/core/body_sites.h"

namespace skintrack::annotation {

// Mask and box classes. `exclude` marks what must not count (tattoos, jewellery, background).
enum class MaskClass {
  kPsoriasisPlaque,
  kPsoriasisScale,
  kVitiligoDepigmented,
  kVitiligoEnvelope,
  kSkin,
  kExclude
};
inline constexpr MaskClass kAllMaskClasses[] = {
    MaskClass::kPsoriasisPlaque,  MaskClass::kPsoriasisScale, MaskClass::kVitiligoDepigmented,
    MaskClass::kVitiligoEnvelope, MaskClass::kSkin,           MaskClass::kExclude};

// "psoriasis_plaque", "psoriasis_scale", "vitiligo_depigmented", "vitiligo_envelope", "skin",
// "exclude"; the parser throws Error(kInvalidArgument) listing them.
const char* MaskClassName(MaskClass c) noexcept;
MaskClass ParseMaskClass(std::string_view text);
// The condition whose lesion a class is part of (nullopt for skin and exclude).
std::optional<Condition> ConditionOf(MaskClass c) noexcept;

struct Box {
  MaskClass mask_class = MaskClass::kPsoriasisPlaque;
  double x = 0, y = 0, width = 0, height = 0;  // pixels, top-left origin
};

// A named point, e.g. a stable anatomical landmark (navel, a mole) usable to check registration.
struct Keypoint {
  std::string name;  // [a-z0-9_]{1,40}
  double x = 0, y = 0;
};

// Image-level labels; every field optional (an annotator labels what they can judge).
struct ImageLabels {
  std::optional<Condition> diagnosis;
  std::string subtype;  // psoriasis: plaque, guttate, inverse, pustular, erythrodermic;
                        // vitiligo: non_segmental, segmental, mixed
  std::optional<int> erythema, induration, desquamation;  // PASI signs 0-4
  std::vector<std::string> locations;  // body-site names of the catalogue (body_sites.h)
  std::optional<int> fitzpatrick;      // 1-6
  std::optional<int> monk;             // Monk Skin Tone 1-10
  std::optional<int> image_quality;    // 1 unusable .. 5 excellent
};

struct AnnotationContent {
  std::map<MaskClass, cv::Mat> masks;  // CV_8UC1 0/255 of the capture's size
  std::vector<Box> boxes;
  std::vector<Keypoint> keypoints;
  ImageLabels labels;
};

// Checks `content` against the capture's size: masks CV_8UC1 0/255 of that size, boxes and
// keypoints inside the image, keypoint names well formed and unique, labels in range, a subtype
// that belongs to the diagnosis, known body sites. Throws Error(kInvalidArgument) naming the first
// problem ("masks.psoriasis_scale: ...", "labels.erythema: ...").
void CheckContent(const AnnotationContent& content, cv::Size capture_size);

enum class AnnotationState { kDraft, kSubmitted, kReviewed };
enum class ReviewDecision { kAccepted, kCorrected, kRejected };
const char* AnnotationStateName(AnnotationState s) noexcept;
AnnotationState ParseAnnotationState(std::string_view text);
const char* ReviewDecisionName(ReviewDecision d) noexcept;
ReviewDecision ParseReviewDecision(std::string_view text);

// Tiers of the workflow: 1 labels (annotator), 2 reviews and corrects (clinician), 3 assigns,
// adjudicates and builds the consensus (admin / QA). A higher tier may do what a lower one does.
enum class Tier { kAnnotator = 1, kReviewer = 2, kQa = 3 };

enum class AnnotationAction {
  kSaveDraft,  // the author saves work in progress (a new draft version)
  kSubmit,     // the author hands it in for review
  kReview,     // a reviewer accepts, corrects (with new content) or rejects it
  kReopen,     // the author takes a rejected annotation back to draft
};

// The state an annotation moves to when `action` is taken by someone of `tier`, who is or is not
// its author, on an annotation in state `from` (nullopt: it does not exist yet; only kSaveDraft
// and kSubmit create one). Throws Error(kForbidden) when that person may not take the action and
// Error(kConflict) when the state does not allow it, each saying why. `decision` is the review's
// decision for kReview, and the decision the annotation was reviewed with for kReopen. Reviewing
// one's own annotation is refused: a second opinion must be someone else's.
AnnotationState Transition(std::optional<AnnotationState> from, AnnotationAction action, Tier tier,
                           bool is_author, std::optional<ReviewDecision> decision = std::nullopt);

}  // namespace skintrack::annotation
