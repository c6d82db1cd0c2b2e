// The body-site catalogue: every capture names one of these sites. Each site knows its PASI
// region, its VASI region, its share of the body surface area and the rough shape of the body part
// (used by the phantom generator to draw a plausible silhouette).
//
// BSA shares follow the adult rule of nines (head 9 %, each arm 9 %, front and back of the trunk
// 18 % each, each leg 18 %, perineum 1 %), split into non-overlapping sites so that the shares of
// the whole catalogue add up to 100 %. A site's share is the whole circumference of that body part;
// a photo usually shows one side of it, and the scorers extrapolate the imaged lesion fraction to
// the whole site (SCORES.md: involved BSA % = site BSA % x lesion area / site skin area).
// By the VASI convention one hand unit = 1 % BSA, so a site's hand units equal its BSA %.
#pragma once

#include <string>
#include <string_view>
#include <vector>

namespace skintrack {

enum class Condition { kPsoriasis, kVitiligo };

// "psoriasis" / "vitiligo". Parse throws Error(kInvalidArgument) on anything else.
const char* ConditionName(Condition c) noexcept;
Condition ParseCondition(std::string_view text);

// PASI body regions with their weights 0.1 / 0.2 / 0.3 / 0.4 (SCORES.md).
enum class PasiRegion { kHeadNeck, kUpperLimbs, kTrunk, kLowerLimbs };
// VASI regions (Hamzavi 2004 six-region set); kHeadNeck holds the face sites of F-VASI.
enum class VasiRegion { kHeadNeck, kHands, kUpperExtremities, kTrunk, kLowerExtremities, kFeet };
// Silhouette family used to draw phantoms.
enum class BodyShape { kLimb, kTrunk, kFace, kHand, kFoot, kRound };

const char* PasiRegionName(PasiRegion r) noexcept;  // "head_neck", "upper_limbs", ...
const char* VasiRegionName(VasiRegion r) noexcept;  // "head_neck", "hands", ...

struct BodySite {
  std::string name;  // kebab-case id, e.g. "left-forearm"
  PasiRegion pasi_region;
  VasiRegion vasi_region;
  double bsa_percent;  // share of total body surface area, percent
  bool is_face;        // counts toward F-VASI
  BodyShape shape;
};

// All sites, in a fixed order. Shares add up to 100 %.
const std::vector<BodySite>& BodySiteCatalogue();

// The site called `name`; throws Error(kNotFound) listing nothing sensitive, just the bad name.
const BodySite& FindBodySite(std::string_view name);

}  // namespace skintrack
