#include "skintrack/service/report.h"

#include <cmath>
#include <cstdio>
#include <map>
#include <nlohmann/json.hpp>
#include <opencv2/imgcodecs.hpp>
#include <opencv2/imgproc.hpp>
#include <set>
#include <sstream>

#include "processing.h"
#include "skintrack/core/error.h"
#include "skintrack/registration/registration.h"
#include "skintrack/scoring/change.h"
#include "skintrack/scoring/scores.h"
#include "skintrack/service/pipeline.h"
#include "skintrack/service/service.h"
#include "skintrack/storage/sha256.h"
#include "skintrack/storage/store.h"
#include "time_format.h"

namespace skintrack::service {

using nlohmann::json;

ReportFormat ParseReportFormat(const std::string& text) {
  if (text == "html") return ReportFormat::kHtml;
  if (text == "json") return ReportFormat::kJson;
  if (text == "csv") return ReportFormat::kCsv;
  throw Error(ErrorCode::kInvalidArgument, "format must be html, json or csv, got '" + text + "'");
}

namespace {

std::string Base64(const std::vector<unsigned char>& bytes) {
  static const char* kAlphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
  std::string out;
  out.reserve((bytes.size() + 2) / 3 * 4);
  for (size_t i = 0; i < bytes.size(); i += 3) {
    const unsigned n = (bytes[i] << 16) | ((i + 1 < bytes.size() ? bytes[i + 1] : 0) << 8) |
                       (i + 2 < bytes.size() ? bytes[i + 2] : 0);
    out.push_back(kAlphabet[(n >> 18) & 63]);
    out.push_back(kAlphabet[(n >> 12) & 63]);
    out.push_back(i + 1 < bytes.size() ? kAlphabet[(n >> 6) & 63] : '=');
    out.push_back(i + 2 < bytes.size() ? kAlphabet[n & 63] : '=');
  }
  return out;
}

std::string Escape(const std::string& s) {
  std::string out;
  for (char c : s) {
    switch (c) {
      case '<':
        out += "&lt;";
        break;
      case '>':
        out += "&gt;";
        break;
      case '&':
        out += "&amp;";
        break;
      case '"':
        out += "&quot;";
        break;
      default:
        out.push_back(c);
    }
  }
  return out;
}

std::string Num(const json& v, int decimals = 2) {
  if (!v.is_number()) return "&ndash;";
  char buf[32];
  std::snprintf(buf, sizeof buf, "%.*f", decimals, v.get<double>());
  return buf;
}

std::string Thumbnail(const cv::Mat& bgr, int width = 300) {
  cv::Mat small;
  const double f = std::min(1.0, double(width) / bgr.cols);
  cv::resize(bgr, small, cv::Size(), f, f, cv::INTER_AREA);
  std::vector<unsigned char> bytes;
  cv::imencode(".jpg", small, bytes, {cv::IMWRITE_JPEG_QUALITY, 82});
  return "data:image/jpeg;base64," + Base64(bytes);
}

// A line chart of one series over the visits, with optional dashed reference lines.
std::string Chart(const std::string& title, const std::vector<std::string>& labels,
                  const std::vector<std::optional<double>>& values,
                  const std::vector<std::pair<std::string, double>>& references,
                  const std::string& unit) {
  const double w = 520, h = 220, left = 50, right = 20, top = 28, bottom = 36;
  double max_v = 0;
  for (const auto& v : values) {
    if (v) max_v = std::max(max_v, *v);
  }
  for (const auto& r : references) max_v = std::max(max_v, r.second);
  if (max_v <= 0) max_v = 1;
  max_v *= 1.1;
  const size_t n = labels.size();
  auto x = [&](size_t i) {
    return left + (n <= 1 ? 0.5 : double(i) / (n - 1)) * (w - left - right);
  };
  auto y = [&](double v) { return top + (1.0 - v / max_v) * (h - top - bottom); };
  std::ostringstream s;
  s << "<svg class=\"chart\" viewBox=\"0 0 " << w << " " << h << "\" role=\"img\" aria-label=\""
    << Escape(title) << "\"><text x=\"" << left << "\" y=\"18\" class=\"ct\">" << Escape(title)
    << " (" << Escape(unit) << ")</text>";
  for (int t = 0; t <= 4; ++t) {
    const double v = max_v * t / 4;
    char buf[32];
    std::snprintf(buf, sizeof buf, "%.1f", v);
    s << "<line x1=\"" << left << "\" x2=\"" << w - right << "\" y1=\"" << y(v) << "\" y2=\""
      << y(v) << "\" class=\"grid\"/><text x=\"" << left - 6 << "\" y=\"" << y(v) + 4
      << "\" class=\"yl\">" << buf << "</text>";
  }
  for (const auto& [name, v] : references) {
    s << "<line x1=\"" << left << "\" x2=\"" << w - right << "\" y1=\"" << y(v) << "\" y2=\""
      << y(v) << "\" class=\"ref\"/><text x=\"" << w - right << "\" y=\"" << y(v) - 4
      << "\" class=\"rl\">" << Escape(name) << "</text>";
  }
  std::string path;
  for (size_t i = 0; i < n; ++i) {
    s << "<text x=\"" << x(i) << "\" y=\"" << h - 14 << "\" class=\"xl\">" << Escape(labels[i])
      << "</text>";
    if (!values[i]) continue;
    path +=
        (path.empty() ? "M" : " L") + std::to_string(x(i)) + " " + std::to_string(y(*values[i]));
  }
  s << "<path d=\"" << path << "\" class=\"line\"/>";
  for (size_t i = 0; i < n; ++i) {
    if (values[i]) {
      s << "<circle cx=\"" << x(i) << "\" cy=\"" << y(*values[i]) << "\" r=\"4\" class=\"pt\"/>";
    }
  }
  s << "</svg>";
  return s.str();
}

std::string Badge(bool on, const std::string& text) {
  return std::string("<span class=\"badge ") + (on ? "yes" : "no") + "\">" + Escape(text) +
         "</span>";
}

// Overlay and change-map thumbnails of one capture.
std::string CaptureFigures(storage::Store& store, std::int64_t capture_id) {
  const auto c = store.repository().FindCapture(capture_id);
  if (!c) return "";
  std::ostringstream s;
  const cv::Mat image = DecodeStoredImage(store, *c);
  const auto lesion = LatestMask(store, c->id, "lesion");
  s << "<figure><img alt=\"capture " << c->id << " with lesions outlined\" src=\""
    << Thumbnail(lesion ? scoring::RenderOverlay(
                              image, *lesion, LatestMask(store, c->id, "skin").value_or(cv::Mat()))
                        : image)
    << "\"><figcaption>" << Escape(c->site) << " &middot; capture " << c->id
    << (lesion ? "" : " (not segmented)") << "</figcaption></figure>";
  for (const storage::Result& r : store.repository().LatestResults(c->id)) {
    if (r.name != "to_baseline") continue;
    const json p = json::parse(r.payload_json);
    if (p.value("is_baseline", false) || !p.value("converged", false) || !lesion) break;
    const std::int64_t base_id = p["baseline_capture_id"].get<std::int64_t>();
    const auto base = store.repository().FindCapture(base_id);
    const auto base_lesion = LatestMask(store, base_id, "lesion");
    if (!base || !base_lesion) break;
    registration::RegistrationResult reg;
    for (int i = 0; i < 2; ++i) {
      for (int k = 0; k < 3; ++k) reg.matrix(i, k) = p["matrix"][i][k].get<double>();
    }
    reg.fixed_size = cv::Size(base->width, base->height);
    reg.moving_size = cv::Size(c->width, c->height);
    const cv::Mat warped = registration::WarpMaskToBaseline(*lesion, reg);
    const cv::Mat seen =
        registration::WarpMaskToBaseline(cv::Mat(image.size(), CV_8U, cv::Scalar(255)), reg);
    const scoring::MaskChange change = scoring::CompareMasks(*base_lesion, warped, seen);
    char q[64];
    std::snprintf(q, sizeof q, "registration quality %.2f", p.value("quality", 0.0));
    s << "<figure><img alt=\"change against baseline\" src=\""
      << Thumbnail(scoring::RenderChangeMap(DecodeStoredImage(store, *base), change))
      << "\"><figcaption>change vs baseline (new red, persisting yellow, cleared green); " << q
      << "</figcaption></figure>";
    break;
  }
  return s.str();
}

constexpr char kCss[] = R"(
body{font-family:system-ui,-apple-system,Segoe UI,Roboto,sans-serif;margin:24px;color:#1d2430}
h1{font-size:22px;margin:0 0 4px} h2{font-size:18px;margin:28px 0 8px;border-bottom:1px solid #ccd}
h3{font-size:15px;margin:18px 0 6px} .meta{color:#566;font-size:13px}
table{border-collapse:collapse;font-size:13px;margin:8px 0} td,th{border:1px solid #ccd;padding:4px 8px;text-align:right}
th{background:#f0f2f6} td.l,th.l{text-align:left}
.badge{display:inline-block;padding:1px 6px;border-radius:8px;font-size:11px;margin-right:3px}
.badge.yes{background:#1f7a3d;color:#fff} .badge.no{background:#e4e7ec;color:#667}
.charts{display:flex;flex-wrap:wrap;gap:12px} .chart{width:520px;height:220px;border:1px solid #e3e6ea}
.ct{font-size:13px;font-weight:600} .grid{stroke:#eceef2} .ref{stroke:#b05;stroke-dasharray:5 4}
.rl{font-size:10px;fill:#b05;text-anchor:end} .xl{font-size:10px;text-anchor:middle;fill:#445}
.yl{font-size:10px;text-anchor:end;fill:#667} .line{fill:none;stroke:#2457c5;stroke-width:2} .pt{fill:#2457c5}
.figs{display:flex;flex-wrap:wrap;gap:10px} figure{margin:0;width:300px} figure img{width:300px;border:1px solid #ccd}
figcaption{font-size:11px;color:#556} .note{font-size:12px;color:#556;max-width:900px}
@media print{body{margin:10mm} .figs,.charts{page-break-inside:avoid}}
)";

std::string HtmlReport(storage::Store& store, const std::string& patient, const json& response) {
  std::ostringstream h;
  h << "<!doctype html><html lang=\"en\"><head><meta charset=\"utf-8\"><title>skintrack report "
    << Escape(patient) << "</title><style>" << kCss << "</style></head><body>";
  h << "<h1>Treatment response report &middot; patient " << Escape(patient) << "</h1>";
  h << "<div class=\"meta\">generated " << FormatRfc3339(storage::NowMs()) << " by skintrack "
    << "(pipeline " << kPipelineVersion << ", " << scoring::kScoringVersion
    << "). Scores from images are automated measurements; grades entered by a clinician and "
       "imputed values are marked.</div>";
  if (response["conditions"].empty()) h << "<p>No captures yet.</p>";
  for (const json& cond : response["conditions"]) {
    const bool pso = cond["condition"] == "psoriasis";
    h << "<h2>" << (pso ? "Psoriasis" : "Vitiligo") << "</h2>";
    std::vector<std::string> labels;
    std::vector<std::optional<double>> main, second;
    for (const json& v : cond["visits"]) {
      labels.push_back(v["visit"].get<std::string>());
      auto get = [&](const char* key) -> std::optional<double> {
        if (v.contains(key) && v[key].is_number()) return v[key].get<double>();
        return std::nullopt;
      };
      main.push_back(get(pso ? "pasi" : "t_vasi"));
      if (pso) {
        second.push_back(get("bsa_percent"));
      } else {
        // Mean repigmentation over the sites that have one.
        double sum = 0;
        int n = 0;
        if (v.contains("repigmentation")) {
          for (const auto& [site, r] : v["repigmentation"].items()) {
            if (r.value("defined", false)) {
              sum += r["percent"].get<double>();
              ++n;
            }
          }
        }
        second.push_back(n ? std::optional<double>(sum / n) : std::nullopt);
      }
    }
    const double base = !main.empty() && main.front() ? *main.front() : 0.0;
    h << "<div class=\"charts\">";
    if (pso) {
      h << Chart("PASI of the imaged regions", labels, main,
                 {{"PASI75", base * 0.25}, {"PASI90", base * 0.10}}, "points");
      h << Chart("Involved BSA of the imaged sites", labels, second, {}, "% BSA");
    } else {
      h << Chart("T-VASI of the imaged sites", labels, main, {{"VASI75", base * 0.25}},
                 "hand units");
      h << Chart("Repigmentation against baseline", labels, second, {{"G4 (>75 %)", 75.0}}, "%");
    }
    h << "</div>";
    h << "<table><tr><th class=\"l\">visit</th><th class=\"l\">date</th>";
    h << (pso ? "<th>PASI</th><th>PASI (continuous)</th><th>BSA %</th>"
              : "<th>T-VASI</th><th>T-VASI (continuous)</th><th>F-VASI</th>");
    h << "<th>change %</th><th class=\"l\">response</th><th class=\"l\">provenance</th>"
         "<th class=\"l\">not scored</th></tr>";
    for (const json& v : cond["visits"]) {
      const json& score = v.contains("score") ? v["score"] : json::object();
      const json& resp = v.contains("response") ? v["response"] : json::object();
      h << "<tr><td class=\"l\">" << Escape(v["visit"].get<std::string>())
        << "</td><td class=\"l\">" << Escape(v["date"].get<std::string>().substr(0, 10)) << "</td>";
      std::set<std::string> prov;
      if (pso) {
        const json& pasi = score.contains("pasi") ? score["pasi"] : json::object();
        h << "<td>" << Num(pasi.value("pasi", json())) << "</td><td>"
          << Num(pasi.value("pasi_continuous", json())) << "</td><td>"
          << Num(score.value("bsa_percent", json())) << "</td>";
        if (pasi.contains("regions")) {
          for (const json& r : pasi["regions"]) {
            prov.insert("area " + r.value("area_provenance", std::string("?")));
            for (const char* sign : {"erythema", "induration", "desquamation"}) {
              prov.insert(std::string(sign) + " " + r[sign].value("provenance", std::string("?")));
            }
          }
        }
      } else {
        h << "<td>" << Num(score.value("t_vasi", json())) << "</td><td>"
          << Num(score.value("t_vasi_continuous", json())) << "</td><td>"
          << Num(score.value("f_vasi", json())) << "</td>";
        if (score.contains("sites")) {
          for (const json& s : score["sites"]) {
            prov.insert("level " + s.value("level_provenance", std::string("?")));
          }
        }
      }
      h << "<td>" << (resp.value("defined", false) ? Num(resp["change_percent"], 1) : "&ndash;")
        << "</td><td class=\"l\">";
      if (!resp.value("defined", false)) {
        h << Escape(resp.value("note", std::string("")));
      } else if (pso) {
        h << Badge(resp.value("pasi50", false), "PASI50")
          << Badge(resp.value("pasi75", false), "PASI75")
          << Badge(resp.value("pasi90", false), "PASI90")
          << Badge(resp.value("pasi100", false), "PASI100");
      } else {
        h << Badge(resp.value("vasi50", false), "VASI50")
          << Badge(resp.value("vasi75", false), "VASI75")
          << Badge(resp.value("vasi90", false), "VASI90");
      }
      std::string prov_text;
      for (const auto& p : prov) prov_text += (prov_text.empty() ? "" : ", ") + p;
      h << "</td><td class=\"l\">" << Escape(prov_text) << "</td><td class=\"l\">";
      if (pso && score.contains("pasi")) {
        std::string missing;
        for (const json& m : score["pasi"]["missing_regions"]) {
          missing += (missing.empty() ? "" : ", ") + m.get<std::string>();
        }
        h << Escape(missing.empty() ? "" : "regions not imaged: " + missing);
      }
      if (v.contains("pending_sites")) {
        for (const json& p : v["pending_sites"]) h << " " << Escape(p.get<std::string>());
      }
      h << "</td></tr>";
    }
    h << "</table>";
    for (const json& v : cond["visits"]) {
      h << "<h3>Visit " << Escape(v["visit"].get<std::string>()) << " &middot; "
        << Escape(v["date"].get<std::string>().substr(0, 10)) << "</h3><div class=\"figs\">";
      for (const json& id : v["captures"]) h << CaptureFigures(store, id.get<std::int64_t>());
      h << "</div>";
    }
    h << "<p class=\"note\">"
      << (pso ? "PASI here covers the imaged regions only; regions without a capture are missing, "
                "not zero. Induration cannot be measured from a 2-D photo: unless a clinician "
                "entered it, it is imputed from erythema and scaling and marked so."
              : "T-VASI here sums the imaged sites (1 hand unit = 1 % BSA by convention). "
                "Repigmentation is measured pixel-wise in the baseline frame after registration.")
      << "</p>";
  }
  h << "</body></html>\n";
  return h.str();
}

// One CSV row per (condition, visit); `subject` is the id written in the first column.
void CsvRows(const json& response, const std::string& subject, std::ostringstream& out) {
  for (const json& cond : response["conditions"]) {
    const std::string c = cond["condition"];
    for (const json& v : cond["visits"]) {
      const json& score = v.contains("score") ? v["score"] : json::object();
      const json& resp = v.contains("response") ? v["response"] : json::object();
      std::map<std::string, std::string> region;
      std::set<std::string> prov;
      std::string missing;
      const json pasi = score.contains("pasi") ? score["pasi"] : json::object();
      if (pasi.contains("regions")) {
        for (const json& r : pasi["regions"]) {
          region[r["region"].get<std::string>()] = Num(r["contribution"], 3);
          prov.insert(r.value("area_provenance", std::string()));
          for (const char* sign : {"erythema", "induration", "desquamation"}) {
            prov.insert(r[sign].value("provenance", std::string()));
          }
        }
        for (const json& m : pasi["missing_regions"]) {
          missing += (missing.empty() ? "" : ";") + m.get<std::string>();
        }
      }
      if (score.contains("sites")) {
        for (const json& s : score["sites"])
          prov.insert(s.value("level_provenance", std::string()));
      }
      std::string prov_text, captures;
      for (const auto& p : prov) prov_text += (prov_text.empty() ? "" : ";") + p;
      for (const json& id : v["captures"]) {
        captures += (captures.empty() ? "" : ";") + std::to_string(id.get<std::int64_t>());
      }
      auto field = [](const std::string& s) { return s == "&ndash;" ? std::string() : s; };
      auto flag = [&](const char* key) {
        return resp.value("defined", false) ? (resp.value(key, false) ? "Y" : "N") : "";
      };
      out << subject << "," << c << "," << v["visit"].get<std::string>() << ","
          << v["date"].get<std::string>().substr(0, 10) << ","
          << field(Num(pasi.value("pasi", json()), 3)) << ","
          << field(Num(pasi.value("pasi_continuous", json()), 3)) << ","
          << (pasi.contains("complete") ? (pasi["complete"].get<bool>() ? "Y" : "N") : "") << ","
          << missing << "," << field(region.count("head_neck") ? region["head_neck"] : "") << ","
          << field(region.count("upper_limbs") ? region["upper_limbs"] : "") << ","
          << field(region.count("trunk") ? region["trunk"] : "") << ","
          << field(region.count("lower_limbs") ? region["lower_limbs"] : "") << ","
          << field(Num(score.value("bsa_percent", json()), 3)) << ","
          << field(Num(score.value("t_vasi", json()), 3)) << ","
          << field(Num(score.value("f_vasi", json()), 3)) << ","
          << (resp.value("defined", false) ? field(Num(resp["change_percent"], 2)) : "") << ","
          << flag("pasi50") << "," << flag("pasi75") << "," << flag("pasi90") << ","
          << flag("pasi100") << "," << flag("vasi50") << "," << flag("vasi75") << ","
          << flag("vasi90") << "," << scoring::kScoringVersion << "," << prov_text << ","
          << captures << "\n";
    }
  }
}

constexpr char kCsvHeader[] =
    "subject_id,condition,visit,visit_date,pasi,pasi_continuous,pasi_complete,missing_regions,"
    "pasi_head_neck,pasi_upper_limbs,pasi_trunk,pasi_lower_limbs,bsa_percent,t_vasi,f_vasi,"
    "change_percent,pasi50,pasi75,pasi90,pasi100,vasi50,vasi75,vasi90,algorithm_version,"
    "provenance,capture_ids\n";

}  // namespace

std::string PatientReport(storage::Store& store, const std::string& patient_id, ReportFormat format,
                          const std::string& pseudonym_key) {
  const json response = json::parse(PatientResponseJson(store, patient_id, false, pseudonym_key));
  switch (format) {
    case ReportFormat::kJson:
      return response.dump(2) + "\n";
    case ReportFormat::kCsv: {
      std::ostringstream out;
      out << kCsvHeader;
      CsvRows(response, patient_id, out);
      return out.str();
    }
    case ReportFormat::kHtml:
      return HtmlReport(store, patient_id, response);
  }
  return "";
}

std::string ExportCohortCsv(storage::Store& store, const std::string& pseudonym_key) {
  std::ostringstream out;
  out << kCsvHeader;
  for (const storage::Patient& p : store.repository().ListPatients()) {
    const json response = json::parse(PatientResponseJson(store, p.info.id, true, pseudonym_key));
    CsvRows(response, SubjectId(pseudonym_key, p.info.id), out);
  }
  return out.str();
}

namespace {

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

}  // namespace

std::string ExportCohortFhir(storage::Store& store, const std::string& pseudonym_key) {
  json entries = json::array();
  const std::string device_url = Uuid(std::string("device:") + scoring::kScoringVersion);
  entries.push_back({{"fullUrl", device_url},
                     {"resource",
                      {{"resourceType", "Device"},
                       {"deviceName", {{{"name", "skintrack"}, {"type", "manufacturer-name"}}}},
                       {"version",
                        {{{"value", std::string(scoring::kScoringVersion) + " pipeline " +
                                        kPipelineVersion}}}}}}});
  for (const storage::Patient& p : store.repository().ListPatients()) {
    const std::string subject = SubjectId(pseudonym_key, p.info.id);
    const std::string patient_url = Uuid("patient:" + subject);
    entries.push_back(
        {{"fullUrl", patient_url},
         {"resource",
          {{"resourceType", "Patient"},
           {"identifier", {{{"system", "urn:skintrack:subject"}, {"value", subject}}}}}}});
    const json response = json::parse(PatientResponseJson(store, p.info.id, true, pseudonym_key));
    std::set<std::int64_t> media_done;
    for (const json& cond : response["conditions"]) {
      const bool pso = cond["condition"] == "psoriasis";
      for (const json& v : cond["visits"]) {
        if (!v.contains("score")) continue;
        json derived = json::array();
        bool confirmed = !v["captures"].empty();
        for (const json& id_json : v["captures"]) {
          const std::int64_t id = id_json.get<std::int64_t>();
          const std::string media_url = Uuid("capture:" + std::to_string(id));
          derived.push_back({{"reference", media_url}});
          confirmed = confirmed && !store.repository().AssessmentHistory(id).empty();
          if (!media_done.insert(id).second) continue;
          const auto c = store.repository().FindCapture(id);
          entries.push_back(
              {{"fullUrl", media_url},
               {"resource",
                {{"resourceType", "Media"},
                 {"status", "completed"},
                 {"identifier",
                  {{{"system", "urn:skintrack:capture-sha256"}, {"value", c->blob.sha256}}}},
                 {"subject", {{"reference", patient_url}}},
                 {"bodySite", {{"text", c->site}}},
                 {"createdDateTime", FormatRfc3339(c->captured_at)},
                 {"width", c->width},
                 {"height", c->height},
                 {"content",
                  {{"contentType", c->media_type}, {"title", "capture " + std::to_string(id)}}}}}});
        }
        const json& score = v["score"];
        auto observation = [&](const std::string& code, const std::string& display,
                               const json& value, json components) {
          json obs = {
              {"resourceType", "Observation"},
              {"status", confirmed ? "final" : "preliminary"},
              {"category",
               {{{"coding",
                  {{{"system", "http://terminology.hl7.org/CodeSystem/observation-category"},
                    {"code", "exam"}}}}}}},
              {"code", Coding(code, display)},
              {"subject", {{"reference", patient_url}}},
              {"effectiveDateTime", v["date"]},
              {"valueQuantity", value},
              {"device", {{"reference", device_url}}},
              {"derivedFrom", derived},
              {"note",
               {{{"text", "visit " + v["visit"].get<std::string>() +
                              "; scores from images are automated (skintrack), "
                              "status final only after clinician review"}}}}};
          if (!components.empty()) obs["component"] = std::move(components);
          entries.push_back({{"fullUrl", Uuid("obs:" + subject + ":" + code + ":" +
                                              v["visit"].get<std::string>())},
                             {"resource", obs}});
        };
        if (pso) {
          json comps = json::array();
          for (const json& r : score["pasi"]["regions"]) {
            const std::string region = r["region"];
            comps.push_back(
                {{"code", Coding("pasi-" + region, "PASI " + region + " contribution")},
                 {"valueQuantity", Quantity(r["contribution"].get<double>(), "score", "{score}")}});
            for (const char* sign : {"erythema", "induration", "desquamation"}) {
              comps.push_back(
                  {{"code", Coding(std::string(sign) + "-" + region,
                                   std::string(sign) + " grade " + region + " (" +
                                       r[sign].value("provenance", std::string()) + ")")},
                   {"valueInteger", r[sign]["grade"]}});
            }
          }
          observation("pasi", "Psoriasis Area and Severity Index (imaged regions)",
                      Quantity(score["pasi"]["pasi"].get<double>(), "score", "{score}"), comps);
          observation("bsa", "Involved body surface area (imaged sites)",
                      Quantity(score["bsa_percent"].get<double>(), "%", "%"), json::array());
        } else {
          json comps = json::array();
          for (const json& s : score["sites"]) {
            comps.push_back(
                {{"code", Coding("vasi-site-" + s["site"].get<std::string>(),
                                 "VASI " + s["site"].get<std::string>())},
                 {"valueQuantity", Quantity(s["vasi"].get<double>(), "hand unit", "{hand_unit}")}});
          }
          observation("t-vasi", "Total Vitiligo Area Scoring Index (imaged sites)",
                      Quantity(score["t_vasi"].get<double>(), "hand unit", "{hand_unit}"), comps);
          if (score["f_vasi"].is_number()) {
            observation("f-vasi", "Facial Vitiligo Area Scoring Index",
                        Quantity(score["f_vasi"].get<double>(), "hand unit", "{hand_unit}"),
                        json::array());
          }
        }
      }
    }
  }
  const json bundle = {{"resourceType", "Bundle"},
                       {"type", "collection"},
                       {"timestamp", FormatRfc3339(storage::NowMs())},
                       {"entry", entries}};
  return bundle.dump(2) + "\n";
}

}  // namespace skintrack::service
