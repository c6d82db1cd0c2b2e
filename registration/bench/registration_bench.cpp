// registration_bench: accuracy, failure flagging and speed of RegisterToBaseline on phantom pairs
// with known truth, side by side with Debian's elastix on the same pairs, plus the real serial
// pairs (quality score and overlays). A benchmark: prints figures, asserts nothing; its CTest
// smoke run (label `bench`) only checks that it runs.
//
// Was the `skintrack bench-registration` subcommand; it moved out of the product binary because
// nobody running skintrack needs it (it compares against an optional elastix install and writes
// to /tmp), and the product's `skintrack help` should list product commands only.
#include <malloc.h>

#include <iostream>
#include <opencv2/core.hpp>
#include <string>
#include <vector>

#include "args.h"
#include "bench_config.h"
#include "phantom_pairs.h"
#include "real_pairs.h"
#include "skintrack/core/error.h"

namespace skintrack::bench {
namespace {

namespace fs = std::filesystem;
namespace reg = skintrack::registration;

constexpr char kUsage[] = R"(usage: registration_bench [options]

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
  const long long w = cli::ParseInt(text.substr(0, x), "--size width");
  const long long h = cli::ParseInt(text.substr(x + 1), "--size height");
  if (w < 64 || h < 64 || w > 8000 || h > 8000) {
    throw Error(ErrorCode::kInvalidArgument, "--size must be between 64x64 and 8000x8000");
  }
  return {static_cast<int>(w), static_cast<int>(h)};
}

// The registration options the bench may override (defaults: those of RegistrationOptions).
reg::RegistrationOptions ParseRegistrationOptions(cli::Args& args) {
  reg::RegistrationOptions options;
  if (auto m = args.Get("model")) options.model = reg::ParseTransformModel(*m);
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
  return options;
}

BenchConfig ParseConfig(cli::Args& args) {
  BenchConfig c;
  c.out_dir = args.Get("out").value_or(c.out_dir.string());
  c.series_per = static_cast<int>(args.GetInt("series", 1, 1, 100));
  c.visits = static_cast<int>(args.GetInt("visits", 3, 2, 50));
  c.size = ParseSize(args.Get("size").value_or("1633x1225"));
  c.seed0 = args.GetInt("seed", 100, 0, 1LL << 40);
  c.options = ParseRegistrationOptions(args);
  c.masks = ParseMaskMode(args.Get("masks").value_or("pipeline"));
  c.elastix = args.Flag("elastix");
  c.elastix_mask = args.Flag("elastix-mask");
  c.elastix_pairs = args.GetInt("elastix-pairs", 1LL << 30, 0, 1LL << 30);
  c.elastix_params = args.Get("elastix-params").value_or("../shared/elastix");
  c.big = static_cast<int>(args.GetInt("big", 0, 0, 100));
  c.real = args.Get("real").value_or("../shared/data/serial-pairs");
  c.only_scenario = args.Get("scenario").value_or("");
  c.verbose = args.Flag("verbose");
  c.real_only = args.Flag("real-only");
  c.deformation = args.GetDouble("deformation", 0, 0, 100);
  args.CheckNoneLeft();
  if (c.elastix && !fs::is_regular_file(c.elastix_params / "par_photo_rigid.txt")) {
    throw Error(ErrorCode::kNotFound, "no elastix parameter files in " + c.elastix_params.string() +
                                          " (--elastix-params)");
  }
  return c;
}

int Run(const BenchConfig& config, std::ostream& out) {
  fs::create_directories(config.out_dir);
  if (config.real_only) {
    RealPairs(config.real, config.out_dir / "real", config.options, out);
    return 0;
  }
  if (config.deformation > 0) {
    DeformationPairs(config, out);
    return 0;
  }
  PhantomPairs(config, out);
  RealPairs(config.real, config.out_dir / "real", config.options, out);
  return 0;
}

}  // namespace
}  // namespace skintrack::bench

int main(int argc, char** argv) {
  using namespace skintrack;
  const std::vector<std::string> argv_rest(argv + 1, argv + argc);
  if (!argv_rest.empty() && (argv_rest[0] == "--help" || argv_rest[0] == "-h")) {
    std::cout << bench::kUsage;
    return 0;
  }
  cv::setNumThreads(cv::getNumberOfCPUs());
  // As in the skintrack binary (src/cli/main.cpp), so that the timings are the product's: keep
  // the large image buffers in the heap instead of unmapping and faulting them in again.
  // mallopt is not thread-safe; no other thread exists yet.
  mallopt(M_MMAP_THRESHOLD, 256 * 1024 * 1024);  // NOLINT(concurrency-mt-unsafe)
  mallopt(M_TRIM_THRESHOLD, 512 * 1024 * 1024);  // NOLINT(concurrency-mt-unsafe)
  try {
    cli::Args args(argv_rest, {"elastix", "elastix-mask", "verbose", "real-only", "no-polish"});
    return bench::Run(bench::ParseConfig(args), std::cout);
  } catch (const Error& e) {
    std::cerr << "registration_bench: error (" << ErrorCodeName(e.code()) << "): " << e.what()
              << "\n";
    return e.code() == ErrorCode::kInvalidArgument ? 2 : 1;
  } catch (const std::exception& e) {
    std::cerr << "registration_bench: internal error: " << e.what() << "\n";
    return 1;
  }
}
