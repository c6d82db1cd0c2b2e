// `skintrack demo`: the whole product on synthetic patients. Generates phantom series (psoriasis
// and vitiligo, several sites, mixed skin types, responders and a non-responder), starts the
// service on an embedded database, pushes every capture over HTTP as a device would, waits for
// processing, prints a treatment-response summary beside the phantoms' true values, writes the
// HTML reports and the cohort exports, then serves until interrupted (or exits with --exit).
#include <signal.h>

#include <chrono>
#include <cmath>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <functional>
#include <nlohmann/json.hpp>
#include <opencv2/imgcodecs.hpp>
#include <optional>
#include <ostream>
#include <thread>

#include "command.h"
#include "skintrack/core/error.h"
#include "skintrack/phantom/phantom.h"
#include "skintrack/pipeline/pseudonym.h"
#include "skintrack/pipeline/response.h"
#include "skintrack/pipeline/results.h"
#include "skintrack/report/report.h"
#include "skintrack/scoring/scores.h"
#include "skintrack/service/http_client.h"
#include "skintrack/service/service.h"
#include "skintrack/storage/store.h"

namespace skintrack::cli {
namespace {

using nlohmann::json;
using service::LoopbackRequest;

constexpr char kUsage[] = R"(usage: skintrack demo [--out DIR] [--port N] [--size WxH] [--exit]

Runs the whole product on synthetic patients: phantom series -> service on an embedded database
(DIR/data, recreated) -> captures pushed over HTTP as a device -> processing -> summary against
the phantoms' truth -> HTML reports and cohort exports in DIR -> serves the API until Ctrl-C.
With --exit it stops after the summary and exits non-zero when the measured response disagrees
with the truth (scripted use, CI).

options:
  --out DIR    output folder (default demo-output)
  --port N     port to serve on (default 8080; with --exit an ephemeral port)
  --size WxH   capture size (default 800x600)
  --exit       do not keep serving; check the summary against the truth
)";

struct DemoSite {
  std::string site;
  int fitzpatrick;
  std::uint64_t seed;
};
struct DemoPatient {
  std::string id;
  Condition condition;
  phantom::Response response;
  std::vector<DemoSite> sites;
};

const std::vector<DemoPatient>& Patients() {
  static const std::vector<DemoPatient> kPatients = {
      {"DEMO-01",
       Condition::kPsoriasis,
       phantom::Response::kResponder,
       {{"left-forearm", 3, 101}, {"trunk-posterior", 3, 102}}},
      {"DEMO-02",
       Condition::kPsoriasis,
       phantom::Response::kNonResponder,
       {{"left-lower-leg", 5, 201}}},
      {"DEMO-03",
       Condition::kVitiligo,
       phantom::Response::kResponder,
       {{"face", 4, 301}, {"left-hand", 4, 302}}},
      {"DEMO-04", Condition::kVitiligo, phantom::Response::kPartial, {{"right-hand", 6, 401}}},
  };
  return kPatients;
}

constexpr int kVisits = 4;
// The patient whose first site's baseline the clinician corrects in step 6.
constexpr std::size_t kLearningPatient = 1;

// The score a visit would have with the phantom's true areas and grades.
double TrueVisitScore(const DemoPatient& p, const std::vector<phantom::Series>& series, int k) {
  if (p.condition == Condition::kPsoriasis) {
    std::vector<scoring::PsoriasisSiteMeasurement> sites;
    for (const phantom::Series& s : series) {
      const phantom::VisitTruth& t = s.visits[k].truth;
      scoring::PsoriasisSiteMeasurement m;
      m.site = s.site;
      m.lesion_fraction = t.lesion_fraction_site;
      m.erythema = {t.erythema_grade, scoring::Provenance::kClinician, std::nullopt, "truth"};
      m.induration = {t.induration_grade, scoring::Provenance::kClinician, std::nullopt, "truth"};
      m.desquamation = {t.scaling_grade, scoring::Provenance::kClinician, std::nullopt, "truth"};
      sites.push_back(m);
    }
    return scoring::ScorePsoriasisVisit(sites).pasi.pasi;
  }
  std::vector<scoring::VasiSiteInput> sites;
  for (const phantom::Series& s : series) {
    const phantom::VisitTruth& t = s.visits[k].truth;
    scoring::VasiSiteInput v;
    v.site = s.site;
    v.envelope_fraction = t.envelope_fraction;
    v.depigmentation_percent = 100.0 * t.depigmentation;
    sites.push_back(v);
  }
  return scoring::ComputeVasi(sites).t_vasi;
}

using Cohort = std::vector<std::vector<phantom::Series>>;  // per patient, per site

cv::Size ParseSize(const std::optional<std::string>& text) {
  cv::Size size(800, 600);
  if (!text) return size;
  const size_t x = text->find('x');
  if (x == std::string::npos) throw Error(ErrorCode::kInvalidArgument, "--size must be WxH");
  size = cv::Size(static_cast<int>(ParseInt(text->substr(0, x), "--size width")),
                  static_cast<int>(ParseInt(text->substr(x + 1), "--size height")));
  if (size.width < 200 || size.height < 150 || size.width > 4000 || size.height > 4000) {
    throw Error(ErrorCode::kInvalidArgument, "--size must be between 200x150 and 4000x4000");
  }
  return size;
}

// OUT/data, recreated (refusing a folder that is not a skintrack data directory).
std::filesystem::path FreshDataDir(const std::string& out_dir) {
  namespace fs = std::filesystem;
  fs::path data = fs::path(out_dir) / "data";
  if (fs::exists(data)) {
    if (!fs::exists(data / "skintrack.db")) {
      throw Error(ErrorCode::kConflict, data.string() +
                                            " exists and is not a skintrack data "
                                            "directory: choose another --out");
    }
    fs::remove_all(data);
  }
  fs::create_directories(out_dir);
  return data;
}

// 1. Phantom series for every demo patient and site.
Cohort GeneratePhantoms(cv::Size size, std::ostream& out) {
  Cohort all;
  for (const DemoPatient& p : Patients()) {
    std::vector<phantom::Series> series;
    for (const DemoSite& s : p.sites) {
      phantom::PhantomOptions o;
      o.condition = p.condition;
      o.visits = kVisits;
      o.seed = s.seed;
      o.fitzpatrick = s.fitzpatrick;
      o.size = size;
      o.site = s.site;
      o.response = p.response;
      o.max_rotation_deg = 30;
      series.push_back(phantom::GeneratePhantom(o));
      out << "      " << p.id << " " << s.site << " (Fitzpatrick " << s.fitzpatrick << ", "
          << phantom::ResponseName(p.response) << ")" << std::endl;
    }
    all.push_back(std::move(series));
  }

  return all;
}

struct DemoTokens {
  std::string device, clinician;
};

// The demo patients, a device token scoped to them and a clinician token.
DemoTokens RegisterPatients(storage::Store& store) {
  storage::NewToken nt;
  nt.role = storage::Role::kDevice;
  nt.label = "demo device";
  for (const DemoPatient& p : Patients()) {
    storage::PatientInfo info;
    info.id = p.id;
    info.fitzpatrick = p.sites.front().fitzpatrick;
    store.repository().CreatePatient(info, "demo");
    nt.patient_scope.push_back(p.id);
  }
  DemoTokens tokens;
  tokens.device = store.repository().CreateToken(nt, "demo").token;
  nt.role = storage::Role::kClinician;
  nt.label = "demo clinician";
  nt.patient_scope.clear();
  tokens.clinician = store.repository().CreateToken(nt, "demo").token;
  return tokens;
}

// Capture ids per patient, site and visit.
using CaptureIds = std::vector<std::vector<std::vector<std::int64_t>>>;

// 3. Every capture over HTTP as the device would push it.
CaptureIds PushCaptures(int port, const std::string& device, const Cohort& all, int total,
                        std::ostream& out) {
  CaptureIds ids(all.size());
  for (size_t i = 0; i < all.size(); ++i) ids[i].assign(all[i].size(), {});
  int pushed = 0;
  for (size_t i = 0; i < Patients().size(); ++i) {
    const DemoPatient& p = Patients()[i];
    for (int k = 0; k < kVisits; ++k) {
      for (size_t j = 0; j < all[i].size(); ++j) {
        const phantom::Series& s = all[i][j];
        std::vector<unsigned char> jpeg;
        cv::imencode(".jpg", s.visits[k].image, jpeg, {cv::IMWRITE_JPEG_QUALITY, 92});
        char when[32];
        std::snprintf(when, sizeof when, "2026-%02d-15T10:%02d:00Z", 1 + 2 * k,
                      static_cast<int>(i));
        const std::string target = "/v1/patients/" + p.id + "/sites/" + s.site +
                                   "/captures?condition=" + ConditionName(p.condition) +
                                   "&captured_at=" + when + "&visit=week-" + std::to_string(8 * k);
        const service::HttpReply r = LoopbackRequest(
            port, "POST", target, device, std::string(jpeg.begin(), jpeg.end()), "image/jpeg");
        if (r.status != 201) {
          throw Error(ErrorCode::kInternal,
                      "push failed with HTTP " + std::to_string(r.status) + ": " + r.body);
        }
        ++pushed;
        ids[i][j].push_back(json::parse(r.body)["id"].get<std::int64_t>());
        out << "      [" << pushed << "/" << total << "] " << p.id << " " << s.site << " week "
            << 8 * k << " -> capture " << ids[i][j].back() << std::endl;
      }
    }
  }
  return ids;
}

// 4. Until every capture is processed or failed.
void WaitForProcessing(int port, int total, const std::function<double()>& elapsed,
                       std::ostream& out) {
  long long last = -1;
  while (true) {
    const json q = json::parse(LoopbackRequest(port, "GET", "/healthz", "", "", "").body)["queue"];
    const long long done = q["processed"].get<long long>() + q["failed"].get<long long>();
    if (done != last) {
      out << "      " << done << "/" << total << " processed (" << static_cast<int>(elapsed())
          << " s)" << std::endl;
      last = done;
    }
    if (done >= total) break;
    std::this_thread::sleep_for(std::chrono::milliseconds(500));
  }
}

// 5. The measured response beside the truth; returns whether the responder status at 50 % and
// 75 % at the last visit matches the truth for every patient.
bool PrintSummary(storage::Store& store, const Cohort& all, std::ostream& out) {
  bool agree = true;
  char line[256];
  for (size_t i = 0; i < Patients().size(); ++i) {
    const DemoPatient& p = Patients()[i];
    const pipeline::ConditionResponse resp =
        pipeline::ComputePatientResponse(store, p.id).conditions.at(0);
    const bool pso = p.condition == Condition::kPsoriasis;
    std::string sites;
    for (const auto& s : p.sites) sites += (sites.empty() ? "" : ", ") + s.site;
    out << "  " << p.id << "  " << ConditionName(p.condition) << "  " << sites << "  ("
        << phantom::ResponseName(p.response) << ")\n";
    out << (pso ? "    visit     PASI          BSA %   change %       PASI75\n"
                : "    visit     T-VASI        change %       VASI75\n");
    const double true0 = TrueVisitScore(p, all[i], 0);
    for (int k = 0; k < kVisits; ++k) {
      const pipeline::VisitResponse& v = resp.visits.at(static_cast<size_t>(k));
      const double t = TrueVisitScore(p, all[i], k);
      const double true_change = true0 > 0 ? 100.0 * (true0 - t) / true0 : 0.0;
      const double m = pso ? v.pasi.value().pasi.pasi : v.vasi.value().t_vasi;
      const double change = v.change_percent().value_or(0.0);
      const bool r75 = pso ? v.pasi_response.value().pasi75 : v.vasi_response.value().vasi75;
      const bool t75 = true_change >= 75.0 - 1e-9;
      if (pso) {
        std::snprintf(line, sizeof line,
                      "    %-8s %5.2f (%5.2f)  %5.2f  %6.1f (%6.1f)  %-3s (%s)\n", v.visit.c_str(),
                      m, t, v.pasi->bsa_percent, change, true_change, r75 ? "yes" : "no",
                      t75 ? "yes" : "no");
      } else {
        std::snprintf(line, sizeof line, "    %-8s %5.2f (%5.2f)  %6.1f (%6.1f)  %-3s (%s)\n",
                      v.visit.c_str(), m, t, change, true_change, r75 ? "yes" : "no",
                      t75 ? "yes" : "no");
      }
      out << line;
      // The self-check: at the last visit the responder status at the 50 % and 75 % levels
      // matches the truth (what a trial would report for this patient).
      if (k == kVisits - 1) {
        for (double level : {50.0, 75.0}) {
          if ((change >= level) != (true_change >= level)) agree = false;
        }
      }
    }
  }
  out << "  (true values: the phantom's own areas and grades scored with the same formulas;\n"
         "   the check: responder status at 50 % and 75 % at the last visit matches the truth)\n";

  return agree;
}

// The stored lesion mask of a capture against the phantom's truth.
struct MaskError {
  double dice = 0;
  double area_error_points = 0;  // measured minus true lesion share of the photo, points
  std::string segmenter;
};
MaskError ErrorAgainstTruth(storage::Store& store, std::int64_t capture, const cv::Mat& truth) {
  const auto mask = pipeline::LatestMask(store, capture, pipeline::result::kLesionMask);
  const auto stored = pipeline::LatestResult(store, capture, pipeline::result::kLesionMask);
  if (!mask || !stored || mask->size() != truth.size()) {
    throw Error(ErrorCode::kInternal, "capture " + std::to_string(capture) + " has no lesion mask");
  }
  const double both = cv::countNonZero(*mask & truth);
  const double measured = cv::countNonZero(*mask), expected = cv::countNonZero(truth);
  MaskError e;
  e.dice = measured + expected > 0 ? 2.0 * both / (measured + expected) : 1.0;
  e.area_error_points = 100.0 * (measured - expected) / static_cast<double>(truth.total());
  const json provenance = json::parse(stored->provenance_json);
  e.segmenter = provenance.value("segmenter", "") + " [model " +
                provenance.value("model_id", json("none")).dump() + "]";
  return e;
}

// 6. The learning loop on one site: a clinician corrects the baseline's lesion mask (the phantom's
// truth stands for the correction) over the API; the site's follow-ups are requeued and segmented
// again with the patient reference fitted on it. Prints their error against the truth before and
// after, and their means.
void CorrectBaseline(storage::Store& store, int port, const std::string& clinician,
                     const std::vector<std::int64_t>& ids, const phantom::Series& series,
                     const std::function<double()>& elapsed, int total, std::ostream& out) {
  std::vector<MaskError> before;
  for (int k = 1; k < kVisits; ++k) {
    before.push_back(ErrorAgainstTruth(store, ids[k], series.visits[k].lesion_mask));
  }
  std::vector<unsigned char> png;
  cv::imencode(".png", series.visits[0].lesion_mask, png);
  const service::HttpReply r =
      LoopbackRequest(port, "PUT", "/v1/captures/" + std::to_string(ids[0]) + "/mask", clinician,
                      std::string(png.begin(), png.end()), "image/png");
  if (r.status != 201) {
    throw Error(ErrorCode::kInternal,
                "mask correction failed with HTTP " + std::to_string(r.status) + ": " + r.body);
  }
  out << "      corrected lesion mask of capture " << ids[0] << " (" << series.site
      << ", baseline) submitted by the clinician; follow-ups requeued" << std::endl;
  WaitForProcessing(port, total, elapsed, out);
  double dice_before = 0, dice_after = 0, area_before = 0, area_after = 0;
  char line[200];
  out << "      follow-up  Dice before -> after   lesion-area error (points) before -> after\n";
  for (int k = 1; k < kVisits; ++k) {
    const MaskError& b = before[static_cast<size_t>(k - 1)];
    const MaskError a = ErrorAgainstTruth(store, ids[k], series.visits[k].lesion_mask);
    std::snprintf(line, sizeof line, "      week-%-3d   %.3f -> %.3f          %+6.2f -> %+6.2f\n",
                  8 * k, b.dice, a.dice, b.area_error_points, a.area_error_points);
    out << line;
    if (k == 1)
      out << "        before: " << b.segmenter << "\n        after:  " << a.segmenter << "\n";
    dice_before += b.dice / (kVisits - 1);
    dice_after += a.dice / (kVisits - 1);
    area_before += std::abs(b.area_error_points) / (kVisits - 1);
    area_after += std::abs(a.area_error_points) / (kVisits - 1);
  }
  std::snprintf(line, sizeof line,
                "      mean       %.3f -> %.3f          |%.2f| -> |%.2f|  (patient reference "
                "fitted on the corrected baseline)\n",
                dice_before, dice_after, area_before, area_after);
  out << line;
}

// 7. The HTML reports and the cohort exports in `out_dir`.
void WriteReports(storage::Store& store, const std::filesystem::path& data,
                  const std::string& out_dir, std::ostream& out) {
  namespace fs = std::filesystem;
  const pipeline::PseudonymKey key = pipeline::LoadOrCreatePseudonymKey(data.string());
  for (const DemoPatient& p : Patients()) {
    const fs::path report = fs::path(out_dir) / ("report-" + p.id + ".html");
    std::ofstream(report) << report::PatientReport(store, p.id, report::ReportFormat::kHtml);
    out << "      " << report.string() << std::endl;
  }
  std::ofstream(fs::path(out_dir) / "cohort.csv") << report::ExportCohortCsv(store, key);
  std::ofstream(fs::path(out_dir) / "cohort-fhir.json") << report::ExportCohortFhir(store, key);
  out << "      " << (fs::path(out_dir) / "cohort.csv").string() << ", "
      << (fs::path(out_dir) / "cohort-fhir.json").string() << std::endl;
}

int RunDemo(Args& args, std::ostream& out) {
  const std::string out_dir = args.Get("out").value_or("demo-output");
  const bool exit_after = args.Flag("exit");
  const int port_opt = static_cast<int>(args.GetInt("port", exit_after ? 0 : 8080, 0, 65535));
  const cv::Size size = ParseSize(args.Get("size"));
  args.CheckNoneLeft();
  // Ctrl-C / SIGTERM are taken by sigwait at the end: block them before any thread starts.
  sigset_t signals;
  sigemptyset(&signals);
  sigaddset(&signals, SIGINT);
  sigaddset(&signals, SIGTERM);
  if (!exit_after) pthread_sigmask(SIG_BLOCK, &signals, nullptr);
  const std::filesystem::path data = FreshDataDir(out_dir);
  const auto t_start = std::chrono::steady_clock::now();
  auto elapsed = [&] {
    return std::chrono::duration<double>(std::chrono::steady_clock::now() - t_start).count();
  };

  out << "[1/7] generating phantom series (" << size.width << "x" << size.height << ", " << kVisits
      << " visits each)" << std::endl;
  const Cohort all = GeneratePhantoms(size, out);

  service::ServiceOptions so;
  so.data_dir = data.string();
  so.server.port = port_opt;
  so.pipeline.workers = 2;
  so.log_requests = false;
  service::Service svc(so);
  const DemoTokens tokens = RegisterPatients(svc.store());
  const int port = svc.Start();
  out << "[2/7] service on http://127.0.0.1:" << port << " (data " << data.string() << ")"
      << std::endl;

  int total = 0;
  for (const auto& series : all) total += static_cast<int>(series.size()) * kVisits;
  out << "[3/7] pushing " << total << " captures over HTTP as a device" << std::endl;
  const CaptureIds ids = PushCaptures(port, tokens.device, all, total, out);
  out << "[4/7] processing (quality gate, registration, segmentation, scores)" << std::endl;
  WaitForProcessing(port, total, elapsed, out);
  out << "[5/7] treatment response: measured (true)" << std::endl;
  const bool agree = PrintSummary(svc.store(), all, out);
  const std::size_t lp = kLearningPatient;
  out << "[6/7] learning from the clinician: " << Patients()[lp].id << " " << all[lp][0].site
      << ", lesion mask against the phantom's truth" << std::endl;
  CorrectBaseline(svc.store(), port, tokens.clinician, ids[lp][0], all[lp][0], elapsed, total, out);
  out << "[7/7] reports and exports" << std::endl;
  WriteReports(svc.store(), data, out_dir, out);
  char line[160];
  std::snprintf(line, sizeof line, "demo finished in %.0f s: %d captures, summary %s the truth\n",
                elapsed(), total, agree ? "agrees with" : "DISAGREES with");
  out << line;
  if (exit_after) {
    svc.Stop();
    return agree ? 0 : 1;
  }
  out << "\nDashboard: http://127.0.0.1:" << port
      << "/   (sign in with the clinician token below)\n"
      << "API:       http://127.0.0.1:" << port << "/v1/patients\n"
      << "clinician token: " << tokens.clinician << "\nserving until Ctrl-C" << std::endl;
  int sig = 0;
  sigwait(&signals, &sig);
  svc.Stop();
  return agree ? 0 : 1;
}

const bool kRegistered = RegisterCommand(
    {"demo", "run the whole product on synthetic patients (main job)", kUsage, {"exit"}, RunDemo});

}  // namespace
}  // namespace skintrack::cli
