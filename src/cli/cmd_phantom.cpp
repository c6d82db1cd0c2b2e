// `skintrack phantom`: writes a synthetic longitudinal series with ground truth.
#include <chrono>
#include <cstdio>
#include <ostream>
#include <string>

#include "command.h"
#include "skintrack/core/error.h"
#include "skintrack/phantom/phantom.h"

namespace skintrack::cli {
namespace {

constexpr char kUsage[] = R"(usage: skintrack phantom --out DIR [options]

Writes a series of visits of one body site with ground truth: visit-K.png (or .jpg),
visit-K.skin.png, visit-K.lesion.png (vitiligo also visit-K.envelope.png) and truth.json.

options:
  --out DIR               output directory (created)
  --condition C           psoriasis (default) or vitiligo
  --visits N              number of visits, 1..50 (default 4)
  --seed S                random seed (default 1); the same options give the same files
  --fitzpatrick T         skin type 1..6 (default 3)
  --size WxH              pixels per visit (default 1600x1200)
  --site NAME             body site from `skintrack sites` (default left-forearm / left-hand)
  --response R            responder (default), partial, non-responder, worsening
  --max-rotation DEG      pose range of visits after the baseline (default 45)
  --scale-range LO,HI     (default 0.75,1.33)
  --max-shift F           fraction of the width (default 0.25)
  --perspective P         mild projective tilt, 0..0.001 (default 0)
  --deformation PX        smooth non-rigid displacement amplitude, pixels (default 0)
  --blur SIGMA            Gaussian blur of the follow-up visits, pixels (default 0)
  --noise SIGMA           sensor noise, 8-bit levels (default 1.5)
  --jpeg Q                write JPEG at quality Q (1..100) instead of PNG
  --no-lighting           no exposure / colour temperature / gradient changes
  --static-lesions        lesions identical at every visit (geometry-only series)
  --no-new-lesions        never add a lesion during the series
  --diffuse-erythema A    mild blotchy redness of the normal skin, up to A a* units (0..12;
                          3-6 is mild); not a lesion, the truth masks hold the plaques only
  --lesion-coverage F     share of the skin with lesions at the baseline (0.01..0.85; default
                          drawn 10-28 %); above 0.3 many large plaques (extensive disease)
  --extensive             the same as --lesion-coverage 0.6
  --no-lesions            skin without any lesion (a negative)
  --quiet                 print nothing but errors
)";

cv::Size ParseSize(const std::string& text) {
  const size_t x = text.find('x');
  if (x == std::string::npos) {
    throw Error(ErrorCode::kInvalidArgument, "--size must look like 1600x1200, got '" + text + "'");
  }
  const long long w = ParseInt(text.substr(0, x), "--size width");
  const long long h = ParseInt(text.substr(x + 1), "--size height");
  if (w < 16 || h < 16 || w > 8000 || h > 8000) {
    throw Error(ErrorCode::kInvalidArgument, "--size must be between 16x16 and 8000x8000");
  }
  return {static_cast<int>(w), static_cast<int>(h)};
}

int RunPhantom(Args& args, std::ostream& out) {
  phantom::PhantomOptions o;
  const std::string dir = args.Require("out");
  if (auto c = args.Get("condition")) o.condition = ParseCondition(*c);
  o.visits = static_cast<int>(args.GetInt("visits", o.visits, 1, 50));
  o.seed = static_cast<std::uint64_t>(args.GetInt("seed", 1, 0, (1LL << 62)));
  o.fitzpatrick = static_cast<int>(args.GetInt("fitzpatrick", o.fitzpatrick, 1, 6));
  if (auto s = args.Get("size")) o.size = ParseSize(*s);
  if (auto s = args.Get("site")) o.site = *s;
  if (auto r = args.Get("response")) o.response = phantom::ParseResponse(*r);
  o.max_rotation_deg = args.GetDouble("max-rotation", o.max_rotation_deg, 0, 180);
  if (auto r = args.Get("scale-range")) {
    const size_t comma = r->find(',');
    if (comma == std::string::npos) {
      throw Error(ErrorCode::kInvalidArgument, "--scale-range must look like 0.75,1.33");
    }
    o.min_scale = ParseDouble(r->substr(0, comma), "--scale-range low");
    o.max_scale = ParseDouble(r->substr(comma + 1), "--scale-range high");
  }
  o.max_shift = args.GetDouble("max-shift", o.max_shift, 0, 1);
  o.perspective = args.GetDouble("perspective", 0, 0, 1e-3);
  o.deformation_px = args.GetDouble("deformation", 0, 0, 1000);
  o.blur_sigma = args.GetDouble("blur", 0, 0, 20);
  o.noise_sigma = args.GetDouble("noise", o.noise_sigma, 0, 50);
  o.jpeg_quality = static_cast<int>(args.GetInt("jpeg", 0, 1, 100));
  o.lighting_changes = !args.Flag("no-lighting");
  o.lesion_changes = !args.Flag("static-lesions");
  o.new_lesions = !args.Flag("no-new-lesions");
  o.diffuse_erythema = args.GetDouble("diffuse-erythema", 0, 0, 12);
  const bool extensive = args.Flag("extensive");
  if (extensive && args.Get("lesion-coverage")) {
    throw Error(ErrorCode::kInvalidArgument, "use --extensive or --lesion-coverage, not both");
  }
  o.lesion_coverage = args.GetDouble("lesion-coverage", extensive ? 0.6 : 0.0, 0.01, 0.85);
  o.lesions = !args.Flag("no-lesions");
  const bool quiet = args.Flag("quiet");
  args.CheckNoneLeft();
  o.Check();

  const auto t0 = std::chrono::steady_clock::now();
  const phantom::Series series = phantom::GeneratePhantom(o);
  const auto t1 = std::chrono::steady_clock::now();
  phantom::WriteSeries(series, dir);
  const auto t2 = std::chrono::steady_clock::now();
  if (quiet) return 0;

  const double gen_s = std::chrono::duration<double>(t1 - t0).count();
  const double write_s = std::chrono::duration<double>(t2 - t1).count();
  char line[256];
  out << "phantom series: " << ConditionName(o.condition) << ", site " << series.site
      << ", Fitzpatrick " << o.fitzpatrick << " (ITA " << static_cast<int>(series.tone.ita_target)
      << " deg target, " << static_cast<int>(series.tone.ita_measured) << " deg measured), "
      << phantom::ResponseName(o.response) << ", seed " << o.seed << ", " << o.size.width << "x"
      << o.size.height << "\n";
  const bool pso = o.condition == Condition::kPsoriasis;
  out << (pso ? "visit  rot(deg) scale  shift(px)      lesion%  site%   E  S  I  new  exposure  "
                "temp(K)\n"
              : "visit  rot(deg) scale  shift(px)      lesion%  site%  depig% level repig%  new  "
                "exposure  temp(K)\n");
  for (const phantom::Visit& v : series.visits) {
    const phantom::VisitTruth& t = v.truth;
    if (pso) {
      std::snprintf(
          line, sizeof line,
          "%5d  %8.1f %5.2f  %6.0f,%-6.0f  %6.1f  %5.1f   %d  %d  %d  %-3s  %8.2f  %7.0f\n",
          t.index, t.pose.rotation_deg, t.pose.scale, t.pose.shift_x, t.pose.shift_y,
          100 * t.lesion_fraction, 100 * t.lesion_fraction_site, t.erythema_grade, t.scaling_grade,
          t.induration_grade, t.new_lesion ? "yes" : "no", t.photometric.exposure,
          t.photometric.colour_temperature_k);
    } else {
      std::snprintf(
          line, sizeof line,
          "%5d  %8.1f %5.2f  %6.0f,%-6.0f  %6.1f  %5.1f  %5.1f  %4d  %5.1f  %-3s  %8.2f  %7.0f\n",
          t.index, t.pose.rotation_deg, t.pose.scale, t.pose.shift_x, t.pose.shift_y,
          100 * t.lesion_fraction, 100 * t.lesion_fraction_site, 100 * t.depigmentation,
          t.depigmentation_level, t.repigmentation_percent, t.new_lesion ? "yes" : "no",
          t.photometric.exposure, t.photometric.colour_temperature_k);
    }
    out << line;
  }
  std::snprintf(line, sizeof line,
                "generated %d visit(s) in %.2f s (%.2f s per visit), wrote them in %.2f s\n",
                o.visits, gen_s, gen_s / o.visits, write_s);
  out << line << "files and truth.json in " << dir << "\n";
  return 0;
}

const bool kRegistered = RegisterCommand(
    {"phantom",
     "write a synthetic longitudinal series with ground truth",
     kUsage,
     {"no-lighting", "static-lesions", "no-new-lesions", "extensive", "no-lesions", "quiet"},
     RunPhantom});

}  // namespace
}  // namespace skintrack::cli
