// The cohort as a FHIR R4 Bundle of Observations, JSON written here (an exporter, at the edge).
#include <cmath>
#include <nlohmann/json.hpp>
#include <set>
#include <vector>

#include "exports.h"
#include "skintrack/core/body_site_snomed.h"
#include "skintrack/pipeline/response.h"
#include "skintrack/pipeline/results.h"
#include "skintrack/pipeline/time_format.h"
#include "skintrack/report/report.h"
#include "skintrack/storage/sha256.h"
#include "skintrack/storage/store.h"

namespace skintrack::report::detail {
namespace {

using nlohmann::json;
using pipeline::VisitResponse;

// A deterministic UUID from a name (SHA-256 based, version 8 layout), so that the same data
// exports to the same Bundle; names are built from pseudonymous subject ids, visit labels and
// capture ids, never from patient ids. It is the resource's id, and "urn:uuid:" + it its fullUrl.
std::string Id(const std::string& name) {
  std::string h = storage::Sha256Hex(name).substr(0, 32);
  h[12] = '8';
  h[16] = "89ab"[std::stoi(h.substr(16, 1), nullptr, 16) & 3];
  return h.substr(0, 8) + "-" + h.substr(8, 4) + "-" + h.substr(12, 4) + "-" + h.substr(16, 4) +
         "-" + h.substr(20, 12);
}
std::string Url(const std::string& name) { return "urn:uuid:" + Id(name); }

// A Bundle entry: the resource with its id, under its urn:uuid fullUrl.
json Entry(const std::string& name, json resource) {
  resource["id"] = Id(name);
  json e = {{"fullUrl", Url(name)}, {"resource", std::move(resource)}};
  return e;
}

json SystemCoding(const std::string& system, const std::string& code, const std::string& display,
                  const std::string& text) {
  return {{"coding", {{{"system", system}, {"code", code}, {"display", display}}}}, {"text", text}};
}

// The SNOMED CT body structure of a catalogue site (the DICOM writer's table); the laterality
// ("left-forearm") is in the text: R4's bodySite is one concept.
json SiteCode(const std::string& site) {
  const BodySiteAnatomy a = SnomedSiteAnatomy(site);
  return SystemCoding(kSnomedCtSystem, a.code, a.meaning, site);
}

// The body site of an Observation over `sites`: the site when there is one, the PASI region's
// body structure when they share one, else the sites named in text (no single concept fits).
json SitesCode(const std::set<std::string>& sites) {
  if (sites.size() == 1) return SiteCode(*sites.begin());
  std::set<PasiRegion> regions;
  std::vector<std::string> names;
  for (const std::string& s : sites) {
    regions.insert(FindBodySite(s).pasi_region);
    names.push_back(s);
  }
  std::string text;
  for (const std::string& n : names) text += (text.empty() ? "" : ", ") + n;
  if (regions.size() == 1) {
    const auto [code, meaning] = SnomedPasiRegion(*regions.begin());
    return SystemCoding(kSnomedCtSystem, code, meaning, text);
  }
  return {{"text", text}};
}

json Coding(const std::string& code, const std::string& display) {
  return {{"coding", {{{"system", kSkintrackCodeSystem}, {"code", code}, {"display", display}}}},
          {"text", display}};
}

json Quantity(double value, const std::string& unit, const std::string& ucum) {
  return {{"value", std::round(value * 1000.0) / 1000.0},
          {"unit", unit},
          {"system", "http://unitsofmeasure.org"},
          {"code", ucum}};
}

json Media(const storage::Capture& c, const std::string& patient_url) {
  return Entry(
      "capture:" + std::to_string(c.id),
      {{"resourceType", "Media"},
       {"status", "completed"},
       {"identifier", {{{"system", "urn:skintrack:capture-sha256"}, {"value", c.blob.sha256}}}},
       {"type", SystemCoding("http://terminology.hl7.org/CodeSystem/media-type", "image", "Image",
                             "photo")},
       {"modality", SystemCoding("http://dicom.nema.org/resources/ontology/DCM", "XC",
                                 "External-camera Photography", "clinical photograph")},
       {"subject", {{"reference", patient_url}}},
       {"bodySite", SiteCode(c.site)},
       {"createdDateTime", pipeline::FormatRfc3339(c.captured_at)},
       {"width", c.width},
       {"height", c.height},
       {"content", {{"contentType", c.media_type}, {"title", "capture " + std::to_string(c.id)}}}});
}

// The Observations of one scored visit, and the Media of its captures not exported yet.
class VisitExporter {
 public:
  VisitExporter(storage::Store& store, json& entries, std::string subject, std::string patient_url,
                std::string device_url)
      : store_(store),
        entries_(entries),
        subject_(std::move(subject)),
        patient_url_(std::move(patient_url)),
        device_url_(std::move(device_url)) {}

