// The cohort as a FHIR R4 Bundle of Observations, JSON written here (an exporter, at the edge).
#include <cmath>
#include <nlohmann/json.hpp>
#include <set>

#include "exports.h"
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

// A deterministic urn:uuid from a name (SHA-256 based, version 8 layout), so that the same data
// exports to the same Bundle.
std::string Uuid(const std::string& name) {
  std::string h = storage::Sha256Hex(name).substr(0, 32);
  h[12] = '8';
  h[16] = "89ab"[std::stoi(h.substr(16, 1), nullptr, 16) & 3];
  return "urn:uuid:" + h.substr(0, 8) + "-" + h.substr(8, 4) + "-" + h.substr(12, 4) + "-" +
         h.substr(16, 4) + "-" + h.substr(20, 12);
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

json Media(const storage::Capture& c, const std::string& media_url,
           const std::string& patient_url) {
  return {
      {"fullUrl", media_url},
      {"resource",
       {{"resourceType", "Media"},
        {"status", "completed"},
        {"identifier", {{{"system", "urn:skintrack:capture-sha256"}, {"value", c.blob.sha256}}}},
        {"subject", {{"reference", patient_url}}},
        {"bodySite", {{"text", c.site}}},
        {"createdDateTime", pipeline::FormatRfc3339(c.captured_at)},
        {"width", c.width},
        {"height", c.height},
        {"content",
         {{"contentType", c.media_type}, {"title", "capture " + std::to_string(c.id)}}}}}};
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

  void Export(const VisitResponse& v) {
    derived_ = json::array();
    confirmed_ = !v.capture_ids.empty();
    for (std::int64_t id : v.capture_ids) {
      const std::string media_url = Uuid("capture:" + std::to_string(id));
      derived_.push_back({{"reference", media_url}});
      confirmed_ = confirmed_ && !store_.repository().AssessmentHistory(id).empty();
      if (!media_done_.insert(id).second) continue;
      entries_.push_back(Media(*store_.repository().FindCapture(id), media_url, patient_url_));
    }
    if (v.pasi) ExportPsoriasis(v);
    if (v.vasi) ExportVitiligo(v);
  }

 private:
  void ExportPsoriasis(const VisitResponse& v) {
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
                Quantity(v.pasi->pasi.pasi, "score", "{score}"), comps);
    Observation(v, "bsa", "Involved body surface area (imaged sites)",
                Quantity(v.pasi->bsa_percent, "%", "%"), json::array());
  }

  void ExportVitiligo(const VisitResponse& v) {
    json comps = json::array();
    for (const scoring::VasiSiteScore& s : v.vasi->sites) {
      comps.push_back({{"code", Coding("vasi-site-" + s.input.site, "VASI " + s.input.site)},
                       {"valueQuantity", Quantity(s.vasi, "hand unit", "{hand_unit}")}});
    }
    Observation(v, "t-vasi", "Total Vitiligo Area Scoring Index (imaged sites)",
                Quantity(v.vasi->t_vasi, "hand unit", "{hand_unit}"), comps);
    if (v.vasi->face_imaged) {
      Observation(v, "f-vasi", "Facial Vitiligo Area Scoring Index",
                  Quantity(v.vasi->f_vasi, "hand unit", "{hand_unit}"), json::array());
    }
  }

  void Observation(const VisitResponse& v, const std::string& code, const std::string& display,
                   const json& value, json components) {
    json obs = {{"resourceType", "Observation"},
                {"status", confirmed_ ? "final" : "preliminary"},
                {"category",
                 {{{"coding",
                    {{{"system", "http://terminology.hl7.org/CodeSystem/observation-category"},
                      {"code", "exam"}}}}}}},
                {"code", Coding(code, display)},
                {"subject", {{"reference", patient_url_}}},
                {"effectiveDateTime", pipeline::FormatRfc3339(v.date_ms)},
                {"valueQuantity", value},
                {"device", {{"reference", device_url_}}},
                {"derivedFrom", derived_},
                {"note",
                 {{{"text", "visit " + v.visit +
                                "; scores from images are automated (skintrack), "
                                "status final only after clinician review"}}}}};
    if (!components.empty()) obs["component"] = std::move(components);
    entries_.push_back(
        {{"fullUrl", Uuid("obs:" + subject_ + ":" + code + ":" + v.visit)}, {"resource", obs}});
  }

  storage::Store& store_;
  json& entries_;
  const std::string subject_, patient_url_, device_url_;
  std::set<std::int64_t> media_done_;
  json derived_;
  bool confirmed_ = false;
};

}  // namespace

std::string FhirBundle(storage::Store& store, const pipeline::PseudonymKey& key) {
  json entries = json::array();
  const std::string device_url = Uuid(std::string("device:") + scoring::kScoringVersion);
  entries.push_back({{"fullUrl", device_url},
                     {"resource",
                      {{"resourceType", "Device"},
                       {"deviceName", {{{"name", "skintrack"}, {"type", "manufacturer-name"}}}},
                       {"version",
                        {{{"value", std::string(scoring::kScoringVersion) + " pipeline " +
                                        pipeline::kPipelineVersion}}}}}}});
  for (const storage::Patient& p : store.repository().ListPatients()) {
    pipeline::ResponseOptions options;
    options.pseudonymise = key;
    const pipeline::PatientResponse response =
        pipeline::ComputePatientResponse(store, p.info.id, options);
    const std::string& subject = response.patient;
    const std::string patient_url = Uuid("patient:" + subject);
    entries.push_back(
        {{"fullUrl", patient_url},
         {"resource",
          {{"resourceType", "Patient"},
           {"identifier", {{{"system", "urn:skintrack:subject"}, {"value", subject}}}}}}});
    VisitExporter visits(store, entries, subject, patient_url, device_url);
    for (const pipeline::ConditionResponse& cond : response.conditions) {
      for (const VisitResponse& v : cond.visits) {
        if (v.scored()) visits.Export(v);
      }
    }
  }
  const json bundle = {{"resourceType", "Bundle"},
                       {"type", "collection"},
                       {"timestamp", pipeline::FormatRfc3339(storage::NowMs())},
                       {"entry", entries}};
  return bundle.dump(2) + "\n";
}

}  // namespace skintrack::report::detail
