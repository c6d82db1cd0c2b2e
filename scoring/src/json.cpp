#include "skintrack/scoring/json.h"

#include <nlohmann/json.hpp>

#include "skintrack/core/error.h"

namespace skintrack::scoring {
namespace {

using nlohmann::json;

json Grade(const SeverityGrade& g) {
  json j = {{"grade", g.grade}, {"provenance", ProvenanceName(g.provenance)}};
  j["continuous"] = g.continuous ? json(*g.continuous) : json(nullptr);
  if (!g.method.empty()) j["method"] = g.method;
  return j;
}

json LabJson(const Lab& l) { return {{"L", l.l}, {"a", l.a}, {"b", l.b}}; }

template <typename T>
json Opt(const std::optional<T>& v) {
  return v ? json(*v) : json(nullptr);
}

json Pasi(const PasiResult& p) {
  json regions = json::array();
  for (const PasiRegionScore& r : p.regions) {
    regions.push_back({{"region", PasiRegionName(r.input.region)},
                       {"area_percent", r.input.area_percent},
                       {"area_provenance", ProvenanceName(r.input.area_provenance)},
                       {"area_score", r.area_score},
                       {"area_score_continuous", r.area_score_continuous},
                       {"weight", r.weight},
                       {"erythema", Grade(r.input.erythema)},
                       {"induration", Grade(r.input.induration)},
                       {"desquamation", Grade(r.input.desquamation)},
                       {"contribution", r.contribution},
                       {"contribution_continuous", r.contribution_continuous}});
  }
  json missing = json::array();
  for (PasiRegion r : p.missing) missing.push_back(PasiRegionName(r));
  return {{"pasi", p.pasi},
          {"pasi_continuous", p.pasi_continuous},
          {"continuous_variant", p.continuous_variant},
          {"complete", p.complete},
          {"missing_regions", missing},
          {"any_imputed", p.any_imputed},
          {"regions", regions},
          {"algorithm_version", p.algorithm_version}};
}

json Change(const MaskChange& c) {
  return {{"baseline_pixels", c.baseline_pixels},
          {"current_pixels", c.current_pixels},
          {"new_pixels", c.new_pixels},
          {"persisting_pixels", c.persisting_pixels},
          {"cleared_pixels", c.cleared_pixels},
          {"area_change_percent", Opt(c.area_change_percent)},
          {"repigmentation", json(c.repigmentation)},
          {"algorithm_version", kScoringVersion}};
}

}  // namespace

void to_json(json& j, const SeverityGrade& grade) { j = Grade(grade); }

void to_json(json& j, const Measurements& m) {
  json lesions = json::array();
  for (const LesionMeasurement& l : m.lesions) {
    json row = {{"area_pixels", l.area_pixels},
                {"bbox", {l.bbox.x, l.bbox.y, l.bbox.width, l.bbox.height}},
                {"lesion_lab", LabJson(l.lesion)},
                {"surround_lab", LabJson(l.surround)},
                {"delta_L", l.delta_l},
                {"delta_a", l.delta_a},
                {"delta_b", l.delta_b}};
    if (m.condition == Condition::kPsoriasis) {
      row["scale_fraction"] = l.scale_fraction;
      row["erythema_grade"] = l.erythema_grade;
      row["scaling_grade"] = l.scaling_grade;
    }
    lesions.push_back(row);
  }
  j = {{"condition", ConditionName(m.condition)},
       {"segmenter", m.segmenter},
       {"algorithm_version", m.algorithm_version},
       {"image_pixels", m.image_pixels},
       {"skin_pixels", m.skin_pixels},
       {"lesion_pixels", m.lesion_pixels},
       {"lesion_fraction", m.lesion_fraction},
       {"lesion_fraction_low", Opt(m.fraction_low)},
       {"lesion_fraction_high", Opt(m.fraction_high)},
       {"lesion_fraction_uncertainty", Opt(m.fraction_uncertainty)},
       {"skin_area_mm2", Opt(m.skin_area_mm2)},
       {"lesion_area_mm2", Opt(m.lesion_area_mm2)},
       {"normal_skin_lab", LabJson(m.normal_skin)},
       {"lesion_lab", LabJson(m.lesion)},
       {"delta_L", m.delta_l},
       {"delta_a", m.delta_a},
       {"delta_b", m.delta_b},
       {"ita_degrees", m.ita_degrees},
       {"ita_group", m.ita_group},
       {"lesion_count", m.lesion_count},
       {"lesions", lesions}};
  if (m.condition == Condition::kPsoriasis) {
    j["erythema"] = Grade(m.erythema);
    j["desquamation"] = Grade(m.desquamation);
    j["induration"] = Grade(m.induration);
    j["scale_fraction"] = m.scale_fraction;
    j["erythema_tone_gain"] = m.erythema_tone_gain;
  } else {
    j["envelope_pixels"] = m.envelope_pixels;
    j["envelope_fraction"] = m.envelope_fraction;
    j["depigmentation_percent"] = m.depigmentation_percent;
    j["depigmentation_level"] = m.depigmentation_level;
  }
}

void to_json(json& j, const PasiResult& pasi) { j = Pasi(pasi); }

void to_json(json& j, const PsoriasisVisitScore& v) {
  json coverage = json::object();
  for (const auto& [region, pct] : v.region_coverage_percent)
    coverage[PasiRegionName(region)] = pct;
  j = json({{"pasi", Pasi(v.pasi)},
            {"bsa_percent", v.bsa_percent},
            {"bsa_severity", BsaSeverity(v.bsa_percent)},
            {"region_imaged_percent", coverage},
            {"algorithm_version", kScoringVersion}});
}

void to_json(json& j, const VasiResult& v) {
  json sites = json::array();
  for (const VasiSiteScore& s : v.sites) {
    sites.push_back({{"site", s.input.site},
                     {"vasi_region", s.body_site ? VasiRegionName(s.body_site->vasi_region) : ""},
                     {"face", s.body_site ? s.body_site->is_face : false},
                     {"envelope_fraction", s.input.envelope_fraction},
                     {"hand_units", s.hand_units},
                     {"depigmentation_percent", s.input.depigmentation_percent},
                     {"level", s.level},
                     {"level_provenance", ProvenanceName(s.level_provenance)},
                     {"provenance", ProvenanceName(s.input.provenance)},
                     {"vasi", s.vasi},
                     {"vasi_continuous", s.vasi_continuous}});
  }
  j = json({{"t_vasi", v.t_vasi},
            {"t_vasi_continuous", v.t_vasi_continuous},
            {"f_vasi", v.face_imaged ? json(v.f_vasi) : json(nullptr)},
            {"f_vasi_continuous", v.face_imaged ? json(v.f_vasi_continuous) : json(nullptr)},
            {"face_imaged", v.face_imaged},
            {"variant", v.variant},
            {"sites", sites},
            {"algorithm_version", v.algorithm_version}});
}

void to_json(json& j, const PasiResponse& r) {
  j = json({{"defined", r.defined},
            {"note", r.note},
            {"change_percent", r.defined ? json(r.change_percent) : json(nullptr)},
            {"pasi50", r.pasi50},
            {"pasi75", r.pasi75},
            {"pasi90", r.pasi90},
            {"pasi100", r.pasi100},
            {"algorithm_version", r.algorithm_version}});
}

void to_json(json& j, const VasiResponse& r) {
  j = json({{"defined", r.defined},
            {"note", r.note},
            {"change_percent", r.defined ? json(r.change_percent) : json(nullptr)},
            {"vasi50", r.vasi50},
            {"vasi75", r.vasi75},
            {"vasi90", r.vasi90},
            {"algorithm_version", r.algorithm_version}});
}

void to_json(json& j, const Repigmentation& r) {
  j = json({{"defined", r.defined},
            {"note", r.note},
            {"percent", r.defined ? json(r.percent) : json(nullptr)},
            {"grade", r.defined ? json("G" + std::to_string(r.grade)) : json(nullptr)},
            {"algorithm_version", r.algorithm_version}});
}

void to_json(json& j, const MaskChange& change) { j = Change(change); }

void to_json(json& j, const MaskAgreement& a) {
  j = json({{"dice", a.dice},
            {"iou", a.iou},
            {"predicted_fraction", a.predicted_fraction},
            {"truth_fraction", a.truth_fraction},
            {"area_error_points", a.area_error_points}});
}

void to_json(json& j, const QualityReport& q) {
  j = {{"passed", q.passed},
       {"reasons", q.reasons},
       {"sharpness", q.sharpness},
       {"mean_grey", q.mean_grey},
       {"clipped_fraction", q.clipped},
       {"skin_fraction", q.skin_fraction}};
}

void to_json(json& j, const SiteArea& a) {
  j = {{"used", a.used},
       {"note", a.note},
       {"frame", "baseline"},
       {"lesion_fraction", a.lesion_fraction},
       {"unseen_skin_fraction", a.unseen_skin_fraction}};
  if (a.envelope_fraction) j["envelope_fraction"] = *a.envelope_fraction;
}

void from_json(const json& j, SeverityGrade& g) {
  if (!j.is_object()) throw Error(ErrorCode::kInvalidArgument, "a grade must be a JSON object");
  g = SeverityGrade{};
  g.grade = j.value("grade", 0);
  g.provenance = ParseProvenance(j.value("provenance", "measured"));
  if (j.contains("continuous") && j["continuous"].is_number()) {
    g.continuous = j["continuous"].get<double>();
  }
  g.method = j.value("method", "");
}

void from_json(const json& j, Repigmentation& r) {
  if (!j.is_object()) {
    throw Error(ErrorCode::kInvalidArgument, "a repigmentation must be a JSON object");
  }
  r = Repigmentation{};
  r.defined = j.value("defined", false);
  r.note = j.value("note", "");
  if (j.contains("percent") && j["percent"].is_number()) r.percent = j["percent"].get<double>();
  const std::string grade =
      j.contains("grade") && j["grade"].is_string() ? j["grade"].get<std::string>() : "";
  if (grade.size() == 2 && grade[0] == 'G') r.grade = grade[1] - '0';
  r.algorithm_version = j.value("algorithm_version", r.algorithm_version);
}

std::string ToJson(const SeverityGrade& grade) { return json(grade).dump(); }
std::string ToJson(const Measurements& measurements) { return json(measurements).dump(); }
std::string ToJson(const PasiResult& pasi) { return json(pasi).dump(); }
std::string ToJson(const PsoriasisVisitScore& visit) { return json(visit).dump(); }
std::string ToJson(const VasiResult& vasi) { return json(vasi).dump(); }
std::string ToJson(const PasiResponse& response) { return json(response).dump(); }
std::string ToJson(const VasiResponse& response) { return json(response).dump(); }
std::string ToJson(const Repigmentation& repigmentation) { return json(repigmentation).dump(); }
std::string ToJson(const MaskChange& change) { return json(change).dump(); }
std::string ToJson(const MaskAgreement& agreement) { return json(agreement).dump(); }

}  // namespace skintrack::scoring
