// Clinical scores exactly as defined in SCORES.md: PASI (integer area bins and this project's
// continuous-area variant), BSA %, VASI per site / T-VASI / F-VASI, responder status and
// repigmentation grades.
//
// A score is never a bare number: every sub-score carries its provenance (measured from images,
// entered by a clinician, or imputed) and every result carries kScoringVersion and the inputs it
// was computed from. All functions are pure and thread-safe. Percentages are 0..100 unless a name
// says "fraction" (0..1).
#pragma once

#include <optional>
#include <string>
#include <vector>

#include "skintrack/core/body_sites.h"

namespace skintrack::scoring {

// Version of the scoring algorithms; stored with every result so that a change of algorithm never
// silently mixes with earlier values.
inline constexpr const char* kScoringVersion = "skintrack-scoring/1.0.0";

// kConsensus: an area measured on the consensus mask of several reviewed annotations
// (docs/annotation.md); like kClinician, a person's mask, not a segmenter's.
enum class Provenance { kMeasured, kClinician, kImputed, kConsensus };
// "measured" / "clinician" / "imputed" / "consensus"
const char* ProvenanceName(Provenance p) noexcept;
// Throws Error(kInvalidArgument) on anything but the four names.
Provenance ParseProvenance(const std::string& text);

// One severity sub-score (0-4) with where it came from. `continuous` is the measurement the grade
// was derived from (e.g. delta a* for erythema), absent for clinician entries. `method` says how
// an imputed or measured value was obtained, in words.
struct SeverityGrade {
  int grade = 0;
  Provenance provenance = Provenance::kClinician;
  std::optional<double> continuous;
  std::string method;
  // Throws Error(kInvalidArgument) unless 0 <= grade <= 4.
  void Check() const;
};

// ---------------------------------------------------------------------------------------------
// PASI

// Area score A (0-6) from the percentage of a region involved, half-open bins:
// 0 | (0,10) | [10,30) | [30,50) | [50,70) | [70,90) | [90,100].
// Throws Error(kInvalidArgument) for NaN or a percentage outside [0, 100].
int PasiAreaScore(double involved_percent);

// This project's continuous area score (PrecisePASI-style): piecewise linear through (0,0),
// (10,2), (30,3), (50,4), (70,5), (90,6), constant 6 above 90 %. Equal to PasiAreaScore at the
// bin edges 10/30/50/70/90. Same errors as PasiAreaScore.
double ContinuousAreaScore(double involved_percent);

// PASI weight of a region: 0.1 / 0.2 / 0.3 / 0.4.
double PasiRegionWeight(PasiRegion region) noexcept;

// One region's inputs at one visit.
struct PasiRegionInput {
  PasiRegion region = PasiRegion::kHeadNeck;
  double area_percent = 0;  // percentage of THIS region involved, 0..100
  Provenance area_provenance = Provenance::kMeasured;
  SeverityGrade erythema;
  SeverityGrade induration;
  SeverityGrade desquamation;
  void Check() const;  // throws Error(kInvalidArgument)
};

struct PasiRegionScore {
  PasiRegionInput input;
  int area_score = 0;  // A, integer bin
  double area_score_continuous = 0;
  double weight = 0;
  double contribution = 0;  // weight * (E+I+D) * A
  double contribution_continuous = 0;
};

struct PasiResult {
  // Sum over the regions that were given. When `complete` is false it is a partial value over the
  // regions present and `missing` names the others: a missing region is not zero.
  double pasi = 0;
  double pasi_continuous = 0;  // this project's continuous-area variant
  bool complete = false;
  std::vector<PasiRegion> missing;
  std::vector<PasiRegionScore> regions;  // in PasiRegion order
  bool any_imputed = false;  // some sub-score is imputed (e.g. induration without a clinician)
  std::string algorithm_version = kScoringVersion;
  std::string continuous_variant = "skintrack continuous area (PrecisePASI-style, Kolios 2015)";
};

// PASI over the regions given (each region at most once). Throws Error(kInvalidArgument) on a
// duplicated region or an invalid input.
PasiResult ComputePasi(const std::vector<PasiRegionInput>& regions);

// ---------------------------------------------------------------------------------------------
// BSA

// Involved BSA % of one site: site BSA % x lesion fraction of the imaged skin (SCORES.md).
// Throws Error(kInvalidArgument) unless 0 <= lesion_fraction <= 1.
double SiteInvolvedBsaPercent(const BodySite& site, double lesion_fraction);

// "mild" (< 3), "moderate" (3-10), "severe" (> 10).
const char* BsaSeverity(double bsa_percent) noexcept;

// ---------------------------------------------------------------------------------------------
// Aggregating per-site image measurements to PASI regions

// One imaged site at one visit.
struct PsoriasisSiteMeasurement {
  std::string site;            // catalogue name
  double lesion_fraction = 0;  // lesion pixels / skin pixels, 0..1
  Provenance area_provenance = Provenance::kMeasured;
  SeverityGrade erythema;
  SeverityGrade induration;
  SeverityGrade desquamation;
};

struct PsoriasisVisitScore {
  PasiResult pasi;
  double bsa_percent = 0;  // involved BSA over the imaged sites only
  // Share of each PASI region's BSA that was imaged (regions not imaged are in pasi.missing).
  std::vector<std::pair<PasiRegion, double>> region_coverage_percent;
};

// Region area % = involved BSA of the imaged sites of the region / BSA of those sites (the imaged
// part stands for the region; coverage is reported). Region severity = the grade of the most
// involved site (the "representative lesion"); its provenance and continuous value travel with it.
// Region area provenance: imputed if any site's is, clinician if all sites' are, else measured.
// Throws Error(kNotFound) for an unknown site, Error(kInvalidArgument) for a bad value or a site
// given twice.
PsoriasisVisitScore ScorePsoriasisVisit(const std::vector<PsoriasisSiteMeasurement>& sites);

// ---------------------------------------------------------------------------------------------
// Response

struct PasiResponse {
  bool defined = false;       // false when the baseline PASI is 0
  std::string note;           // why it is undefined, or empty
  double change_percent = 0;  // (PASI_0 - PASI_t) / PASI_0 * 100; negative = worsening
  bool pasi50 = false, pasi75 = false, pasi90 = false;
  bool pasi100 = false;  // PASI_t == 0 exactly; false when undefined (baseline 0)
  std::string algorithm_version = kScoringVersion;
};

// Throws Error(kInvalidArgument) for a negative or non-finite PASI. Thresholds are compared with a
// 1e-9 tolerance so that 12.6 -> 6.3 counts as the 50 % it is despite floating-point rounding.
PasiResponse ComputePasiResponse(double baseline_pasi, double current_pasi);

struct VasiResponse {
  bool defined = false;
  std::string note;
  double change_percent = 0;  // reduction from baseline, percent
  bool vasi50 = false, vasi75 = false, vasi90 = false;
  std::string algorithm_version = kScoringVersion;
};

// For F-VASI or T-VASI alike (the caller names which). Same errors as ComputePasiResponse.
VasiResponse ComputeVasiResponse(double baseline_vasi, double current_vasi);

// ---------------------------------------------------------------------------------------------
// VASI

// Nearest level of the residual depigmentation ladder 0/10/25/50/75/90/100 (percent); a value
// exactly half-way goes to the higher level. Throws Error(kInvalidArgument) outside [0, 100].
int NearestVasiLevel(double depigmentation_percent);

struct VasiSiteInput {
  std::string site;  // catalogue name
  // Share of the site's skin inside the patch envelope (0..1): hand units = site BSA % x this.
  double envelope_fraction = 0;
  // Residual depigmentation within the envelope, continuous, 0..100 %.
  double depigmentation_percent = 0;
  Provenance provenance = Provenance::kMeasured;
  // A clinician's ladder level, when entered, overrides the nearest level of the measurement.
  std::optional<int> clinician_level;
};

struct VasiSiteScore {
  VasiSiteInput input;
  const BodySite* body_site = nullptr;
  double hand_units = 0;  // 1 hand unit = 1 % BSA by the VASI convention
  int level = 0;          // ladder level used, percent
  Provenance level_provenance = Provenance::kMeasured;
  double vasi = 0;             // hand_units x level / 100
  double vasi_continuous = 0;  // hand_units x depigmentation_percent / 100
};

struct VasiResult {
  std::vector<VasiSiteScore> sites;
  double t_vasi = 0, t_vasi_continuous = 0;  // all sites, face included
  double f_vasi = 0, f_vasi_continuous = 0;  // face sites only (0-3)
  bool face_imaged = false;                  // F-VASI is meaningful only when a face site was given
  std::string variant =
      "T-VASI over the imaged sites, face included; Hamzavi 2004 six regions; "
      "1 hand unit = 1 % BSA (convention; measured adult hand about 0.87 %)";
  std::string algorithm_version = kScoringVersion;
};

// Throws Error(kNotFound) for an unknown site, Error(kInvalidArgument) for a value out of range,
// an invalid clinician level or a site given twice.
VasiResult ComputeVasi(const std::vector<VasiSiteInput>& sites);

// ---------------------------------------------------------------------------------------------
// Repigmentation

struct Repigmentation {
  bool defined = false;  // false when nothing was depigmented at baseline
  std::string note;
  double percent = 0;  // (A_0 - A_t) / A_0 * 100; negative when the patch grew
  int grade = 0;       // G0..G5
  std::string algorithm_version = kScoringVersion;
};

// From depigmented areas (any unit, same for both) in the baseline frame. Grades: G0 <= 0 % (none
// or worse), G1 (0, 25], G2 (25, 50], G3 (50, 75], G4 (75, 100), G5 = 100 %; SCORES.md's integer
// ranges "1-25 %, 26-50 %" are read as these half-open intervals so that no value falls in a gap.
// Throws Error(kInvalidArgument) for a negative or non-finite area.
Repigmentation ComputeRepigmentation(double baseline_area, double current_area);
int RepigmentationGrade(double percent) noexcept;

}  // namespace skintrack::scoring
