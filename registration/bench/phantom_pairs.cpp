#include "phantom_pairs.h"

#include <sys/resource.h>

#include <algorithm>
#include <cmath>
#include <iomanip>
#include <map>
#include <string>
#include <vector>

#include "bench_common.h"
#include "elastix.h"
#include "skintrack/phantom/phantom.h"

namespace skintrack::bench {
namespace {

namespace reg = skintrack::registration;

constexpr const char* kScenarios[] = {"geometry-only", "lighting+lesion"};

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

// Figures of one scenario. A pair "succeeds" below 1 px mean error; NaN errors count as failures.
struct ScenarioStats {
  std::vector<double> means, p95s, seconds, cpu, e_means, e_seconds, e_cpu, speedups, cpu_speedups;
  int success = 0, flagged = 0, silent = 0, false_alarm = 0, refined = 0;
  int e_ran = 0, e_success = 0, ours_as_good = 0;

  void Add(const Row& r) {
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
    if (!r.elastix_ran) return;
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
};

void PrintSummary(const std::string& scenario, const std::vector<Row>& rows, std::ostream& out) {
  ScenarioStats s;
  for (const Row& r : rows) {
    if (r.scenario == scenario) s.Add(r);
  }
  const int n = static_cast<int>(s.means.size());
  if (n == 0) return;
  out << std::fixed << std::setprecision(3);
  out << "\n== " << scenario << ": " << n << " pairs\n";
  out << "skintrack  error mean over pairs " << Mean(s.means) << " px, median "
      << Percentile(s.means, 0.5) << ", p95 of pair means " << Percentile(s.means, 0.95)
      << "; point p95 median " << Percentile(s.p95s, 0.5) << ", worst " << Percentile(s.p95s, 1.0)
      << "\n";
  out << "           success (mean < 1 px) " << s.success << "/" << n << " = "
      << 100.0 * s.success / n << " %; failures flagged converged=false " << s.flagged
      << ", silent " << s.silent << "; good but flagged " << s.false_alarm
      << "; ITK refinement kept " << s.refined << "/" << n << "\n";
  out << "           wall time median " << Percentile(s.seconds, 0.5) << " s, p95 "
      << Percentile(s.seconds, 0.95) << " s; CPU time median " << Percentile(s.cpu, 0.5) << " s\n";
  if (s.e_ran == 0) return;
  out << "elastix    pairs " << s.e_ran << ", error mean " << Mean(s.e_means) << " px, median "
      << Percentile(s.e_means, 0.5) << ", success " << s.e_success << "/" << s.e_ran
      << "; time median " << Percentile(s.e_seconds, 0.5) << " s wall, " << Percentile(s.e_cpu, 0.5)
      << " s CPU\n";
  out << "side by side: skintrack at least as accurate on " << s.ours_as_good << "/" << s.e_ran
      << " = " << 100.0 * s.ours_as_good / s.e_ran << " % of pairs; speed-up median "
      << Percentile(s.speedups, 0.5) << "x (wall), min " << Percentile(s.speedups, 0.0)
      << "x; CPU-time ratio median " << Percentile(s.cpu_speedups, 0.5) << "x, min "
      << Percentile(s.cpu_speedups, 0.0) << "x\n";
}

void PrintPair(const Row& row, const reg::RegistrationResult& r, std::uint64_t seed, int visit,
               std::ostream& out) {
  out << std::fixed << std::setprecision(3) << row.scenario << " F" << row.fitzpatrick << " "
      << row.condition << " seed " << seed << " visit " << visit << ": rot " << row.truth_rotation
      << " scale " << row.truth_scale << " | err mean " << row.ours.mean << " p95 " << row.ours.p95
      << " conv " << r.converged << " refined " << r.refined << " q " << r.quality << " inl "
      << r.feature_inliers << " " << r.seconds << " s (CPU " << row.cpu_seconds << ")";
  if (row.elastix_ran) {
    out << " | elastix mean " << row.elastix.mean << " p95 " << row.elastix.p95 << " "
        << row.elastix_seconds << " s";
  }
  out << "\n  " << r.stop_reason << " / " << r.refinement_note << " / polish " << r.polish_note
      << "\n";
  out.flush();
}

// Registers follow-up `visit` of `series` to its baseline (and runs elastix on the pair when
// `with_elastix`), printing the pair when verbose.
Row RunPair(const BenchConfig& config, const char* scenario, const phantom::Series& series,
            int visit, const cv::Mat& base_mask, bool with_elastix, std::ostream& out) {
  const phantom::Visit& base = series.visits[0];
  const phantom::Visit& v = series.visits[static_cast<std::size_t>(visit)];
  const Condition condition = series.options.condition;
  reg::RegistrationOptions o = config.options;
  o.fixed_mask = base_mask;
  o.moving_mask = MaskFor(config.masks, v, condition);
  const double c0 = CpuSeconds(RUSAGE_SELF);
  const reg::RegistrationResult r = reg::RegisterToBaseline(base.image, v.image, o);
  Row row;
  row.cpu_seconds = CpuSeconds(RUSAGE_SELF) - c0;
  row.scenario = scenario;
  row.fitzpatrick = series.options.fitzpatrick;
  row.condition = ConditionName(condition);
  row.truth_rotation = v.truth.pose.rotation_deg;
  row.truth_scale = v.truth.pose.scale;
  row.ours = ErrorOf(series, visit, [&](cv::Point2d p) { return Apply(r.matrix, p); });
  row.converged = r.converged;
  row.refined = r.refined;
  row.seconds = r.seconds;
  row.quality = r.quality;
  if (with_elastix) {
    const ElastixRun e = RunElastix(Grey8(base.image), Grey8(v.image),
                                    config.elastix_mask ? o.fixed_mask : cv::Mat(),
                                    config.out_dir / "elastix", config.elastix_params, 2);
    row.elastix_ran = true;
    row.elastix_seconds = e.seconds;
    row.elastix_cpu_seconds = e.cpu_seconds;
    if (e.ok) {
      row.elastix =
          ErrorOf(series, visit, [&](cv::Point2d p) { return Apply(e.moving_to_fixed, p); });
    } else {
      out << "elastix failed: " << e.error << "\n";
    }
  }
  if (config.verbose) PrintPair(row, r, series.options.seed, visit, out);
  return row;
}

// The 12 MP timing: lighting + lesion change pairs, Fitzpatrick types in turn.
void BigPairs(const BenchConfig& config, long long seed, std::ostream& out) {
  std::vector<double> times, cpu_times, errors;
  for (int i = 0; i < config.big; ++i) {
    phantom::PhantomOptions po;
    po.visits = 2;
    po.seed = static_cast<std::uint64_t>(seed++);
    po.fitzpatrick = 1 + i % 6;
    po.size = cv::Size(4000, 3000);
    const phantom::Series series = phantom::GeneratePhantom(po);
    reg::RegistrationOptions o = config.options;
    o.fixed_mask = MaskFor(config.masks, series.visits[0], po.condition);
    o.moving_mask = MaskFor(config.masks, series.visits[1], po.condition);
    const double c0 = CpuSeconds(RUSAGE_SELF);
    const reg::RegistrationResult r =
        reg::RegisterToBaseline(series.visits[0].image, series.visits[1].image, o);
    cpu_times.push_back(CpuSeconds(RUSAGE_SELF) - c0);
    times.push_back(r.seconds);
    errors.push_back(ErrorOf(series, 1, [&](cv::Point2d p) { return Apply(r.matrix, p); }).mean);
  }
  out << "\n== 12 MP (4000x3000) lighting+lesion pairs: " << config.big << ", time median "
      << Percentile(times, 0.5) << " s, max " << Percentile(times, 1.0) << " s, CPU median "
      << Percentile(cpu_times, 0.5) << " s; error mean " << Mean(errors) << " px, worst "
      << Percentile(errors, 1.0) << " px\n";
}

}  // namespace

void PhantomPairs(const BenchConfig& config, std::ostream& out) {
  std::vector<Row> rows;
  std::map<std::string, long long> elastix_count;
  long long seed = config.seed0;
  out << "registration benchmark: " << config.size.width << "x" << config.size.height << ", model "
      << reg::TransformModelName(config.options.model) << ", " << MaskModeName(config.masks)
      << ", threads " << config.options.threads << (config.elastix ? ", with elastix" : "") << "\n";
  for (const char* scenario : kScenarios) {
    if (!config.only_scenario.empty() && config.only_scenario != scenario) continue;
    const bool change = std::string(scenario) != "geometry-only";
    for (int fitz = 1; fitz <= 6; ++fitz) {
      for (Condition condition : {Condition::kPsoriasis, Condition::kVitiligo}) {
        for (int s = 0; s < config.series_per; ++s) {
          phantom::PhantomOptions po;
          po.condition = condition;
          po.visits = config.visits;
          po.seed = static_cast<std::uint64_t>(seed++);
          po.fitzpatrick = fitz;
          po.size = config.size;
          po.lighting_changes = change;
          po.lesion_changes = change;
          po.new_lesions = change;
          const phantom::Series series = phantom::GeneratePhantom(po);
          const cv::Mat base_mask = MaskFor(config.masks, series.visits[0], condition);
          for (int k = 1; k < config.visits; ++k) {
            const bool with_elastix =
                config.elastix && elastix_count[scenario]++ < config.elastix_pairs;
            rows.push_back(RunPair(config, scenario, series, k, base_mask, with_elastix, out));
          }
        }
      }
    }
  }
  for (const char* scenario : kScenarios) PrintSummary(scenario, rows, out);
  if (config.big > 0) BigPairs(config, seed, out);
}

}  // namespace skintrack::bench
