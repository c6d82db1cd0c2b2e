#include "skintrack/pipeline/score.h"

#include "skintrack/core/body_sites.h"
#include "skintrack/pipeline/baseline.h"
#include "skintrack/pipeline/results.h"
#include "skintrack/scoring/json.h"
#include "skintrack/scoring/measure.h"
#include "skintrack/scoring/scores.h"
#include "skintrack/scoring/vasi_envelope.h"
#include "skintrack/storage/store.h"

namespace skintrack::pipeline {

using nlohmann::json;
using storage::ResultKind;
using storage::ResultSource;

ClinicianInput LatestClinicianInput(storage::Store& store, std::int64_t capture_id) {
  ClinicianInput in;
  for (const storage::Assessment& a : store.repository().AssessmentHistory(capture_id)) {
    const json g = json::parse(a.grades_json);  // oldest first: later entries win
    auto grade = [&](const char* key, std::optional<int>& out) {
      if (g.contains(key) && g[key].is_number_integer()) out = g[key].get<int>();
    };
    grade("erythema", in.erythema);
    grade("induration", in.induration);
    grade("desquamation", in.desquamation);
    grade("depigmentation_level", in.depigmentation_level);
    in.assessment_id = a.id;
  }
  return in;
}

SiteAreaOfCapture MeasureSiteArea(storage::Store& store, const storage::Capture& capture,
                                  const scoring::Segmentation& seg,
                                  const MasksInBaselineFrame* warped) {
  SiteAreaOfCapture out;
  const auto reg = StoredRegistration(store, capture);
  if (!reg) {
    out.area.note = "no converged registration to a baseline: area of the photo's own skin";
    return out;
  }
  out.baseline_capture_id = reg->baseline_capture_id;
  const auto base_skin = LatestMask(store, reg->baseline_capture_id, result::kSkinMask);
  const auto base_lesion = LatestMask(store, reg->baseline_capture_id, result::kLesionMask);
  if (!base_skin || !base_lesion || base_skin->size() != reg->result.fixed_size) {
    out.area.note = "the baseline has no stored masks: area of the photo's own skin";
    return out;
  }
  const auto warp = [&](const cv::Mat& mask) {
    return registration::WarpMaskToBaseline(mask, reg->result);
  };
  scoring::SiteAreaInput in;
  in.baseline_skin = *base_skin;
  in.baseline_lesion = *base_lesion;
  const MasksInBaselineFrame own =
      warped ? *warped : WarpToBaselineFrame(seg.lesion_mask, reg->result);
  in.seen = own.seen;
  in.lesion = own.lesion;
  if (capture.condition == Condition::kVitiligo) {
    // The envelopes as Measure() forms them; the baseline's from its stored lesion mask alone.
    in.envelope = warp(scoring::VasiEnvelope(seg.lesion_mask, seg.skin_mask, seg.envelope_mask));
    in.baseline_envelope = scoring::VasiEnvelope(*base_lesion);
  }
  out.area = scoring::MeasureSiteArea(in);
  return out;
}

namespace {

// The PASI and BSA % of a psoriasis site, from the measurements, the site area and the
// clinician's grades (each of which replaces the measured or imputed one).
void AppendPsoriasisScores(storage::Store& store, const storage::Capture& capture,
                           const scoring::Measurements& m, double lesion_fraction,
                           const ClinicianInput& clinician, scoring::Provenance area,
                           ResultRecord base, const std::string& area_frame,
                           const std::string& actor) {
  const BodySite& site = FindBodySite(capture.site);
  scoring::PsoriasisSiteMeasurement sm;
  sm.site = site.name;
  sm.lesion_fraction = lesion_fraction;
  sm.area_provenance = area;
  sm.erythema = m.erythema;
  sm.induration = m.induration;
  sm.desquamation = m.desquamation;
  auto clinician_grade = [](const std::optional<int>& g, scoring::SeverityGrade& out) {
    if (!g) return;
    out = scoring::SeverityGrade{*g, scoring::Provenance::kClinician, std::nullopt,
                                 "entered by a clinician"};
  };
  clinician_grade(clinician.erythema, sm.erythema);
  clinician_grade(clinician.induration, sm.induration);
  clinician_grade(clinician.desquamation, sm.desquamation);
  const scoring::PsoriasisVisitScore vs = scoring::ScorePsoriasisVisit({sm});
  ResultRecord pasi = base;
  pasi.name = result::kPasiSite;
  pasi.algorithm = "pasi";
  pasi.value = vs.pasi.pasi;
  pasi.payload = vs;
  Append(store, capture.id, pasi, actor);
  ResultRecord bsa = std::move(base);
  bsa.name = result::kBsaPercent;
  bsa.algorithm = "bsa";
  bsa.value = vs.bsa_percent;
  bsa.payload = {{"bsa_percent", vs.bsa_percent},
                 {"site_bsa_percent", site.bsa_percent},
                 {"lesion_fraction", lesion_fraction},
                 {"area_frame", area_frame}};
  Append(store, capture.id, bsa, actor);
}

void AppendVitiligoScore(storage::Store& store, const storage::Capture& capture,
                         const scoring::Measurements& m, double envelope_fraction,
                         const ClinicianInput& clinician, scoring::Provenance area,
                         ResultRecord record, const std::string& actor) {
  scoring::VasiSiteInput vi;
  vi.site = FindBodySite(capture.site).name;
  vi.envelope_fraction = envelope_fraction;
  vi.depigmentation_percent = m.depigmentation_percent;
  vi.provenance = area;
  vi.clinician_level = clinician.depigmentation_level;
  const scoring::VasiResult v = scoring::ComputeVasi({vi});
  record.name = result::kVasiSite;
  record.algorithm = "vasi";
  record.value = v.t_vasi;
  record.payload = v;
  Append(store, capture.id, record, actor);
}

// Where the area comes from: a supplied mask (no threshold sensitivity) is the capture's reviewed
// lesion mask, a clinician's or a consensus (segmenter_choice.cpp); otherwise it was measured.
scoring::Provenance AreaProvenance(storage::Store& store, const storage::Capture& capture,
                                   const scoring::Segmentation& segmentation) {
  if (segmentation.fraction_low) return scoring::Provenance::kMeasured;
  const auto mask = LatestResult(store, capture.id, result::kLesionMask);
  return mask && mask->source == ResultSource::kConsensus ? scoring::Provenance::kConsensus
                                                          : scoring::Provenance::kClinician;
}

ResultSource SourceOf(scoring::Provenance area) {
  switch (area) {
    case scoring::Provenance::kClinician:
      return ResultSource::kClinician;
    case scoring::Provenance::kConsensus:
      return ResultSource::kConsensus;
    case scoring::Provenance::kMeasured:
    case scoring::Provenance::kImputed:
      return ResultSource::kAutomated;
  }
  return ResultSource::kAutomated;
}

}  // namespace

scoring::Measurements MeasureCapture(const storage::Capture& capture, const cv::Mat& image,
                                     const scoring::Segmentation& segmentation,
                                     const ClinicianInput& clinician) {
  scoring::MeasureOptions mo;
  mo.condition = capture.condition;
  mo.clinician_induration = clinician.induration;
  return scoring::Measure(image, segmentation, mo);
}

void ScoreCapture(storage::Store& store, const storage::Capture& capture, const cv::Mat& image,
                  const scoring::Segmentation& segmentation, const std::string& actor,
                  const json& inputs, const json& segmenter, const ScoreShortcuts* computed) {
  const ClinicianInput clinician =
      computed ? computed->clinician : LatestClinicianInput(store, capture.id);
  const scoring::Measurements m =
      computed ? computed->measurements : MeasureCapture(capture, image, segmentation, clinician);
  // Scores use the site's area in the baseline frame (independent of the photo's field of view);
  // the measurements keep the photo's own fractions beside it.
  const SiteAreaOfCapture site = MeasureSiteArea(
      store, capture, segmentation, computed && computed->warped ? &*computed->warped : nullptr);
  const bool in_baseline_frame = site.area.used;
  const double lesion_fraction = in_baseline_frame ? site.area.lesion_fraction : m.lesion_fraction;
  const double envelope_fraction = in_baseline_frame && site.area.envelope_fraction
                                       ? *site.area.envelope_fraction
                                       : m.envelope_fraction;
  const scoring::Provenance area = AreaProvenance(store, capture, segmentation);
  const std::string area_frame = in_baseline_frame ? "baseline" : "photo";

  ResultRecord measurements;
  measurements.name = result::kMeasurements;
  measurements.source = SourceOf(area);
  measurements.algorithm = "measure";
  measurements.value = m.lesion_fraction;
  measurements.payload = m;
  measurements.payload["site_area"] = site.area;
  measurements.payload["site_area"]["baseline_capture_id"] = site.baseline_capture_id;
  measurements.inputs = inputs;
  measurements.provenance = {{"area", scoring::ProvenanceName(area)},
                             {"area_frame", area_frame},
                             {"segmenter", segmentation.segmenter},
                             {"assessment_id", clinician.assessment_id}};
  for (const auto& [key, value] : segmenter.items()) measurements.provenance[key] = value;
  Append(store, capture.id, measurements, actor);

  ResultRecord score;
  score.kind = ResultKind::kScore;
  // Grades a clinician entered make the score theirs; otherwise it is the area's.
  score.source = clinician.any() ? ResultSource::kClinician : SourceOf(area);
  score.inputs = inputs;
  score.provenance = measurements.provenance;
  if (capture.condition == Condition::kPsoriasis) {
    AppendPsoriasisScores(store, capture, m, lesion_fraction, clinician, area, std::move(score),
                          area_frame, actor);
  } else {
    AppendVitiligoScore(store, capture, m, envelope_fraction, clinician, area, std::move(score),
                        actor);
  }
}

}  // namespace skintrack::pipeline
