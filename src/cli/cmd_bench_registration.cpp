// `skintrack bench-registration`: accuracy, failure flagging and speed of RegisterToBaseline on
// phantom pairs with known truth, side by side with Debian's elastix on the same pairs, plus the
// real serial pairs (quality score and overlays). A benchmark: never part of the test run.
#include <sys/resource.h>
#include <sys/wait.h>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <iomanip>
#include <map>
#include <opencv2/imgcodecs.hpp>
#include <opencv2/imgproc.hpp>
#include <ostream>
#include <sstream>
#include <string>
#include <vector>

#include "command.h"
#include "skintrack/core/error.h"
#include "skintrack/phantom/phantom.h"
#include "skintrack/registration/registration.h"
#include "skintrack/scoring/segmentation.h"

namespace skintrack::cli {
namespace {

namespace fs = std::filesystem;
namespace reg = skintrack::registration;

constexpr char kUsage[] = R"(usage: skintrack bench-registration [options]

Generates phantom series (every Fitzpatrick type, psoriasis and vitiligo; rotation up to 45 deg,
scale 0.75-1.33, shift up to 25 % of the width), registers every follow-up visit to its baseline
and prints the error of the estimated mapping against the truth over a grid of skin pixels.
Scenarios: geometry-only (static lesions, no lighting change) and lighting + lesion change.

options:
  --out DIR            work folder for elastix files and overlays (default /tmp/skintrack-bench-reg)
  --series N           series per (Fitzpatrick type, condition, scenario) (default 1)
  --visits V           visits per series, V-1 pairs each (default 3)
  --size WxH           phantom size (default 1633x1225, 2 MP)
  --seed S             first phantom seed (default 100)
  --model M            rigid | similarity (default) | affine
  --masks MODE         regions of interest passed to the registration:
                       pipeline (default): skin minus lesions from the classical segmenter, as the
                       service pipeline passes them; truth: skin minus lesions (grown 7 px) from
                       the phantom truth; none: whole images
  --elastix            also run `elastix` (rigid -> affine) on every pair
  --elastix-pairs N    ... but only on the first N pairs of each scenario (default all)
  --elastix-mask       ... with the fixed region of interest as -fMask (default: whole images,
                       elastix's better configuration on these pairs)
  --elastix-params DIR folder with par_photo_rigid.txt, par_photo_affine.txt
                       (default ../shared/elastix)
  --big N              also time N pairs at 12 MP (4000x3000) (default 0)
  --real DIR           real pairs *_A.png / *_B.png (default ../shared/data/serial-pairs; skipped
                       with a message when absent); overlays go to OUT/real
  --threads N          ITK work units of the metric (default 1; elastix gets 2)
  --scenario S         only geometry-only or lighting+lesion
  --no-polish          skip the final sub-pixel polish
  --polish-points N    pixels of the polish (default that of RegistrationOptions)
  --levels N, --samples N, --iterations N, --working-size PX, --feature-size PX
                       registration options (defaults: those of RegistrationOptions)
  --verbose            one line per pair
  --real-only          only the real pairs
  --deformation PX     only: phantoms with a smooth non-rigid deformation of this amplitude,
                       registered without and with the deformable stage
)";

cv::Size ParseSize(const std::string& text) {
  const std::size_t x = text.find('x');
  if (x == std::string::npos) throw Error(ErrorCode::kInvalidArgument, "--size must be WxH");
  const long long w = ParseInt(text.substr(0, x), "--size width");
  const long long h = ParseInt(text.substr(x + 1), "--size height");
  if (w < 64 || h < 64 || w > 8000 || h > 8000) {
    throw Error(ErrorCode::kInvalidArgument, "--size must be between 64x64 and 8000x8000");
  }
  return {static_cast<int>(w), static_cast<int>(h)};
}

double Percentile(std::vector<double> v, double q) {
  if (v.empty()) return NAN;
  std::sort(v.begin(), v.end());
  const double pos = q * static_cast<double>(v.size() - 1);
  const std::size_t i = static_cast<std::size_t>(pos);
  const double f = pos - static_cast<double>(i);
  return i + 1 < v.size() ? v[i] * (1 - f) + v[i + 1] * f : v[i];
}

// CPU seconds of this process (all threads) or of its waited-for children: on a shared machine
// wall time measures the neighbours too, CPU time mostly does not.
double CpuSeconds(int who) {
  rusage u{};
  getrusage(who, &u);
  return static_cast<double>(u.ru_utime.tv_sec + u.ru_stime.tv_sec) +
         1e-6 * static_cast<double>(u.ru_utime.tv_usec + u.ru_stime.tv_usec);
}

double Mean(const std::vector<double>& v) {
  if (v.empty()) return NAN;
  double s = 0;
  for (double x : v) s += x;
  return s / static_cast<double>(v.size());
}

struct PairError {
  double mean = NAN, p95 = NAN;
};

// Distance between the estimated and the true mapping over a 16-pixel grid of the moving visit's
// skin pixels whose true baseline position lies inside the baseline image.
template <typename MapFn>
PairError ErrorOf(const phantom::Series& series, int visit, MapFn&& estimate) {
  const phantom::Visit& v = series.visits[static_cast<std::size_t>(visit)];
  const cv::Size size = series.options.size;
  std::vector<double> d;
  for (int y = 0; y < v.image.rows; y += 16) {
    for (int x = 0; x < v.image.cols; x += 16) {
      if (v.skin_mask.at<unsigned char>(y, x) == 0) continue;
      const cv::Point2d truth = series.MapToBaseline(visit, cv::Point2d(x, y));
      if (truth.x < 0 || truth.y < 0 || truth.x > size.width - 1 || truth.y > size.height - 1) {
        continue;
      }
      d.push_back(cv::norm(estimate(cv::Point2d(x, y)) - truth));
    }
  }
  PairError e;
  if (!d.empty()) {
    e.mean = Mean(d);
    e.p95 = Percentile(d, 0.95);
  }
  return e;
}

cv::Point2d Apply(const cv::Matx23d& m, const cv::Point2d& p) {
  return {m(0, 0) * p.x + m(0, 1) * p.y + m(0, 2), m(1, 0) * p.x + m(1, 1) * p.y + m(1, 2)};
}

cv::Mat Grey8(const cv::Mat& bgr) {
  cv::Mat g;
  cv::cvtColor(bgr, g, cv::COLOR_BGR2GRAY);
  return g;
}

// ---- elastix ---------------------------------------------------------------------------------

// One elastix TransformParameters file as T(x) = A (x - c) + t + c, fixed -> moving.
struct ElastixTransform {
  cv::Matx22d a = cv::Matx22d::eye();
  cv::Vec2d t{0, 0}, c{0, 0};
  cv::Point2d operator()(const cv::Point2d& p) const {
    const cv::Vec2d d(p.x - c[0], p.y - c[1]);
    const cv::Vec2d r = a * d + t + c;
    return {r[0], r[1]};
  }
};

std::vector<double> ReadNumbers(const std::string& text, const std::string& key) {
  const std::size_t at = text.find("(" + key + " ");
  if (at == std::string::npos) return {};
  const std::size_t end = text.find(')', at);
  std::istringstream in(text.substr(at + key.size() + 2, end - at - key.size() - 2));
  std::vector<double> v;
  double x;
  while (in >> x) v.push_back(x);
  return v;
}

ElastixTransform ReadElastix(const fs::path& file) {
  std::ifstream in(file);
  if (!in) throw Error(ErrorCode::kIo, "elastix wrote no " + file.string());
  std::stringstream ss;
  ss << in.rdbuf();
  const std::string text = ss.str();
  const std::vector<double> p = ReadNumbers(text, "TransformParameters");
  const std::vector<double> c = ReadNumbers(text, "CenterOfRotationPoint");
  ElastixTransform t;
  if (c.size() == 2) t.c = {c[0], c[1]};
  if (text.find("(Transform \"EulerTransform\")") != std::string::npos && p.size() == 3) {
    const double co = std::cos(p[0]), si = std::sin(p[0]);
    t.a = cv::Matx22d(co, -si, si, co);
    t.t = {p[1], p[2]};
  } else if (text.find("(Transform \"AffineTransform\")") != std::string::npos && p.size() == 6) {
    t.a = cv::Matx22d(p[0], p[1], p[2], p[3]);
    t.t = {p[4], p[5]};
  } else {
    throw Error(ErrorCode::kInternal, "unexpected transform in " + file.string());
  }
  return t;
}

struct ElastixRun {
  bool ok = false;
  double seconds = 0, cpu_seconds = 0;
  cv::Matx23d moving_to_fixed;  // inverse of affine(rigid(x))
  std::string error;
};

// `fixed_mask`, when not empty, goes to elastix as -fMask (a 0/1 PNG), the usage the tuned
// parameter files document. Off by default (--elastix-mask): with the pipeline's masks elastix
// 5.0.1 converged on fewer pairs (2 of 12 geometry-only pairs against 6 of 12 without), so the
// comparison is against its better configuration. Never -mMask: with it elastix stopped on 15 of
// 24 pairs ("Too many samples map outside moving image buffer").
ElastixRun RunElastix(const cv::Mat& fixed_grey, const cv::Mat& moving_grey,
                      const cv::Mat& fixed_mask, const fs::path& dir, const fs::path& params,
                      int threads) {
  ElastixRun run;
  fs::remove_all(dir);
  fs::create_directories(dir);
  const std::string f = (dir / "fixed.png").string(), m = (dir / "moving.png").string();
  cv::imwrite(f, fixed_grey);
  cv::imwrite(m, moving_grey);
  std::string mask_args;
  const auto add_mask = [&](const cv::Mat& mask, const char* name, const char* option) {
    if (mask.empty()) return;
    const std::string path = (dir / name).string();
    cv::imwrite(path, (mask > 0) & 1);
    mask_args += std::string(" ") + option + " '" + path + "'";
  };
  add_mask(fixed_mask, "fixed_mask.png", "-fMask");
  const std::string command = "elastix -f '" + f + "' -m '" + m + "'" + mask_args + " -p '" +
                              (params / "par_photo_rigid.txt").string() + "' -p '" +
                              (params / "par_photo_affine.txt").string() + "' -out '" +
                              dir.string() + "' -threads " + std::to_string(threads) + " > '" +
                              (dir / "stdout.txt").string() + "' 2>&1";
  const auto t0 = std::chrono::steady_clock::now();
  const double c0 = CpuSeconds(RUSAGE_CHILDREN);
  const int status = std::system(command.c_str());
  run.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  run.cpu_seconds = CpuSeconds(RUSAGE_CHILDREN) - c0;
  if (status != 0) {
    run.error = "elastix exit status " + std::to_string(status);
    return run;
  }
  try {
    // elastix composes chained files as second(first(x)), both fixed -> moving.
    const ElastixTransform first = ReadElastix(dir / "TransformParameters.0.txt");
    const ElastixTransform second = ReadElastix(dir / "TransformParameters.1.txt");
    const cv::Point2d o = second(first({0, 0})), ex = second(first({1, 0})),
                      ey = second(first({0, 1}));
    const cv::Matx33d fixed_to_moving(ex.x - o.x, ey.x - o.x, o.x, ex.y - o.y, ey.y - o.y, o.y, 0,
                                      0, 1);
    const cv::Matx33d inv = fixed_to_moving.inv();
    run.moving_to_fixed =
        cv::Matx23d(inv(0, 0), inv(0, 1), inv(0, 2), inv(1, 0), inv(1, 1), inv(1, 2));
    run.ok = true;
  } catch (const Error& e) {
    run.error = e.what();
  }
  return run;
}

// ---- phantom pairs ---------------------------------------------------------------------------

struct Row {
  std::string scenario;
  int fitzpatrick = 0;
  std::string condition;
  double truth_rotation = 0, truth_scale = 1;
  PairError ours;
  bool converged = false;
  bool refined = false;
  double seconds = 0, cpu_seconds = 0;
  double quality = 0;
  bool elastix_ran = false;
  PairError elastix;
  double elastix_seconds = 0, elastix_cpu_seconds = 0;
};

void PrintSummary(const std::string& scenario, const std::vector<Row>& rows, std::ostream& out) {
  std::vector<double> means, p95s, seconds, cpu, e_means, e_seconds, e_cpu;
  int success = 0, flagged = 0, silent = 0, false_alarm = 0, refined = 0;
  int e_ran = 0, e_success = 0, ours_as_good = 0;
  std::vector<double> speedups, cpu_speedups;
  for (const Row& r : rows) {
    if (r.scenario != scenario) continue;
    const double m = std::isnan(r.ours.mean) ? 1e9 : r.ours.mean;
    means.push_back(m);
    p95s.push_back(std::isnan(r.ours.p95) ? 1e9 : r.ours.p95);
    seconds.push_back(r.seconds);
    cpu.push_back(r.cpu_seconds);
    if (r.refined) ++refined;
    const bool ok = m < 1.0;
    if (ok) ++success;
    if (!ok && !r.converged) ++flagged;
    if (!ok && r.converged) ++silent;
    if (ok && !r.converged) ++false_alarm;
    if (r.elastix_ran) {
      ++e_ran;
      const double em = std::isnan(r.elastix.mean) ? 1e9 : r.elastix.mean;
      e_means.push_back(em);
      e_seconds.push_back(r.elastix_seconds);
      e_cpu.push_back(r.elastix_cpu_seconds);
      if (em < 1.0) ++e_success;
      // "At least as accurate": not worse than elastix by more than 0.01 px.
      if (m <= em + 0.01) ++ours_as_good;
      speedups.push_back(r.elastix_seconds / std::max(1e-9, r.seconds));
      cpu_speedups.push_back(r.elastix_cpu_seconds / std::max(1e-9, r.cpu_seconds));
    }
  }
  const int n = static_cast<int>(means.size());
  if (n == 0) return;
  out << std::fixed << std::setprecision(3);
  out << "\n== " << scenario << ": " << n << " pairs\n";
  out << "skintrack  error mean over pairs " << Mean(means) << " px, median "
      << Percentile(means, 0.5) << ", p95 of pair means " << Percentile(means, 0.95)
      << "; point p95 median " << Percentile(p95s, 0.5) << ", worst " << Percentile(p95s, 1.0)
      << "\n";
  out << "           success (mean < 1 px) " << success << "/" << n << " = " << 100.0 * success / n
      << " %; failures flagged converged=false " << flagged << ", silent " << silent
      << "; good but flagged " << false_alarm << "; ITK refinement kept " << refined << "/" << n
      << "\n";
  out << "           wall time median " << Percentile(seconds, 0.5) << " s, p95 "
      << Percentile(seconds, 0.95) << " s; CPU time median " << Percentile(cpu, 0.5) << " s\n";
  if (e_ran > 0) {
    out << "elastix    pairs " << e_ran << ", error mean " << Mean(e_means) << " px, median "
        << Percentile(e_means, 0.5) << ", success " << e_success << "/" << e_ran << "; time median "
        << Percentile(e_seconds, 0.5) << " s wall, " << Percentile(e_cpu, 0.5) << " s CPU\n";
    out << "side by side: skintrack at least as accurate on " << ours_as_good << "/" << e_ran
        << " = " << 100.0 * ours_as_good / e_ran << " % of pairs; speed-up median "
        << Percentile(speedups, 0.5) << "x (wall), min " << Percentile(speedups, 0.0)
        << "x; CPU-time ratio median " << Percentile(cpu_speedups, 0.5) << "x, min "
        << Percentile(cpu_speedups, 0.0) << "x\n";
  }
}

enum class MaskMode { kPipeline, kTruth, kNone };

MaskMode ParseMaskMode(const std::string& text) {
  if (text == "pipeline") return MaskMode::kPipeline;
  if (text == "truth") return MaskMode::kTruth;
  if (text == "none") return MaskMode::kNone;
  throw Error(ErrorCode::kInvalidArgument, "--masks must be pipeline, truth or none");
}

const char* MaskModeName(MaskMode mode) {
  switch (mode) {
    case MaskMode::kPipeline:
      return "skin-minus-lesion masks from the classical segmenter (as the pipeline)";
    case MaskMode::kTruth:
      return "skin-minus-lesion masks from the phantom truth";
    case MaskMode::kNone:
      break;
  }
  return "no masks";
}

cv::Mat SkinMinusLesion(const phantom::Visit& v) {
  cv::Mat m = v.skin_mask.clone();
  cv::Mat lesion = v.envelope_mask.empty() ? v.lesion_mask : (v.lesion_mask | v.envelope_mask);
  cv::Mat grown;
  cv::dilate(lesion, grown, cv::getStructuringElement(cv::MORPH_ELLIPSE, cv::Size(15, 15)));
  m.setTo(0, grown);
  return m;
}

// The region of interest the service pipeline passes (src/service/src/pipeline.cpp): skin minus
// lesions, both from the classical segmenter of the capture's condition, nothing grown.
cv::Mat PipelineMask(const cv::Mat& bgr, Condition condition) {
  scoring::ClassicalSegmenterOptions so;
  so.condition = condition;
  const scoring::Segmentation seg = scoring::MakeClassicalSegmenter(so)->Segment(bgr);
  cv::Mat m = seg.skin_mask & ~seg.lesion_mask;
  // RegisterToBaseline rejects an (almost) empty region; the pipeline would fail the same way,
  // the bench falls back to the whole image and says so.
  if (cv::countNonZero(m) < 64) return cv::Mat();
  return m;
}

cv::Mat MaskFor(MaskMode mode, const phantom::Visit& v, Condition condition) {
  switch (mode) {
    case MaskMode::kPipeline:
      return PipelineMask(v.image, condition);
    case MaskMode::kTruth:
      return SkinMinusLesion(v);
    case MaskMode::kNone:
      break;
  }
  return cv::Mat();
}

// ---- non-rigid phantoms ----------------------------------------------------------------------

// Error in the baseline frame: for baseline skin pixels q on a 16 px grid, the moving pixel m the
// result shows at q must map back to q under the truth. Works for the matrix and the field alike.
PairError FixedFrameError(const phantom::Series& series, int visit,
                          const reg::RegistrationResult& r) {
  const phantom::Visit& base = series.visits[0];
  cv::Matx23d inverse;
  cv::invertAffineTransform(r.matrix, inverse);
  std::vector<double> d;
  for (int y = 0; y < base.image.rows; y += 16) {
    for (int x = 0; x < base.image.cols; x += 16) {
      if (base.skin_mask.at<unsigned char>(y, x) == 0) continue;
      cv::Point2d m;
      if (!r.field.empty()) {
        const cv::Vec2f f = r.field.at<cv::Vec2f>(y, x);
        m = cv::Point2d(f[0], f[1]);
      } else {
        m = Apply(inverse, cv::Point2d(x, y));
      }
      if (m.x < 0 || m.y < 0 || m.x > base.image.cols - 1 || m.y > base.image.rows - 1) continue;
      d.push_back(cv::norm(series.MapToBaseline(visit, m) - cv::Point2d(x, y)));
    }
  }
  PairError e;
  if (!d.empty()) {
    e.mean = Mean(d);
    e.p95 = Percentile(d, 0.95);
  }
  return e;
}

void DeformationPairs(double amplitude, cv::Size size, int visits, long long seed0,
                      const reg::RegistrationOptions& options, std::ostream& out) {
  out << std::fixed << std::setprecision(3) << "\n== smooth deformation " << amplitude
      << " px (lighting + lesion change), error in the baseline frame\n";
  std::vector<double> linear, deformable, seconds;
  int applied = 0;
  for (int fitz = 1; fitz <= 6; ++fitz) {
    phantom::PhantomOptions po;
    po.condition = fitz % 2 ? Condition::kPsoriasis : Condition::kVitiligo;
    po.visits = visits;
    po.seed = static_cast<std::uint64_t>(seed0 + fitz);
    po.fitzpatrick = fitz;
    po.size = size;
    po.deformation_px = amplitude;
    const phantom::Series series = phantom::GeneratePhantom(po);
    for (int k = 1; k < visits; ++k) {
      const cv::Mat& moving = series.visits[static_cast<std::size_t>(k)].image;
      reg::RegistrationOptions o = options;
      const reg::RegistrationResult a = reg::RegisterToBaseline(series.visits[0].image, moving, o);
      o.deformable = true;
      const reg::RegistrationResult b = reg::RegisterToBaseline(series.visits[0].image, moving, o);
      const PairError ea = FixedFrameError(series, k, a), eb = FixedFrameError(series, k, b);
      linear.push_back(ea.mean);
      deformable.push_back(eb.mean);
      seconds.push_back(b.seconds);
      applied += b.deformable_applied;
      out << "F" << fitz << " visit " << k << ": linear mean " << ea.mean << " p95 " << ea.p95
          << " | deformable mean " << eb.mean << " p95 " << eb.p95 << " (" << b.deformable_note
          << ", " << b.seconds << " s)\n";
    }
  }
  out << "linear: mean " << Mean(linear) << " px; with the deformable stage: mean "
      << Mean(deformable) << " px, applied " << applied << "/" << deformable.size()
      << ", wall time median " << Percentile(seconds, 0.5) << " s\n";
}

// ---- real pairs -------------------------------------------------------------------------------

void RealPairs(const fs::path& dir, const fs::path& out_dir, reg::RegistrationOptions options,
               std::ostream& out) {
  if (!fs::is_directory(dir)) {
    out << "\nreal pairs: " << dir << " absent, skipped\n";
    return;
  }
  fs::create_directories(out_dir);
  std::vector<std::string> names;
  for (const auto& e : fs::directory_iterator(dir)) {
    const std::string n = e.path().filename().string();
    if (n.size() > 6 && n.substr(n.size() - 6) == "_A.png")
      names.push_back(n.substr(0, n.size() - 6));
  }
  std::sort(names.begin(), names.end());
  out << "\n== real serial pairs (" << dir.string() << "): B registered to A; overlays in "
      << out_dir.string() << "\n";
  out << "pair        size        converged  quality  (start)  overlap  inliers  seconds  reason\n"
      << std::fixed << std::setprecision(3);
  for (const std::string& name : names) {
    const cv::Mat a = cv::imread((dir / (name + "_A.png")).string(), cv::IMREAD_COLOR);
    const cv::Mat b = cv::imread((dir / (name + "_B.png")).string(), cv::IMREAD_COLOR);
    if (a.empty() || b.empty()) {
      out << name << ": unreadable, skipped\n";
      continue;
    }
    reg::RegistrationResult r;
    try {
      r = reg::RegisterToBaseline(a, b, options);
    } catch (const Error& e) {
      out << name << ": " << e.what() << "\n";
      continue;
    }
    const cv::Mat warped = reg::WarpImageToBaseline(b, r);
    cv::Mat checker = a.clone();
    const int cell = std::max(16, std::max(a.cols, a.rows) / 8);
    for (int y = 0; y < a.rows; ++y) {
      for (int x = 0; x < a.cols; ++x) {
        if (((x / cell) + (y / cell)) % 2) checker.at<cv::Vec3b>(y, x) = warped.at<cv::Vec3b>(y, x);
      }
    }
    cv::Mat blend, before;
    cv::addWeighted(a, 0.5, warped, 0.5, 0, blend);
    cv::Mat b_resized;
    cv::resize(b, b_resized, a.size());
    cv::addWeighted(a, 0.5, b_resized, 0.5, 0, before);
    cv::imwrite((out_dir / (name + "_checker.png")).string(), checker);
    cv::imwrite((out_dir / (name + "_blend.png")).string(), blend);
    cv::imwrite((out_dir / (name + "_blend_unaligned.png")).string(), before);
    out << std::left << std::setw(12) << name << std::setw(12)
        << (std::to_string(b.cols) + "x" + std::to_string(b.rows)) << std::setw(11)
        << (r.converged ? "yes" : "NO") << std::setw(9) << r.quality << std::setw(9)
        << r.quality_features << std::setw(9) << r.overlap_fraction << std::setw(9)
        << r.feature_inliers << std::setw(9) << r.seconds << r.stop_reason << "\n"
        << std::right;
  }
}

int RunBench(Args& args, std::ostream& out) {
  const fs::path out_dir = args.Get("out").value_or("/tmp/skintrack-bench-reg");
  const int series_per = static_cast<int>(args.GetInt("series", 1, 1, 100));
  const int visits = static_cast<int>(args.GetInt("visits", 3, 2, 50));
  const cv::Size size = ParseSize(args.Get("size").value_or("1633x1225"));
  const long long seed0 = args.GetInt("seed", 100, 0, 1LL << 40);
  reg::RegistrationOptions options;
  if (auto m = args.Get("model")) options.model = reg::ParseTransformModel(*m);
  const MaskMode masks = ParseMaskMode(args.Get("masks").value_or("pipeline"));
  const bool elastix = args.Flag("elastix");
  const bool elastix_mask = args.Flag("elastix-mask");
  const long long elastix_pairs = args.GetInt("elastix-pairs", 1LL << 30, 0, 1LL << 30);
  const fs::path params = args.Get("elastix-params").value_or("../shared/elastix");
  const int big = static_cast<int>(args.GetInt("big", 0, 0, 100));
  const fs::path real = args.Get("real").value_or("../shared/data/serial-pairs");
  options.threads = static_cast<int>(args.GetInt("threads", options.threads, 0, 256));
  options.levels = static_cast<int>(args.GetInt("levels", options.levels, 1, 6));
  options.samples = static_cast<int>(args.GetInt("samples", options.samples, 256, 10000000));
  options.max_iterations =
      static_cast<int>(args.GetInt("iterations", options.max_iterations, 1, 10000));
  if (args.Flag("no-polish")) options.polish = false;
  options.polish_points =
      static_cast<int>(args.GetInt("polish-points", options.polish_points, 1000, 10000000));
  options.working_long_side =
      static_cast<int>(args.GetInt("working-size", options.working_long_side, 64, 8192));
  options.feature_long_side =
      static_cast<int>(args.GetInt("feature-size", options.feature_long_side, 64, 8192));
  const std::string only = args.Get("scenario").value_or("");
  const bool verbose = args.Flag("verbose");
  const bool real_only = args.Flag("real-only");
  const double deformation = args.GetDouble("deformation", 0, 0, 100);
  args.CheckNoneLeft();
  if (elastix && !fs::is_regular_file(params / "par_photo_rigid.txt")) {
    throw Error(ErrorCode::kNotFound,
                "no elastix parameter files in " + params.string() + " (--elastix-params)");
  }
  fs::create_directories(out_dir);

  if (real_only) {
    RealPairs(real, out_dir / "real", options, out);
    return 0;
  }
  if (deformation > 0) {
    DeformationPairs(deformation, size, visits, seed0, options, out);
    return 0;
  }
  std::vector<Row> rows;
  const char* scenarios[] = {"geometry-only", "lighting+lesion"};
  std::map<std::string, long long> elastix_count;
  long long seed = seed0;
  out << "registration benchmark: " << size.width << "x" << size.height << ", model "
      << reg::TransformModelName(options.model) << ", " << MaskModeName(masks) << ", threads "
      << options.threads << (elastix ? ", with elastix" : "") << "\n";
  for (const char* scenario : scenarios) {
    if (!only.empty() && only != scenario) continue;
    const bool change = std::string(scenario) != "geometry-only";
    for (int fitz = 1; fitz <= 6; ++fitz) {
      for (Condition condition : {Condition::kPsoriasis, Condition::kVitiligo}) {
        for (int s = 0; s < series_per; ++s) {
          phantom::PhantomOptions po;
          po.condition = condition;
          po.visits = visits;
          po.seed = static_cast<std::uint64_t>(seed++);
          po.fitzpatrick = fitz;
          po.size = size;
          po.lighting_changes = change;
          po.lesion_changes = change;
          po.new_lesions = change;
          const phantom::Series series = phantom::GeneratePhantom(po);
          const phantom::Visit& base = series.visits[0];
          const cv::Mat base_mask = MaskFor(masks, base, condition);
          for (int k = 1; k < visits; ++k) {
            const phantom::Visit& v = series.visits[static_cast<std::size_t>(k)];
            reg::RegistrationOptions o = options;
            o.fixed_mask = base_mask;
            o.moving_mask = MaskFor(masks, v, condition);
            const double c0 = CpuSeconds(RUSAGE_SELF);
            const reg::RegistrationResult r = reg::RegisterToBaseline(base.image, v.image, o);
            const double cpu_seconds = CpuSeconds(RUSAGE_SELF) - c0;
            Row row;
            row.scenario = scenario;
            row.fitzpatrick = fitz;
            row.condition = ConditionName(condition);
            row.truth_rotation = v.truth.pose.rotation_deg;
            row.truth_scale = v.truth.pose.scale;
            row.ours = ErrorOf(series, k, [&](cv::Point2d p) { return Apply(r.matrix, p); });
            row.converged = r.converged;
            row.refined = r.refined;
            row.seconds = r.seconds;
            row.cpu_seconds = cpu_seconds;
            row.quality = r.quality;
            if (elastix && elastix_count[scenario]++ < elastix_pairs) {
              const ElastixRun e = RunElastix(Grey8(base.image), Grey8(v.image),
                                              elastix_mask ? o.fixed_mask : cv::Mat(),
                                              out_dir / "elastix", params, 2);
              row.elastix_ran = true;
              row.elastix_seconds = e.seconds;
              row.elastix_cpu_seconds = e.cpu_seconds;
              if (e.ok) {
                row.elastix =
                    ErrorOf(series, k, [&](cv::Point2d p) { return Apply(e.moving_to_fixed, p); });
              } else {
                out << "elastix failed: " << e.error << "\n";
              }
            }
            rows.push_back(row);
            if (verbose) {
              out << std::fixed << std::setprecision(3) << scenario << " F" << fitz << " "
                  << row.condition << " seed " << po.seed << " visit " << k << ": rot "
                  << row.truth_rotation << " scale " << row.truth_scale << " | err mean "
                  << row.ours.mean << " p95 " << row.ours.p95 << " conv " << r.converged
                  << " refined " << r.refined << " q " << r.quality << " inl " << r.feature_inliers
                  << " " << r.seconds << " s (CPU " << cpu_seconds << ")";
              if (row.elastix_ran) {
                out << " | elastix mean " << row.elastix.mean << " p95 " << row.elastix.p95 << " "
                    << row.elastix_seconds << " s";
              }
              out << "\n  " << r.stop_reason << " / " << r.refinement_note << " / polish "
                  << r.polish_note << "\n";
              out.flush();
            }
          }
        }
      }
    }
  }
  for (const char* scenario : scenarios) PrintSummary(scenario, rows, out);

  if (big > 0) {
    std::vector<double> times, cpu_times, errors;
    for (int i = 0; i < big; ++i) {
      phantom::PhantomOptions po;
      po.visits = 2;
      po.seed = static_cast<std::uint64_t>(seed++);
      po.fitzpatrick = 1 + i % 6;
      po.size = cv::Size(4000, 3000);
      const phantom::Series series = phantom::GeneratePhantom(po);
      reg::RegistrationOptions o = options;
      o.fixed_mask = MaskFor(masks, series.visits[0], po.condition);
      o.moving_mask = MaskFor(masks, series.visits[1], po.condition);
      const double c0 = CpuSeconds(RUSAGE_SELF);
      const reg::RegistrationResult r =
          reg::RegisterToBaseline(series.visits[0].image, series.visits[1].image, o);
      cpu_times.push_back(CpuSeconds(RUSAGE_SELF) - c0);
      times.push_back(r.seconds);
      errors.push_back(ErrorOf(series, 1, [&](cv::Point2d p) { return Apply(r.matrix, p); }).mean);
    }
    out << "\n== 12 MP (4000x3000) lighting+lesion pairs: " << big << ", time median "
        << Percentile(times, 0.5) << " s, max " << Percentile(times, 1.0) << " s, CPU median "
        << Percentile(cpu_times, 0.5) << " s; error mean " << Mean(errors) << " px, worst "
        << Percentile(errors, 1.0) << " px\n";
  }
  RealPairs(real, out_dir / "real", options, out);
  return 0;
}

const bool kRegistered =
    RegisterCommand({"bench-registration",
                     "benchmark registration on phantom pairs (vs elastix) and real pairs",
                     kUsage,
                     {"elastix", "elastix-mask", "verbose", "real-only", "no-polish"},
                     RunBench});

}  // namespace
}  // namespace skintrack::cli
