// `skintrack score`: PASI / BSA or VASI of one visit from images, from masks, or from entered
// values, with provenance for every sub-score and, given a baseline, the responder status.
#include <algorithm>
#include <cmath>
#include <cstdint>
#include <fstream>
#include <nlohmann/json.hpp>
#include <optional>
#include <ostream>
#include <sstream>
#include <vector>

#include "command.h"
#include "skintrack/core/error.h"
#include "skintrack/scoring/change.h"
#include "skintrack/scoring/induration.h"
#include "skintrack/scoring/json.h"
#include "skintrack/scoring/measure.h"
#include "skintrack/scoring/scores.h"
#include "skintrack/scoring/segmentation.h"
#include "skintrack/scoring/vasi_envelope.h"

namespace skintrack::cli {
namespace {

using nlohmann::json;
using scoring::Provenance;

// One imaged (or entered) site of the visit.
struct Capture {
  std::string site;
  std::optional<std::string> image, mask, skin_mask, baseline_mask;
  std::optional<double> lesion_fraction;                  // entered directly (clinician estimate)
  std::optional<int> erythema, induration, desquamation;  // clinician grades
  std::optional<int> level;                               // clinician VASI level
  std::optional<double> depigmentation_percent;           // entered directly
  std::optional<double> envelope_fraction;                // entered directly
};

std::optional<int> OptGrade(const json& j, const char* key, int lo, int hi) {
  if (!j.contains(key) || j[key].is_null()) return std::nullopt;
  // Compared as a 64-bit JSON integer before narrowing: 4294967299 must not become 3.
  const bool in_range = j[key].is_number_integer() && j[key].get<std::int64_t>() >= lo &&
                        j[key].get<std::int64_t>() <= hi;
  if (!in_range) {
    throw Error(ErrorCode::kInvalidArgument, std::string("manifest: '") + key +
                                                 "' must be an integer " + std::to_string(lo) +
                                                 ".." + std::to_string(hi));
  }
  return j[key].get<int>();
}

std::optional<double> OptNumber(const json& j, const char* key) {
  if (!j.contains(key) || j[key].is_null()) return std::nullopt;
  if (!j[key].is_number()) {
    throw Error(ErrorCode::kInvalidArgument,
                std::string("manifest: '") + key + "' must be a number");
  }
  return j[key].get<double>();
}

std::optional<std::string> OptString(const json& j, const char* key) {
  if (!j.contains(key) || j[key].is_null()) return std::nullopt;
  if (!j[key].is_string()) {
    throw Error(ErrorCode::kInvalidArgument,
                std::string("manifest: '") + key + "' must be a string");
  }
  return j[key].get<std::string>();
}

json ReadManifest(const std::string& path) {
  std::ifstream in(path);
  if (!in) throw Error(ErrorCode::kIo, "cannot read manifest " + path);
  try {
    return json::parse(in);
  } catch (const json::exception& e) {
    throw Error(ErrorCode::kInvalidArgument,
                "manifest " + path + " is not valid JSON: " + e.what());
  }
}

// Everything measured for one capture, with the segmentation for change maps.
struct Measured {
  double lesion_fraction = 0;
  Provenance area_provenance = Provenance::kMeasured;
  std::optional<scoring::Measurements> m;
  // Vitiligo from a mask alone (no photo to measure colour on).
  std::optional<double> envelope_fraction, depigmentation_percent;
  std::optional<scoring::MaskChange> change;
};

Measured MeasureCapture(const Capture& c, Condition condition) {
  Measured out;
  if (c.lesion_fraction) {
    if (c.image || c.mask) {
      throw Error(ErrorCode::kInvalidArgument,
                  "site " + c.site + ": give lesion_fraction or an image/mask, not both");
    }
    out.lesion_fraction = *c.lesion_fraction;
    out.area_provenance = Provenance::kClinician;
    return out;
  }
  if (!c.image && !c.mask) {
    throw Error(ErrorCode::kInvalidArgument,
                "site " + c.site + ": needs an image, a mask or an entered lesion_fraction");
  }
  cv::Mat image;
  if (c.image) {
    image = scoring::ReadImage(*c.image);
  }
  scoring::Segmentation seg;
  if (c.mask) {
    // Without the photo, a mask stands for itself: its skin is the given skin mask or the frame.
    const cv::Mat lesion = scoring::ReadMask(*c.mask, image.empty() ? cv::Size() : image.size());
    const cv::Size size = lesion.size();
    cv::Mat skin = c.skin_mask ? scoring::ReadMask(*c.skin_mask, size) : cv::Mat();
    if (image.empty()) {
      if (skin.empty()) skin = cv::Mat(size, CV_8UC1, cv::Scalar(255));
      const double skin_px = cv::countNonZero(skin);
      out.lesion_fraction = skin_px > 0 ? cv::countNonZero(lesion & skin) / skin_px : 0.0;
      out.area_provenance = Provenance::kClinician;
      seg.lesion_mask = lesion & skin;
      if (condition == Condition::kVitiligo) {
        // The envelope and the residual depigmentation need no colour.
        const cv::Mat envelope = scoring::VasiEnvelope(seg.lesion_mask, skin);
        const double env_px = cv::countNonZero(envelope);
        out.envelope_fraction = skin_px > 0 ? env_px / skin_px : 0.0;
        out.depigmentation_percent =
            env_px > 0 ? 100.0 * cv::countNonZero(seg.lesion_mask) / env_px : 0.0;
      }
    } else {
      seg = scoring::SuppliedMaskSegmenter(condition, lesion, skin).Segment(image);
    }
  } else {
    scoring::ClassicalSegmenterOptions so;
    so.condition = condition;
    seg = scoring::MakeClassicalSegmenter(so)->Segment(image);
  }
  if (!image.empty()) {
    scoring::MeasureOptions mo;
    mo.condition = condition;
    if (c.induration) mo.clinician_induration = *c.induration;
    out.m = scoring::Measure(image, seg, mo);
    out.lesion_fraction = out.m->lesion_fraction;
    out.area_provenance = c.mask ? Provenance::kClinician : Provenance::kMeasured;
  }
  if (c.baseline_mask) {
    if (seg.lesion_mask.empty()) {
      throw Error(ErrorCode::kInvalidArgument,
                  "site " + c.site + ": baseline_mask needs an image or a mask of this visit");
    }
    const cv::Mat base = scoring::ReadMask(*c.baseline_mask, seg.lesion_mask.size());
    out.change = scoring::CompareMasks(base, seg.lesion_mask);
  }
  return out;
}

scoring::SeverityGrade Grade(const std::optional<int>& clinician,
                             const std::optional<scoring::Measurements>& m,
                             scoring::SeverityGrade scoring::Measurements::*field,
                             const std::string& site, const char* name) {
  if (clinician) {
    scoring::SeverityGrade g;
    g.grade = *clinician;
    g.provenance = Provenance::kClinician;
    g.method = "entered by a clinician";
    return g;
  }
  if (m) return (*m).*field;
  throw Error(ErrorCode::kInvalidArgument, "site " + site + ": no image to measure " + name +
                                               " from and no clinician grade entered");
}

// What to score: the visit's captures (and baselines, for the responder status).
struct Visit {
  Condition condition = Condition::kPsoriasis;
  std::vector<Capture> captures;
  std::optional<double> base_pasi, base_t, base_f;
};

// A manifest: {"condition", "captures": [{site, image|mask|lesion_fraction, grades}],
// "baseline": {pasi, t_vasi, f_vasi}}; `condition_text` (--condition) when it names none.
Visit FromManifest(const std::string& path, const std::optional<std::string>& condition_text) {
  Visit v;
  const json m = ReadManifest(path);
  if (!m.is_object() || !m.contains("captures") || !m["captures"].is_array()) {
    throw Error(ErrorCode::kInvalidArgument, "manifest needs a \"captures\" array");
  }
  const auto cond = OptString(m, "condition");
  if (!cond && !condition_text) {
    throw Error(ErrorCode::kInvalidArgument, "give the condition (--condition or manifest)");
  }
  v.condition = ParseCondition(cond ? *cond : *condition_text);
  for (const json& j : m["captures"]) {
    if (!j.is_object()) throw Error(ErrorCode::kInvalidArgument, "a capture must be an object");
    Capture c;
    const auto s = OptString(j, "site");
    if (!s) throw Error(ErrorCode::kInvalidArgument, "every capture needs a \"site\"");
    c.site = *s;
    c.image = OptString(j, "image");
    c.mask = OptString(j, "mask");
    c.skin_mask = OptString(j, "skin_mask");
    c.baseline_mask = OptString(j, "baseline_mask");
    c.lesion_fraction = OptNumber(j, "lesion_fraction");
    c.erythema = OptGrade(j, "erythema", 0, 4);
    c.induration = OptGrade(j, "induration", 0, 4);
    c.desquamation = OptGrade(j, "desquamation", 0, 4);
    c.level = OptGrade(j, "level", 0, 100);
    v.captures.push_back(c);
  }
  if (m.contains("baseline") && m["baseline"].is_object()) {
    v.base_pasi = OptNumber(m["baseline"], "pasi");
    v.base_t = OptNumber(m["baseline"], "t_vasi");
    v.base_f = OptNumber(m["baseline"], "f_vasi");
  }
  return v;
}

// The site entries of the result JSON (the measurements and change behind each site).
json SiteJson(const Capture& c, const Measured& me) {
  json sj = {{"site", c.site},
             {"lesion_fraction", me.lesion_fraction},
             {"area_provenance", ProvenanceName(me.area_provenance)}};
  if (me.m) sj["measurements"] = json(*me.m);
  if (me.change) sj["change"] = json(*me.change);
  return sj;
}

void ScorePsoriasis(const Visit& visit, json& result, json& sites, bool json_out,
                    std::ostream& out) {
  std::vector<scoring::PsoriasisSiteMeasurement> inputs;
  for (const Capture& c : visit.captures) {
    const Measured me = MeasureCapture(c, Condition::kPsoriasis);
    scoring::PsoriasisSiteMeasurement in;
    in.site = c.site;
    in.lesion_fraction = me.lesion_fraction;
    in.area_provenance = me.area_provenance;
    in.erythema = Grade(c.erythema, me.m, &scoring::Measurements::erythema, c.site, "erythema");
    in.desquamation =
        Grade(c.desquamation, me.m, &scoring::Measurements::desquamation, c.site, "desquamation");
    if (c.induration) {
      in.induration =
          Grade(c.induration, me.m, &scoring::Measurements::induration, c.site, "induration");
    } else if (me.m) {
      in.induration = me.m->induration;
    } else {
      in.induration = scoring::ImputeInduration(in.erythema, in.desquamation);
    }
    inputs.push_back(in);
    sites.push_back(SiteJson(c, me));
  }
  const scoring::PsoriasisVisitScore v = scoring::ScorePsoriasisVisit(inputs);
  result["visit"] = json(v);
  if (visit.base_pasi) {
    result["response"] = json(scoring::ComputePasiResponse(*visit.base_pasi, v.pasi.pasi));
  }
  if (!json_out) {
    out << "PASI " << v.pasi.pasi << " (continuous " << v.pasi.pasi_continuous << ")"
        << (v.pasi.complete ? "" : ", INCOMPLETE: missing");
    for (PasiRegion r : v.pasi.missing) out << " " << PasiRegionName(r);
    out << "; BSA " << v.bsa_percent << " % (" << scoring::BsaSeverity(v.bsa_percent) << ")"
        << (v.pasi.any_imputed ? "; some sub-scores imputed" : "") << "\n";
  }
}

void ScoreVitiligo(const Visit& visit, json& result, json& sites, bool json_out,
                   std::ostream& out) {
  std::vector<scoring::VasiSiteInput> inputs;
  for (const Capture& c : visit.captures) {
    const Measured me = MeasureCapture(c, Condition::kVitiligo);
    scoring::VasiSiteInput in;
    in.site = c.site;
    in.provenance = me.area_provenance;
    if (me.m) {
      in.envelope_fraction = me.m->envelope_fraction;
      in.depigmentation_percent = std::clamp(me.m->depigmentation_percent, 0.0, 100.0);
    } else if (me.envelope_fraction && me.depigmentation_percent) {
      in.envelope_fraction = *me.envelope_fraction;
      in.depigmentation_percent = std::clamp(*me.depigmentation_percent, 0.0, 100.0);
    } else {
      // An entered lesion fraction is taken as fully depigmented patches.
      in.envelope_fraction = me.lesion_fraction;
      in.depigmentation_percent = 100.0;
    }
    in.clinician_level = c.level;
    inputs.push_back(in);
    sites.push_back(SiteJson(c, me));
  }
  const scoring::VasiResult v = scoring::ComputeVasi(inputs);
  result["vasi"] = json(v);
  if (visit.base_t) {
    result["t_vasi_response"] = json(scoring::ComputeVasiResponse(*visit.base_t, v.t_vasi));
  }
  if (visit.base_f) {
    if (!v.face_imaged) {
      throw Error(ErrorCode::kInvalidArgument, "a baseline F-VASI needs a face site this visit");
    }
    result["f_vasi_response"] = json(scoring::ComputeVasiResponse(*visit.base_f, v.f_vasi));
  }
  if (!json_out) {
    out << "T-VASI " << v.t_vasi << " (continuous " << v.t_vasi_continuous << ")";
    if (v.face_imaged)
      out << "; F-VASI " << v.f_vasi << " (continuous " << v.f_vasi_continuous << ")";
    out << "\n";
  }
}

int RunScore(Args& args, std::ostream& out) {
  const auto manifest_path = args.Get("manifest");
  const auto condition_text = args.Get("condition");
  const auto site = args.Get("site");
  const auto mask = args.Get("mask");
  const auto skin_mask = args.Get("skin-mask");
  const auto baseline_mask = args.Get("baseline-mask");
  const long long erythema = args.GetInt("erythema", -1, 0, 4);
  const long long induration = args.GetInt("induration", -1, 0, 4);
  const long long desquamation = args.GetInt("desquamation", -1, 0, 4);
  const long long level = args.GetInt("level", -1, 0, 100);
  const double baseline_pasi = args.GetDouble("baseline-pasi", -1, 0, 72);
  const double baseline_t_vasi = args.GetDouble("baseline-t-vasi", -1, 0, 100);
  const double baseline_f_vasi = args.GetDouble("baseline-f-vasi", -1, 0, 100);
  const bool json_out = args.Flag("json");
  args.CheckNoneLeft();

  Visit visit;
  if (manifest_path) {
    if (site || mask || skin_mask || baseline_mask || !args.positional().empty() || erythema >= 0 ||
        induration >= 0 || desquamation >= 0 || level >= 0) {
      throw Error(ErrorCode::kInvalidArgument,
                  "--manifest describes the captures; do not also give IMAGE, --site or grades");
    }
    visit = FromManifest(*manifest_path, condition_text);
  } else {
    if (!condition_text) throw Error(ErrorCode::kInvalidArgument, "missing --condition");
    visit.condition = ParseCondition(*condition_text);
    if (!site) throw Error(ErrorCode::kInvalidArgument, "missing --site (or use --manifest)");
    if (args.positional().size() > 1) {
      throw Error(ErrorCode::kInvalidArgument, "score takes at most one IMAGE (use --manifest)");
    }
    Capture c;
    c.site = *site;
    if (!args.positional().empty()) c.image = args.positional()[0];
    c.mask = mask;
    c.skin_mask = skin_mask;
    c.baseline_mask = baseline_mask;
    if (erythema >= 0) c.erythema = static_cast<int>(erythema);
    if (induration >= 0) c.induration = static_cast<int>(induration);
    if (desquamation >= 0) c.desquamation = static_cast<int>(desquamation);
    if (level >= 0) c.level = static_cast<int>(level);
    visit.captures.push_back(c);
  }
  if (baseline_pasi >= 0) visit.base_pasi = baseline_pasi;
  if (baseline_t_vasi >= 0) visit.base_t = baseline_t_vasi;
  if (baseline_f_vasi >= 0) visit.base_f = baseline_f_vasi;
  if (visit.captures.empty()) throw Error(ErrorCode::kInvalidArgument, "no captures to score");
  for (const Capture& c : visit.captures) FindBodySite(c.site);  // unknown sites fail first

  json result = {{"condition", ConditionName(visit.condition)},
                 {"algorithm_version", scoring::kScoringVersion}};
  json sites = json::array();
  if (visit.condition == Condition::kPsoriasis) {
    ScorePsoriasis(visit, result, sites, json_out, out);
  } else {
    ScoreVitiligo(visit, result, sites, json_out, out);
  }
  result["sites"] = sites;
  if (json_out) {
    out << result.dump(2) << "\n";
  } else {
    for (const char* key : {"response", "t_vasi_response", "f_vasi_response"}) {
      if (result.contains(key)) out << key << ": " << result[key].dump() << "\n";
    }
  }
  return 0;
}

const bool kRegistered = RegisterCommand(
    {"score",
     "PASI / BSA or VASI of a visit from images, masks or entered grades",
     "usage: skintrack score --condition psoriasis|vitiligo --site SITE [IMAGE]\n"
     "         [--mask LESION.png] [--skin-mask SKIN.png] [--baseline-mask BASE.png]\n"
     "         [--erythema 0-4] [--induration 0-4] [--desquamation 0-4] [--level 0-100]\n"
     "         [--baseline-pasi X | --baseline-t-vasi X --baseline-f-vasi X] [--json]\n"
     "       skintrack score --manifest VISIT.json [--json]\n"
     "IMAGE is segmented automatically unless --mask (an annotator's lesion mask) is given; a\n"
     "mask alone (no IMAGE) gives the area. Entered grades are provenance `clinician`; induration\n"
     "without an entry is `imputed`. A manifest lists several sites of one visit:\n"
     "  {\"condition\": \"psoriasis\", \"baseline\": {\"pasi\": 12.6},\n"
     "   \"captures\": [{\"site\": \"left-forearm\", \"image\": \"a.png\", \"induration\": 2},\n"
     "                {\"site\": \"trunk-anterior\", \"lesion_fraction\": 0.1, \"erythema\": 2,\n"
     "                 \"induration\": 1, \"desquamation\": 1}]}\n"
     "Regions without a capture are reported missing (PASI incomplete), never zero.\n",
     {"json"},
     RunScore});

}  // namespace
}  // namespace skintrack::cli
