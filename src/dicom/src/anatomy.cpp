// SNOMED CT codes of the body-site catalogue (body_sites.h). Limb, neck and head regions are the
// codes of DICOM's CID 4031 (Common Anatomic Regions); face, scalp, back, buttock, genitals and
// trunk are SNOMED CT body structures as DICOM's anatomy tables use them; laterality is CID 244.
#include <string>

#include "skintrack/core/body_sites.h"
#include "skintrack/core/error.h"
#include "skintrack/dicom/dicom.h"

namespace skintrack::dicom {
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

Anatomy SiteAnatomy(const std::string& site) {
  FindBodySite(site);  // throws Error(kNotFound) for a name outside the catalogue
  Anatomy a;
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

}  // namespace skintrack::dicom
