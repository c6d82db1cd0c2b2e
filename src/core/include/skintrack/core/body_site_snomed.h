// SNOMED CT codes of the body-site catalogue (body_sites.h), the one table that the DICOM writer
// (Anatomic Region Sequence) and the FHIR export (Media.bodySite, Observation.bodySite) share.
// Limb, neck and head regions are the codes of DICOM's CID 4031 (Common Anatomic Regions); face,
// scalp, back, buttock, genitals and trunk are SNOMED CT body structures as DICOM's anatomy tables
// use them; laterality is CID 244. PASI regions have their own SNOMED CT body structures.
#pragma once

#include <string>
#include <utility>

#include "skintrack/core/body_sites.h"

namespace skintrack {

inline constexpr const char* kSnomedCtSystem = "http://snomed.info/sct";

// The SNOMED CT code of a site's anatomic region, with its laterality or other modifier when the
// site has one ("" otherwise).
struct BodySiteAnatomy {
  std::string code, meaning;
  std::string modifier_code, modifier_meaning;
  std::string laterality;  // "L", "R" or "" (unpaired)
};

// Every catalogue site has one (a test checks); Error(kNotFound) for a site outside it.
// Thread-safe.
BodySiteAnatomy SnomedSiteAnatomy(const std::string& site);

// The SNOMED CT body structure of a PASI region (head and neck, upper limb, trunk, lower limb):
// {code, meaning}. Never throws.
std::pair<const char*, const char*> SnomedPasiRegion(PasiRegion region) noexcept;

}  // namespace skintrack
