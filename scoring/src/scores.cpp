#include "skintrack/scoring/scores.h"

#include <algorithm>
#include <array>
#include <cmath>
#include <map>
#include <set>

#include "skintrack/core/error.h"

namespace skintrack::scoring {
namespace {

// Floating-point slack for threshold comparisons of derived percentages.
constexpr double kTolerance = 1e-9;

void CheckPercent(double p, const std::string& what) {
  if (!std::isfinite(p) || p < 0.0 || p > 100.0) {
    throw Error(ErrorCode::kInvalidArgument,
                what + " must be a percentage in [0, 100], got " + std::to_string(p));
  }
}

void CheckFraction(double f, const std::string& what) {
  if (!std::isfinite(f) || f < 0.0 || f > 1.0) {
    throw Error(ErrorCode::kInvalidArgument,
                what + " must be a fraction in [0, 1], got " + std::to_string(f));
  }
}

void CheckScoreValue(double v, const std::string& what) {
  if (!std::isfinite(v) || v < 0.0) {
    throw Error(ErrorCode::kInvalidArgument,
                what + " must be a finite non-negative number, got " + std::to_string(v));
  }
}

}  // namespace

const char* ProvenanceName(Provenance p) noexcept {
  switch (p) {
    case Provenance::kMeasured:
      return "measured";
    case Provenance::kClinician:
      return "clinician";
    case Provenance::kImputed:
      return "imputed";
    case Provenance::kConsensus:
      return "consensus";
  }
  return "unknown";
}

Provenance ParseProvenance(const std::string& text) {
  if (text == "measured") return Provenance::kMeasured;
  if (text == "clinician") return Provenance::kClinician;
  if (text == "imputed") return Provenance::kImputed;
  if (text == "consensus") return Provenance::kConsensus;
  throw Error(ErrorCode::kInvalidArgument, "unknown provenance '" + text +
                                               "' (expected measured, clinician, imputed or "
                                               "consensus)");
}

void SeverityGrade::Check() const {
  if (grade < 0 || grade > 4) {
    throw Error(ErrorCode::kInvalidArgument,
                "a severity grade must be 0-4, got " + std::to_string(grade));
  }
  if (continuous && !std::isfinite(*continuous)) {
    throw Error(ErrorCode::kInvalidArgument, "a severity measurement must be finite");
  }
}

int PasiAreaScore(double p) {
  CheckPercent(p, "involved area");
  if (p == 0.0) return 0;
  if (p < 10.0) return 1;
  if (p < 30.0) return 2;
  if (p < 50.0) return 3;
  if (p < 70.0) return 4;
  if (p < 90.0) return 5;
  return 6;
}

double ContinuousAreaScore(double p) {
  CheckPercent(p, "involved area");
  static constexpr std::array<double, 6> kX = {0, 10, 30, 50, 70, 90};
  static constexpr std::array<double, 6> kY = {0, 2, 3, 4, 5, 6};
  if (p >= 90.0) return 6.0;
  for (size_t i = 1; i < kX.size(); ++i) {
    if (p <= kX[i]) {
      return kY[i - 1] + (kY[i] - kY[i - 1]) * (p - kX[i - 1]) / (kX[i] - kX[i - 1]);
    }
  }
  return 6.0;
}

double PasiRegionWeight(PasiRegion region) noexcept {
  switch (region) {
    case PasiRegion::kHeadNeck:
      return 0.1;
    case PasiRegion::kUpperLimbs:
      return 0.2;
    case PasiRegion::kTrunk:
      return 0.3;
    case PasiRegion::kLowerLimbs:
      return 0.4;
  }
  return 0.0;
}

void PasiRegionInput::Check() const {
  CheckPercent(area_percent, std::string("area of region ") + PasiRegionName(region));
  erythema.Check();
  induration.Check();
  desquamation.Check();
}

PasiResult ComputePasi(const std::vector<PasiRegionInput>& regions) {
  std::set<PasiRegion> seen;
  for (const PasiRegionInput& r : regions) {
    r.Check();
    if (!seen.insert(r.region).second) {
      throw Error(ErrorCode::kInvalidArgument,
                  std::string("PASI region given twice: ") + PasiRegionName(r.region));
    }
  }
  PasiResult result;
  for (PasiRegion region : {PasiRegion::kHeadNeck, PasiRegion::kUpperLimbs, PasiRegion::kTrunk,
                            PasiRegion::kLowerLimbs}) {
    auto it = std::find_if(regions.begin(), regions.end(),
                           [&](const PasiRegionInput& r) { return r.region == region; });
    if (it == regions.end()) {
      result.missing.push_back(region);
      continue;
    }
    PasiRegionScore s;
    s.input = *it;
    s.area_score = PasiAreaScore(it->area_percent);
    s.area_score_continuous = ContinuousAreaScore(it->area_percent);
    s.weight = PasiRegionWeight(region);
    const int severity = it->erythema.grade + it->induration.grade + it->desquamation.grade;
    s.contribution = s.weight * severity * s.area_score;
    s.contribution_continuous = s.weight * severity * s.area_score_continuous;
    result.pasi += s.contribution;
    result.pasi_continuous += s.contribution_continuous;
    for (const SeverityGrade* g : {&it->erythema, &it->induration, &it->desquamation}) {
      result.any_imputed = result.any_imputed || g->provenance == Provenance::kImputed;
    }
    result.any_imputed = result.any_imputed || it->area_provenance == Provenance::kImputed;
    result.regions.push_back(s);
  }
  result.complete = result.missing.empty();
  return result;
}

double SiteInvolvedBsaPercent(const BodySite& site, double lesion_fraction) {
  CheckFraction(lesion_fraction, "lesion fraction of site " + site.name);
  return site.bsa_percent * lesion_fraction;
}

const char* BsaSeverity(double bsa_percent) noexcept {
  if (bsa_percent < 3.0) return "mild";
  if (bsa_percent <= 10.0) return "moderate";
  return "severe";
}

PsoriasisVisitScore ScorePsoriasisVisit(const std::vector<PsoriasisSiteMeasurement>& sites) {
  struct RegionAccumulator {
    double involved_bsa = 0;
    double imaged_bsa = 0;
    double best_involved = -1;
    const PsoriasisSiteMeasurement* representative = nullptr;
    bool any_imputed_area = false;
    bool all_clinician_area = true;
    bool all_reviewed_area = true;  // clinician or consensus
  };
  std::map<PasiRegion, RegionAccumulator> acc;
  std::set<std::string> seen;
  PsoriasisVisitScore out;
  for (const PsoriasisSiteMeasurement& m : sites) {
    const BodySite& site = FindBodySite(m.site);
    if (!seen.insert(site.name).second) {
      throw Error(ErrorCode::kInvalidArgument, "site given twice: " + site.name);
    }
    m.erythema.Check();
    m.induration.Check();
    m.desquamation.Check();
    const double involved = SiteInvolvedBsaPercent(site, m.lesion_fraction);
    RegionAccumulator& a = acc[site.pasi_region];
    a.involved_bsa += involved;
    a.imaged_bsa += site.bsa_percent;
    a.any_imputed_area = a.any_imputed_area || m.area_provenance == Provenance::kImputed;
    a.all_clinician_area = a.all_clinician_area && m.area_provenance == Provenance::kClinician;
    a.all_reviewed_area = a.all_reviewed_area && (m.area_provenance == Provenance::kClinician ||
                                                  m.area_provenance == Provenance::kConsensus);
    // Ties keep the first site so that the result does not depend on floating-point noise.
    if (involved > a.best_involved) {
      a.best_involved = involved;
      a.representative = &m;
    }
    out.bsa_percent += involved;
  }
  std::vector<PasiRegionInput> inputs;
  for (const auto& [region, a] : acc) {
    PasiRegionInput in;
    in.region = region;
    in.area_percent = std::clamp(100.0 * a.involved_bsa / a.imaged_bsa, 0.0, 100.0);
    // The weakest source decides: any imputed area makes the region's imputed; it is the
    // clinician's only when every site's area was entered or annotated by one, and a consensus
    // when every site's was a person's mask, one at least a consensus.
    in.area_provenance = a.any_imputed_area     ? Provenance::kImputed
                         : a.all_clinician_area ? Provenance::kClinician
                         : a.all_reviewed_area  ? Provenance::kConsensus
                                                : Provenance::kMeasured;
    in.erythema = a.representative->erythema;
    in.induration = a.representative->induration;
    in.desquamation = a.representative->desquamation;
    inputs.push_back(in);
    double region_bsa = 0;
    for (const BodySite& s : BodySiteCatalogue()) {
      if (s.pasi_region == region) region_bsa += s.bsa_percent;
    }
    out.region_coverage_percent.emplace_back(region, 100.0 * a.imaged_bsa / region_bsa);
  }
  out.pasi = ComputePasi(inputs);
  return out;
}

namespace {

template <typename Response>
void FillReduction(double baseline, double current, Response& r) {
  CheckScoreValue(baseline, "baseline score");
  CheckScoreValue(current, "current score");
  if (baseline == 0.0) {
    r.defined = false;
    r.note = "baseline score is 0: relative response is undefined";
    return;
  }
  r.defined = true;
  r.change_percent = (baseline - current) / baseline * 100.0;
}

}  // namespace

PasiResponse ComputePasiResponse(double baseline_pasi, double current_pasi) {
  PasiResponse r;
  FillReduction(baseline_pasi, current_pasi, r);
  r.pasi100 = current_pasi == 0.0;
  if (r.defined) {
    r.pasi50 = r.change_percent >= 50.0 - kTolerance;
    r.pasi75 = r.change_percent >= 75.0 - kTolerance;
    r.pasi90 = r.change_percent >= 90.0 - kTolerance;
  } else {
    r.pasi100 = false;  // clear at baseline: no response to speak of
  }
  return r;
}

VasiResponse ComputeVasiResponse(double baseline_vasi, double current_vasi) {
  VasiResponse r;
  FillReduction(baseline_vasi, current_vasi, r);
  if (r.defined) {
    r.vasi50 = r.change_percent >= 50.0 - kTolerance;
    r.vasi75 = r.change_percent >= 75.0 - kTolerance;
    r.vasi90 = r.change_percent >= 90.0 - kTolerance;
  }
  return r;
}

int NearestVasiLevel(double p) {
  CheckPercent(p, "depigmentation");
  static constexpr std::array<int, 7> kLevels = {0, 10, 25, 50, 75, 90, 100};
  int best = kLevels[0];
  for (int level : kLevels) {
    // `<=` moves an exact half-way value to the higher level.
    if (std::abs(p - level) <= std::abs(p - best)) best = level;
  }
  return best;
}

VasiResult ComputeVasi(const std::vector<VasiSiteInput>& sites) {
  static constexpr std::array<int, 7> kLevels = {0, 10, 25, 50, 75, 90, 100};
  VasiResult r;
  std::set<std::string> seen;
  for (const VasiSiteInput& in : sites) {
    const BodySite& site = FindBodySite(in.site);
    if (!seen.insert(site.name).second) {
      throw Error(ErrorCode::kInvalidArgument, "site given twice: " + site.name);
    }
    CheckFraction(in.envelope_fraction, "envelope fraction of site " + site.name);
    CheckPercent(in.depigmentation_percent, "depigmentation of site " + site.name);
    VasiSiteScore s;
    s.input = in;
    s.body_site = &site;
    s.hand_units = site.bsa_percent * in.envelope_fraction;
    if (in.clinician_level) {
      if (std::find(kLevels.begin(), kLevels.end(), *in.clinician_level) == kLevels.end()) {
        throw Error(ErrorCode::kInvalidArgument,
                    "a VASI level must be one of 0/10/25/50/75/90/100, got " +
                        std::to_string(*in.clinician_level));
      }
      s.level = *in.clinician_level;
      s.level_provenance = Provenance::kClinician;
    } else {
      s.level = NearestVasiLevel(in.depigmentation_percent);
      s.level_provenance = in.provenance;
    }
    s.vasi = s.hand_units * s.level / 100.0;
    s.vasi_continuous = s.hand_units * in.depigmentation_percent / 100.0;
    r.t_vasi += s.vasi;
    r.t_vasi_continuous += s.vasi_continuous;
    if (site.is_face) {
      r.face_imaged = true;
      r.f_vasi += s.vasi;
      r.f_vasi_continuous += s.vasi_continuous;
    }
    r.sites.push_back(s);
  }
  return r;
}

int RepigmentationGrade(double percent) noexcept {
  if (!(percent > 0.0)) return 0;
  if (percent <= 25.0) return 1;
  if (percent <= 50.0) return 2;
  if (percent <= 75.0) return 3;
  if (percent < 100.0 - kTolerance) return 4;
  return 5;
}

Repigmentation ComputeRepigmentation(double baseline_area, double current_area) {
  CheckScoreValue(baseline_area, "baseline depigmented area");
  CheckScoreValue(current_area, "current depigmented area");
  Repigmentation r;
  if (baseline_area == 0.0) {
    r.note = "nothing depigmented at baseline: repigmentation is undefined";
    return r;
  }
  r.defined = true;
  r.percent = (baseline_area - current_area) / baseline_area * 100.0;
  r.grade = RepigmentationGrade(r.percent);
  return r;
}

}  // namespace skintrack::scoring