  // `baseline` is the condition's first scored visit: the responder Observations derive from its
  // score and this visit's.
  void Export(const VisitResponse& v, const VisitResponse& baseline) {
    derived_ = json::array();
    sites_.clear();
    face_sites_.clear();
    confirmed_ = !v.capture_ids.empty();
    for (std::int64_t id : v.capture_ids) {
      const storage::Capture c = *store_.repository().FindCapture(id);
      sites_.insert(c.site);
      if (FindBodySite(c.site).is_face) face_sites_.insert(c.site);
      derived_.push_back({{"reference", Url("capture:" + std::to_string(id))}});
      confirmed_ = confirmed_ && !store_.repository().AssessmentHistory(id).empty();
      if (!media_done_.insert(id).second) continue;
      entries_.push_back(Media(c, patient_url_));
    }
    if (v.pasi) ExportPsoriasis(v, baseline);
    if (v.vasi) ExportVitiligo(v, baseline);
  }

 private:
  std::string ObsName(const std::string& code, const VisitResponse& v) const {
    return "obs:" + subject_ + ":" + code + ":" + v.visit;
  }

  void ExportPsoriasis(const VisitResponse& v, const VisitResponse& baseline) {
    json comps = json::array();
    for (const scoring::PasiRegionScore& r : v.pasi->pasi.regions) {
      const std::string region = PasiRegionName(r.input.region);
      comps.push_back({{"code", Coding("pasi-" + region, "PASI " + region + " contribution")},
                       {"valueQuantity", Quantity(r.contribution, "score", "{score}")}});
      const std::pair<const char*, const scoring::SeverityGrade*> signs[] = {
          {"erythema", &r.input.erythema},
          {"induration", &r.input.induration},
          {"desquamation", &r.input.desquamation}};
      for (const auto& [sign, grade] : signs) {
        comps.push_back({{"code", Coding(std::string(sign) + "-" + region,
                                         std::string(sign) + " grade " + region + " (" +
                                             scoring::ProvenanceName(grade->provenance) + ")")},
                         {"valueInteger", grade->grade}});
      }
    }
    Observation(v, "pasi", "Psoriasis Area and Severity Index (imaged regions)",
                {{"valueQuantity", Quantity(v.pasi->pasi.pasi, "score", "{score}")}}, comps, sites_,
                derived_);
    Observation(v, "bsa", "Involved body surface area (imaged sites)",
                {{"valueQuantity", Quantity(v.pasi->bsa_percent, "%", "%")}}, json::array(), sites_,
                derived_);
    // The flags exactly as the CSV writes them: only where the response is defined.
    if (!v.response_defined() || !v.pasi_response) return;
    const scoring::PasiResponse& r = *v.pasi_response;
    const std::pair<const char*, bool> flags[] = {
        {"pasi50", r.pasi50}, {"pasi75", r.pasi75}, {"pasi90", r.pasi90}, {"pasi100", r.pasi100}};
    for (const auto& [code, flag] : flags) Responder(v, baseline, "pasi", code, flag);
  }

  void ExportVitiligo(const VisitResponse& v, const VisitResponse& baseline) {
    json comps = json::array();
    for (const scoring::VasiSiteScore& s : v.vasi->sites) {
      comps.push_back({{"code", Coding("vasi-site-" + s.input.site, "VASI " + s.input.site)},
                       {"valueQuantity", Quantity(s.vasi, "hand unit", "{hand_unit}")}});
    }
    Observation(v, "t-vasi", "Total Vitiligo Area Scoring Index (imaged sites)",
                {{"valueQuantity", Quantity(v.vasi->t_vasi, "hand unit", "{hand_unit}")}}, comps,
                sites_, derived_);
    if (v.vasi->face_imaged) {
      Observation(v, "f-vasi", "Facial Vitiligo Area Scoring Index",
                  {{"valueQuantity", Quantity(v.vasi->f_vasi, "hand unit", "{hand_unit}")}},
                  json::array(), face_sites_, derived_);
    }
    if (!v.response_defined() || !v.vasi_response) return;
    const scoring::VasiResponse& r = *v.vasi_response;
    const std::pair<const char*, bool> flags[] = {
        {"vasi50", r.vasi50}, {"vasi75", r.vasi75}, {"vasi90", r.vasi90}};
    for (const auto& [code, flag] : flags) Responder(v, baseline, "t-vasi", code, flag);
  }

