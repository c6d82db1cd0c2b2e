#include "skintrack/core/body_sites.h"

#include "skintrack/core/error.h"

namespace skintrack {

const char* ConditionName(Condition c) noexcept {
  return c == Condition::kPsoriasis ? "psoriasis" : "vitiligo";
}

Condition ParseCondition(std::string_view text) {
  if (text == "psoriasis") return Condition::kPsoriasis;
  if (text == "vitiligo") return Condition::kVitiligo;
  throw Error(ErrorCode::kInvalidArgument,
              "unknown condition '" + std::string(text) + "' (expected psoriasis or vitiligo)");
}

const char* PasiRegionName(PasiRegion r) noexcept {
  switch (r) {
    case PasiRegion::kHeadNeck:
      return "head_neck";
    case PasiRegion::kUpperLimbs:
      return "upper_limbs";
    case PasiRegion::kTrunk:
      return "trunk";
    case PasiRegion::kLowerLimbs:
      return "lower_limbs";
  }
  return "unknown";
}

const char* VasiRegionName(VasiRegion r) noexcept {
  switch (r) {
    case VasiRegion::kHeadNeck:
      return "head_neck";
    case VasiRegion::kHands:
      return "hands";
    case VasiRegion::kUpperExtremities:
      return "upper_extremities";
    case VasiRegion::kTrunk:
      return "trunk";
    case VasiRegion::kLowerExtremities:
      return "lower_extremities";
    case VasiRegion::kFeet:
      return "feet";
  }
  return "unknown";
}

namespace {

std::vector<BodySite> MakeCatalogue() {
  using P = PasiRegion;
  using V = VasiRegion;
  using S = BodyShape;
  std::vector<BodySite> sites = {
      // Head and neck: 9 %. The face is about 3 % BSA (SCORES.md, F-VASI range 0-3).
      {"face", P::kHeadNeck, V::kHeadNeck, 3.0, true, S::kFace},
      {"scalp", P::kHeadNeck, V::kHeadNeck, 4.0, false, S::kRound},
      {"neck", P::kHeadNeck, V::kHeadNeck, 2.0, false, S::kLimb},
      // Trunk: 36 % plus the perineum (PASI counts axillae and genitals with the trunk).
      {"trunk-anterior", P::kTrunk, V::kTrunk, 18.0, false, S::kTrunk},
      {"trunk-posterior", P::kTrunk, V::kTrunk, 18.0, false, S::kTrunk},
      {"genital", P::kTrunk, V::kTrunk, 1.0, false, S::kRound},
  };
  for (const char* side : {"left", "right"}) {
    const std::string s = side;
    // Each arm 9 %: upper arm 4, forearm (with elbow) 3, hand 2.
    sites.push_back({s + "-upper-arm", P::kUpperLimbs, V::kUpperExtremities, 4.0, false, S::kLimb});
    sites.push_back({s + "-forearm", P::kUpperLimbs, V::kUpperExtremities, 3.0, false, S::kLimb});
    sites.push_back({s + "-hand", P::kUpperLimbs, V::kHands, 2.0, false, S::kHand});
    // Each leg 18 % (PASI puts the buttocks with the lower limbs): buttock 2, thigh 7,
    // lower leg (with knee) 6, foot 3.
    sites.push_back({s + "-buttock", P::kLowerLimbs, V::kLowerExtremities, 2.0, false, S::kRound});
    sites.push_back({s + "-thigh", P::kLowerLimbs, V::kLowerExtremities, 7.0, false, S::kLimb});
    sites.push_back({s + "-lower-leg", P::kLowerLimbs, V::kLowerExtremities, 6.0, false, S::kLimb});
    sites.push_back({s + "-foot", P::kLowerLimbs, V::kFeet, 3.0, false, S::kFoot});
  }
  return sites;
}

}  // namespace

const std::vector<BodySite>& BodySiteCatalogue() {
  static const std::vector<BodySite> catalogue = MakeCatalogue();
  return catalogue;
}

const BodySite& FindBodySite(std::string_view name) {
  for (const BodySite& site : BodySiteCatalogue()) {
    if (site.name == name) return site;
  }
  throw Error(ErrorCode::kNotFound, "unknown body site '" + std::string(name) +
                                        "' (see `skintrack sites` for the catalogue)");
}

}  // namespace skintrack
