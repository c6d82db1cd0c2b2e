// The SNOMED CT table of body_site_snomed.h (moved here from src/dicom so that DICOM and FHIR
// code sites alike).
#include "skintrack/core/body_site_snomed.h"

#include <string>

#include "skintrack/core/error.h"

namespace skintrack {
namespace {

struct Region {
  const char* part;  // the catalogue name without "left-" / "right-"
  const char* code;
  const char* meaning;
};

constexpr Region kRegions[] = {
    {"face", "89545001", "Face"},
    {"scalp", "41695006", "Scalp"},
    {"neck", "45048000", "Neck"},
    {"trunk-anterior", "22943007", "Trunk"},
    {"trunk-posterior", "77568009", "Back"},
    {"genital", "71934003", "Genital structure"},
    {"upper-arm", "40983000", "Upper arm"},
    {"forearm", "14975008", "Forearm"},
    {"hand", "85562004", "Hand"},
    {"buttock", "46862004", "Buttock"},
    {"thigh", "68367000", "Thigh"},
    {"lower-leg", "30021000", "Lower leg"},
    {"foot", "56459004", "Foot"},
};

bool StartsWith(const std::string& s, const std::string& prefix) {
  return s.compare(0, prefix.size(), prefix) == 0;
}

}  // namespace

BodySiteAnatomy SnomedSiteAnatomy(const std::string& site) {
  FindBodySite(site);  // throws Error(kNotFound) for a name outside the catalogue
  BodySiteAnatomy a;
  std::string part = site;
  if (StartsWith(site, "left-")) {
    part = site.substr(5);
    a.modifier_code = "7771000";
    a.modifier_meaning = "Left";
    a.laterality = "L";
  } else if (StartsWith(site, "right-")) {
    part = site.substr(6);
    a.modifier_code = "24028007";
    a.modifier_meaning = "Right";
    a.laterality = "R";
  } else if (site == "trunk-anterior") {
    a.modifier_code = "255549009";
    a.modifier_meaning = "Anterior";
  }
  for (const Region& r : kRegions) {
    if (part == r.part) {
      a.code = r.code;
      a.meaning = r.meaning;
      return a;
    }
  }
  throw Error(ErrorCode::kInternal, "body site '" + site + "' has no SNOMED CT code");
}

std::pair<const char*, const char*> SnomedPasiRegion(PasiRegion region) noexcept {
  switch (region) {
    case PasiRegion::kHeadNeck:
      return {"774007", "Head and neck"};
    case PasiRegion::kUpperLimbs:
      return {"53120007", "Upper limb"};
    case PasiRegion::kTrunk:
      return {"22943007", "Trunk"};
    case PasiRegion::kLowerLimbs:
      return {"61685007", "Lower limb"};
  }
  return {"", ""};
}

}  // namespace skintrack