  // PASI75 etc. as a boolean Observation derived from the score of this visit and the baseline's.
  void Responder(const VisitResponse& v, const VisitResponse& baseline, const std::string& score,
                 const std::string& code, bool flag) {
    std::string upper = code;
    for (char& c : upper) c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
    const std::string percent = code.substr(4);
    json from = json::array({{{"reference", Url(ObsName(score, v))}}});
    if (baseline.visit != v.visit) from.push_back({{"reference", Url(ObsName(score, baseline))}});
    Observation(v, code,
                upper + ": " + (score == "pasi" ? "PASI" : "T-VASI") + " improved by " + percent +
                    " % or more from the baseline visit (" + baseline.visit + ")",
                {{"valueBoolean", flag}}, json::array(), sites_, from);
  }

  void Observation(const VisitResponse& v, const std::string& code, const std::string& display,
                   const json& value, json components, const std::set<std::string>& sites,
                   const json& derived) {
    json obs = {{"resourceType", "Observation"},
                {"status", confirmed_ ? "final" : "preliminary"},
                {"category",
                 {{{"coding",
                    {{{"system", "http://terminology.hl7.org/CodeSystem/observation-category"},
                      {"code", "exam"}}}}}}},
                {"code", Coding(code, display)},
                {"subject", {{"reference", patient_url_}}},
                {"effectiveDateTime", pipeline::FormatRfc3339(v.date_ms)},
                {"bodySite", SitesCode(sites)},
                {"device", {{"reference", device_url_}}},
                {"derivedFrom", derived},
                {"note",
                 {{{"text", "visit " + v.visit +
                                "; scores from images are automated (skintrack), "
                                "status final only after clinician review"}}}}};
    obs.update(value);
    if (!components.empty()) obs["component"] = std::move(components);
    entries_.push_back(Entry(ObsName(code, v), std::move(obs)));
  }

  storage::Store& store_;
  json& entries_;
  const std::string subject_, patient_url_, device_url_;
  std::set<std::int64_t> media_done_;
  std::set<std::string> sites_, face_sites_;
  json derived_;
  bool confirmed_ = false;
};

json Device() {
  const std::string name =
      std::string("device:") + scoring::kScoringVersion + ":" + pipeline::kPipelineVersion;
  // One entry per version: the scoring algorithms and the image pipeline change separately.
  return Entry(name,
               {{"resourceType", "Device"},
                {"deviceName", {{{"name", "skintrack"}, {"type", "manufacturer-name"}}}},
                {"version",
                 {{{"type", {{"text", "scoring"}}}, {"value", scoring::kScoringVersion}},
                  {{"type", {{"text", "pipeline"}}}, {"value", pipeline::kPipelineVersion}}}}});
}

}  // namespace

std::string FhirBundle(storage::Store& store, const Cohort& cohort) {
  json entries = json::array();
  entries.push_back(Device());
  const std::string device_url = entries.back()["fullUrl"];
  for (const pipeline::PatientResponse& response : cohort.subjects) {
    const std::string& subject = response.patient;
    entries.push_back(
        Entry("patient:" + subject,
              {{"resourceType", "Patient"},
               {"identifier", {{{"system", "urn:skintrack:subject"}, {"value", subject}}}}}));
    VisitExporter visits(store, entries, subject, entries.back()["fullUrl"], device_url);
    for (const pipeline::ConditionResponse& cond : response.conditions) {
      const VisitResponse* baseline = nullptr;
      for (const VisitResponse& v : cond.visits) {
        if (!v.scored()) continue;
        if (!baseline) baseline = &v;
        visits.Export(v, *baseline);
      }
    }
  }
  // Identified by its content: the same data (and study) is the same Bundle wherever it is copied.
  const std::string content = storage::Sha256Hex(cohort.study_id + "\n" + entries.dump());
  const json bundle = {
      {"resourceType", "Bundle"},
      {"identifier", {{"system", "urn:ietf:rfc:3986"}, {"value", Url("bundle:" + content)}}},
      {"type", "collection"},
      {"timestamp", pipeline::FormatRfc3339(storage::NowMs())},
      {"entry", entries}};
  return bundle.dump(2) + "\n";
}

}  // namespace skintrack::report::detail
