#include "skintrack/annotation/annotation.h"

#include <algorithm>
#include <cmath>
#include <set>

#include "skintrack/core/error.h"

namespace skintrack::annotation {
namespace {

[[noreturn]] void Bad(const std::string& where, const std::string& what) {
  throw Error(ErrorCode::kInvalidArgument, where + ": " + what);
}

void CheckRange(const std::optional<int>& v, const char* where, int lo, int hi) {
  if (v && (*v < lo || *v > hi)) {
    Bad(std::string("labels.") + where, "must be " + std::to_string(lo) + ".." +
                                            std::to_string(hi) + ", got " + std::to_string(*v));
  }
}

bool KeypointNameOk(const std::string& name) {
  return !name.empty() && name.size() <= 40 && std::all_of(name.begin(), name.end(), [](char c) {
    return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '_';
  });
}

bool Inside(double x, double y, cv::Size size) {
  return std::isfinite(x) && std::isfinite(y) && x >= 0 && y >= 0 && x <= size.width &&
         y <= size.height;
}

const std::vector<std::string>& SubtypesOf(Condition c) {
  static const std::vector<std::string> kPsoriasis = {"plaque", "guttate", "inverse", "pustular",
                                                      "erythrodermic"};
  static const std::vector<std::string> kVitiligo = {"non_segmental", "segmental", "mixed"};
  return c == Condition::kPsoriasis ? kPsoriasis : kVitiligo;
}

void CheckLabels(const ImageLabels& l) {
  CheckRange(l.erythema, "erythema", 0, 4);
  CheckRange(l.induration, "induration", 0, 4);
  CheckRange(l.desquamation, "desquamation", 0, 4);
  CheckRange(l.fitzpatrick, "fitzpatrick", 1, 6);
  CheckRange(l.monk, "monk", 1, 10);
  CheckRange(l.image_quality, "image_quality", 1, 5);
  if (!l.subtype.empty()) {
    if (!l.diagnosis) Bad("labels.subtype", "needs a diagnosis");
    const auto& allowed = SubtypesOf(*l.diagnosis);
    if (std::find(allowed.begin(), allowed.end(), l.subtype) == allowed.end()) {
      std::string list;
      for (const auto& s : allowed) list += (list.empty() ? "" : ", ") + s;
      Bad("labels.subtype", "'" + l.subtype + "' is not a subtype of " +
                                ConditionName(*l.diagnosis) + " (" + list + ")");
    }
  }
  for (const std::string& site : l.locations) {
    try {
      FindBodySite(site);
    } catch (const Error&) {
      Bad("labels.locations", "unknown body site '" + site + "' (see `skintrack sites`)");
    }
  }
}

[[noreturn]] void Conflict(const std::string& why) { throw Error(ErrorCode::kConflict, why); }
[[noreturn]] void Forbidden(const std::string& why) { throw Error(ErrorCode::kForbidden, why); }

}  // namespace

const char* MaskClassName(MaskClass c) noexcept {
  switch (c) {
    case MaskClass::kPsoriasisPlaque:
      return "psoriasis_plaque";
    case MaskClass::kPsoriasisScale:
      return "psoriasis_scale";
    case MaskClass::kVitiligoDepigmented:
      return "vitiligo_depigmented";
    case MaskClass::kVitiligoEnvelope:
      return "vitiligo_envelope";
    case MaskClass::kSkin:
      return "skin";
    case MaskClass::kExclude:
      return "exclude";
  }
  return "exclude";
}

MaskClass ParseMaskClass(std::string_view text) {
  for (MaskClass c : kAllMaskClasses) {
    if (text == MaskClassName(c)) return c;
  }
  throw Error(ErrorCode::kInvalidArgument,
              "unknown mask class '" + std::string(text) +
                  "' (psoriasis_plaque, psoriasis_scale, vitiligo_depigmented, "
                  "vitiligo_envelope, skin, exclude)");
}

std::optional<Condition> ConditionOf(MaskClass c) noexcept {
  switch (c) {
    case MaskClass::kPsoriasisPlaque:
    case MaskClass::kPsoriasisScale:
      return Condition::kPsoriasis;
    case MaskClass::kVitiligoDepigmented:
    case MaskClass::kVitiligoEnvelope:
      return Condition::kVitiligo;
    case MaskClass::kSkin:
    case MaskClass::kExclude:
      return std::nullopt;
  }
  return std::nullopt;
}

void CheckContent(const AnnotationContent& content, cv::Size capture_size) {
  for (const auto& [cls, mask] : content.masks) {
    const std::string where = std::string("masks.") + MaskClassName(cls);
    if (mask.empty() || mask.type() != CV_8UC1) Bad(where, "must be a single-channel 8-bit mask");
    if (mask.size() != capture_size) {
      Bad(where, "is " + std::to_string(mask.cols) + "x" + std::to_string(mask.rows) +
                     ", the capture is " + std::to_string(capture_size.width) + "x" +
                     std::to_string(capture_size.height));
    }
    if (cv::countNonZero((mask != 0) & (mask != 255)) > 0) Bad(where, "must hold only 0 and 255");
  }
  for (size_t i = 0; i < content.boxes.size(); ++i) {
    const Box& b = content.boxes[i];
    if (!(b.width > 0 && b.height > 0) || !Inside(b.x, b.y, capture_size) ||
        !Inside(b.x + b.width, b.y + b.height, capture_size)) {
      Bad("boxes[" + std::to_string(i) + "]", "must be a non-empty box inside the image");
    }
  }
  std::set<std::string> names;
  for (size_t i = 0; i < content.keypoints.size(); ++i) {
    const Keypoint& k = content.keypoints[i];
    const std::string where = "keypoints[" + std::to_string(i) + "]";
    if (!KeypointNameOk(k.name)) Bad(where, "name must match [a-z0-9_]{1,40}");
    if (!names.insert(k.name).second) Bad(where, "repeats the name '" + k.name + "'");
    if (!Inside(k.x, k.y, capture_size)) Bad(where, "lies outside the image");
  }
  CheckLabels(content.labels);
}

const char* AnnotationStateName(AnnotationState s) noexcept {
  switch (s) {
    case AnnotationState::kDraft:
      return "draft";
    case AnnotationState::kSubmitted:
      return "submitted";
    case AnnotationState::kReviewed:
      return "reviewed";
  }
  return "draft";
}

AnnotationState ParseAnnotationState(std::string_view text) {
  for (auto s :
       {AnnotationState::kDraft, AnnotationState::kSubmitted, AnnotationState::kReviewed}) {
    if (text == AnnotationStateName(s)) return s;
  }
  throw Error(ErrorCode::kInvalidArgument,
              "unknown annotation state '" + std::string(text) + "' (draft, submitted, reviewed)");
}

const char* ReviewDecisionName(ReviewDecision d) noexcept {
  switch (d) {
    case ReviewDecision::kAccepted:
      return "accepted";
    case ReviewDecision::kCorrected:
      return "corrected";
    case ReviewDecision::kRejected:
      return "rejected";
  }
  return "rejected";
}

ReviewDecision ParseReviewDecision(std::string_view text) {
  for (auto d :
       {ReviewDecision::kAccepted, ReviewDecision::kCorrected, ReviewDecision::kRejected}) {
    if (text == ReviewDecisionName(d)) return d;
  }
  throw Error(ErrorCode::kInvalidArgument, "unknown review decision '" + std::string(text) +
                                               "' (accepted, corrected, rejected)");
}

AnnotationState Transition(std::optional<AnnotationState> from, AnnotationAction action, Tier tier,
                           bool is_author, std::optional<ReviewDecision> decision) {
  switch (action) {
    case AnnotationAction::kSaveDraft:
    case AnnotationAction::kSubmit: {
      if (from && !is_author) Forbidden("only its author may change an annotation before review");
      if (from && *from != AnnotationState::kDraft) {
        Conflict(std::string("the annotation is ") + AnnotationStateName(*from) +
                 ": only a draft can be changed or submitted");
      }
      return action == AnnotationAction::kSubmit ? AnnotationState::kSubmitted
                                                 : AnnotationState::kDraft;
    }
    case AnnotationAction::kReview: {
      if (tier < Tier::kReviewer) Forbidden("reviewing needs a clinician (tier 2) or above");
      if (is_author) Forbidden("an annotation is reviewed by someone other than its author");
      if (!decision) Conflict("a review needs a decision: accepted, corrected or rejected");
      if (!from || *from != AnnotationState::kSubmitted) {
        Conflict(std::string("only a submitted annotation can be reviewed; this one is ") +
                 (from ? AnnotationStateName(*from) : "absent"));
      }
      return AnnotationState::kReviewed;
    }
    case AnnotationAction::kReopen: {
      if (!is_author) Forbidden("only its author may take an annotation back to draft");
      if (!from || *from != AnnotationState::kReviewed || decision != ReviewDecision::kRejected) {
        Conflict("only a rejected annotation can be taken back to draft");
      }
      return AnnotationState::kDraft;
    }
  }
  Conflict("unknown action");
}

}  // namespace skintrack::annotation
