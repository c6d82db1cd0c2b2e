// The per-patient HTML report: charts, a table per condition and the overlay and change-map
// figures of every capture, self-contained (images embedded) and printable.
#include <opencv2/imgcodecs.hpp>
#include <opencv2/imgproc.hpp>
#include <set>
#include <sstream>

#include "exports.h"
#include "html_chart.h"
#include "skintrack/pipeline/baseline.h"
#include "skintrack/pipeline/change.h"
#include "skintrack/pipeline/results.h"
#include "skintrack/pipeline/time_format.h"
#include "skintrack/storage/store.h"
#include "text.h"

namespace skintrack::report::detail {
namespace {

using pipeline::VisitResponse;

std::string Thumbnail(const cv::Mat& bgr, int width = 300) {
  cv::Mat small;
  const double f = std::min(1.0, double(width) / bgr.cols);
  cv::resize(bgr, small, cv::Size(), f, f, cv::INTER_AREA);
  std::vector<unsigned char> bytes;
  cv::imencode(".jpg", small, bytes, {cv::IMWRITE_JPEG_QUALITY, 82});
  return "data:image/jpeg;base64," + Base64(bytes);
}

std::string Badge(bool on, const std::string& text) {
  return std::string("<span class=\"badge ") + (on ? "yes" : "no") + "\">" + Escape(text) +
         "</span>";
}

// Overlay and change-map thumbnails of one capture; the change map is the one the API serves
// (pipeline::StoredChange), so it is the change that was stored.
std::string CaptureFigures(storage::Store& store, std::int64_t capture_id) {
  const auto c = store.repository().FindCapture(capture_id);
  if (!c) return "";
  std::ostringstream s;
  const cv::Mat image = pipeline::DecodeStoredImage(store, *c);
  const auto lesion = pipeline::LatestMask(store, c->id, pipeline::result::kLesionMask);
  const auto skin = pipeline::LatestMask(store, c->id, pipeline::result::kSkinMask);
  s << "<figure><img alt=\"capture " << c->id << " with lesions outlined\" src=\""
    << Thumbnail(lesion ? scoring::RenderOverlay(image, *lesion, skin.value_or(cv::Mat())) : image)
    << "\"><figcaption>" << Escape(c->site) << " &middot; capture " << c->id
    << (lesion ? "" : " (not segmented)") << "</figcaption></figure>";
  const auto reg = pipeline::StoredRegistration(store, *c);
  if (!reg || reg->is_baseline || !lesion) return s.str();
  const auto change = pipeline::StoredChange(store, *c);
  const auto base = store.repository().FindCapture(reg->baseline_capture_id);
  if (!change || !base) return s.str();
  char q[64];
  std::snprintf(q, sizeof q, "registration quality %.2f", reg->result.quality);
  s << "<figure><img alt=\"change against baseline\" src=\""
    << Thumbnail(
           scoring::RenderChangeMap(pipeline::DecodeStoredImage(store, *base), change->change))
    << "\"><figcaption>change vs baseline (new red, persisting yellow, cleared green); " << q
    << "</figcaption></figure>";
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

std::optional<double> MainValue(const VisitResponse& v) {
  if (v.pasi) return v.pasi->pasi.pasi;
  if (v.vasi) return v.vasi->t_vasi;
  return std::nullopt;
}

// Psoriasis: involved BSA %; vitiligo: the mean repigmentation over the sites that have one.
std::optional<double> SecondValue(const VisitResponse& v) {
  if (v.pasi) return v.pasi->bsa_percent;
  double sum = 0;
  int n = 0;
  for (const auto& [site, r] : v.repigmentation) {
    if (r.defined) {
      sum += r.percent;
      ++n;
    }
  }
  return n ? std::optional<double>(sum / n) : std::nullopt;
}

std::string Charts(const pipeline::ConditionResponse& cond) {
  const bool pso = cond.condition == Condition::kPsoriasis;
  std::vector<std::string> labels;
  std::vector<std::optional<double>> main, second;
  for (const VisitResponse& v : cond.visits) {
    labels.push_back(v.visit);
    main.push_back(MainValue(v));
    second.push_back(SecondValue(v));
  }
  const double base = !main.empty() && main.front() ? *main.front() : 0.0;
  std::string out = "<div class=\"charts\">";
  if (pso) {
    out += Chart("PASI of the imaged regions", labels, main,
                 {{"PASI75", base * 0.25}, {"PASI90", base * 0.10}}, "points");
    out += Chart("Involved BSA of the imaged sites", labels, second, {}, "% BSA");
  } else {
    out +=
        Chart("T-VASI of the imaged sites", labels, main, {{"VASI75", base * 0.25}}, "hand units");
    out += Chart("Repigmentation against baseline", labels, second, {{"G4 (>75 %)", 75.0}}, "%");
  }
  return out + "</div>";
}

// The provenance of the visit's sub-scores, e.g. "area measured, induration imputed".
std::set<std::string> ProvenanceOf(const VisitResponse& v) {
  std::set<std::string> prov;
  if (v.pasi) {
    for (const scoring::PasiRegionScore& r : v.pasi->pasi.regions) {
      prov.insert(std::string("area ") + scoring::ProvenanceName(r.input.area_provenance));
      prov.insert(std::string("erythema ") + scoring::ProvenanceName(r.input.erythema.provenance));
      prov.insert(std::string("induration ") +
                  scoring::ProvenanceName(r.input.induration.provenance));
      prov.insert(std::string("desquamation ") +
                  scoring::ProvenanceName(r.input.desquamation.provenance));
    }
  }
  if (v.vasi) {
    for (const scoring::VasiSiteScore& s : v.vasi->sites) {
      prov.insert(std::string("level ") + scoring::ProvenanceName(s.level_provenance));
    }
  }
  return prov;
}

std::string ResponseCell(const VisitResponse& v) {
  if (!v.response_defined()) return Escape(v.response_note());
  if (v.pasi_response) {
    const scoring::PasiResponse& r = *v.pasi_response;
    return Badge(r.pasi50, "PASI50") + Badge(r.pasi75, "PASI75") + Badge(r.pasi90, "PASI90") +
           Badge(r.pasi100, "PASI100");
  }
  const scoring::VasiResponse& r = *v.vasi_response;
  return Badge(r.vasi50, "VASI50") + Badge(r.vasi75, "VASI75") + Badge(r.vasi90, "VASI90");
}

std::string TableRow(const VisitResponse& v, bool pso) {
  std::ostringstream h;
  h << "<tr><td class=\"l\">" << Escape(v.visit) << "</td><td class=\"l\">"
    << Escape(Date(v.date_ms)) << "</td>";
  if (pso) {
    const auto& p = v.pasi;
    h << "<td>" << Num(p ? std::optional<double>(p->pasi.pasi) : std::nullopt) << "</td><td>"
      << Num(p ? std::optional<double>(p->pasi.pasi_continuous) : std::nullopt) << "</td><td>"
      << Num(p ? std::optional<double>(p->bsa_percent) : std::nullopt) << "</td>";
  } else {
    const auto& s = v.vasi;
    h << "<td>" << Num(s ? std::optional<double>(s->t_vasi) : std::nullopt) << "</td><td>"
      << Num(s ? std::optional<double>(s->t_vasi_continuous) : std::nullopt) << "</td><td>"
      << Num(s && s->face_imaged ? std::optional<double>(s->f_vasi) : std::nullopt) << "</td>";
  }
  std::vector<std::string> prov;
  for (const std::string& p : ProvenanceOf(v)) prov.push_back(p);
  h << "<td>" << (v.response_defined() ? Num(v.change_percent(), 1) : std::string(kAbsent))
    << "</td><td class=\"l\">" << ResponseCell(v) << "</td><td class=\"l\">"
    << Escape(Join(prov, ", ")) << "</td><td class=\"l\">";
  if (pso && v.pasi) {
    std::vector<std::string> missing;
    for (PasiRegion r : v.pasi->pasi.missing) missing.push_back(PasiRegionName(r));
    h << Escape(missing.empty() ? "" : "regions not imaged: " + Join(missing, ", "));
  }
  for (const std::string& p : v.pending_sites) h << " " << Escape(p);
  h << "</td></tr>";
  return h.str();
}

std::string ConditionSection(storage::Store& store, const pipeline::ConditionResponse& cond) {
  const bool pso = cond.condition == Condition::kPsoriasis;
  std::ostringstream h;
  h << "<h2>" << (pso ? "Psoriasis" : "Vitiligo") << "</h2>" << Charts(cond);
  h << "<table><tr><th class=\"l\">visit</th><th class=\"l\">date</th>";
  h << (pso ? "<th>PASI</th><th>PASI (continuous)</th><th>BSA %</th>"
            : "<th>T-VASI</th><th>T-VASI (continuous)</th><th>F-VASI</th>");
  h << "<th>change %</th><th class=\"l\">response</th><th class=\"l\">provenance</th>"
       "<th class=\"l\">not scored</th></tr>";
  for (const VisitResponse& v : cond.visits) h << TableRow(v, pso);
  h << "</table>";
  for (const VisitResponse& v : cond.visits) {
    h << "<h3>Visit " << Escape(v.visit) << " &middot; " << Escape(Date(v.date_ms))
      << "</h3><div class=\"figs\">";
    for (std::int64_t id : v.capture_ids) h << CaptureFigures(store, id);
    h << "</div>";
  }
  h << "<p class=\"note\">"
    << (pso ? "PASI here covers the imaged regions only; regions without a capture are missing, "
              "not zero. Induration cannot be measured from a 2-D photo: unless a clinician "
              "entered it, it is imputed from erythema and scaling and marked so."
            : "T-VASI here sums the imaged sites (1 hand unit = 1 % BSA by convention). "
              "Repigmentation is measured pixel-wise in the baseline frame after registration.")
    << "</p>";
  return h.str();
}

}  // namespace

std::string HtmlReport(storage::Store& store, const pipeline::PatientResponse& response) {
  std::ostringstream h;
  h << "<!doctype html><html lang=\"en\"><head><meta charset=\"utf-8\"><title>skintrack report "
    << Escape(response.patient) << "</title><style>" << kCss << "</style></head><body>";
  h << "<h1>Treatment response report &middot; patient " << Escape(response.patient) << "</h1>";
  h << "<div class=\"meta\">generated " << pipeline::FormatRfc3339(storage::NowMs())
    << " by skintrack (pipeline " << pipeline::kPipelineVersion << ", " << scoring::kScoringVersion
    << "). Scores from images are automated measurements; grades entered by a clinician and "
       "imputed values are marked.</div>";
  if (response.conditions.empty()) h << "<p>No captures yet.</p>";
  for (const pipeline::ConditionResponse& cond : response.conditions) {
    h << ConditionSection(store, cond);
  }
  h << "</body></html>\n";
  return h.str();
}

}  // namespace skintrack::report::detail
