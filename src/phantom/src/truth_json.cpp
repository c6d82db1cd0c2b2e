// truth.json and the files of a series on disk.
#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>
#include <opencv2/imgcodecs.hpp>

#include "skintrack/core/colour.h"
#include "skintrack/core/error.h"
#include "skintrack/phantom/phantom.h"

namespace skintrack::phantom {
namespace {

constexpr char kGeneratorVersion[] = "skintrack-phantom/1";
constexpr int kGridCols = 9, kGridRows = 7;

nlohmann::json Matrix(const cv::Matx23d& m) {
  return {{m(0, 0), m(0, 1), m(0, 2)}, {m(1, 0), m(1, 1), m(1, 2)}};
}

std::string VisitName(int k) { return "visit-" + std::to_string(k); }

nlohmann::json VisitJson(const Series& series, const Visit& v) {
  const VisitTruth& t = v.truth;
  const std::string base = VisitName(t.index);
  nlohmann::json j;
  j["index"] = t.index;
  j["image"] = base + (series.options.jpeg_quality > 0 ? ".jpg" : ".png");
  j["skin_mask"] = base + ".skin.png";
  j["lesion_mask"] = base + ".lesion.png";
  if (!v.envelope_mask.empty()) j["envelope_mask"] = base + ".envelope.png";
  j["width"] = v.image.cols;
  j["height"] = v.image.rows;
  j["to_baseline"] = Matrix(t.to_baseline);
  j["to_baseline_exact"] = t.matrix_exact;
  nlohmann::json pose = {{"rotation_deg", t.pose.rotation_deg},
                         {"scale", t.pose.scale},
                         {"shift_px", {t.pose.shift_x, t.pose.shift_y}}};
  if (t.pose.perspective != cv::Matx33d::eye()) {
    pose["perspective"] = {t.pose.perspective(2, 0), t.pose.perspective(2, 1)};
  }
  if (!t.pose.deformation.empty()) {
    nlohmann::json bumps = nlohmann::json::array();
    for (const cv::Vec4d& d : t.pose.deformation) bumps.push_back({d[0], d[1], d[2], d[3]});
    pose["deformation"] = {{"sigma_px", t.pose.deformation_sigma}, {"bumps", bumps}};
  }
  j["pose"] = pose;
  // Sampled exact correspondences (visit pixel -> baseline pixel), usable whatever the model.
  nlohmann::json grid = nlohmann::json::array();
  for (int r = 0; r < kGridRows; ++r) {
    for (int c = 0; c < kGridCols; ++c) {
      const cv::Point2d p((v.image.cols - 1) * (c + 0.5) / kGridCols,
                          (v.image.rows - 1) * (r + 0.5) / kGridRows);
      const cv::Point2d b = series.MapToBaseline(t.index, p);
      grid.push_back({p.x, p.y, b.x, b.y});
    }
  }
  j["correspondences"] = grid;
  j["skin_pixels"] = t.skin_pixels;
  j["lesion_pixels"] = t.lesion_pixels;
  j["lesion_fraction"] = t.lesion_fraction;
  j["lesion_fraction_site"] = t.lesion_fraction_site;
  j["lesion_count"] = t.lesion_count;
  j["new_lesion"] = t.new_lesion;
  if (series.options.condition == Condition::kPsoriasis) {
    j["severity"] = {
        {"erythema_grade", t.erythema_grade},     {"erythema_delta_a", t.erythema_delta_a},
        {"scaling_grade", t.scaling_grade},       {"scale_fraction", t.scale_fraction},
        {"induration_grade", t.induration_grade}, {"relief_l_star", t.plaque_height}};
  } else {
    j["depigmentation"] = {{"residual_fraction", t.depigmentation},
                           {"ladder_level_percent", t.depigmentation_level},
                           {"envelope_fraction", t.envelope_fraction},
                           {"repigmentation_percent", t.repigmentation_percent},
                           {"sharp_borders", t.sharp_borders}};
  }
  const Photometric& ph = t.photometric;
  j["photometric"] = {{"exposure", ph.exposure},
                      {"colour_temperature_k", ph.colour_temperature_k},
                      {"gain_bgr", {ph.gain_bgr[0], ph.gain_bgr[1], ph.gain_bgr[2]}},
                      {"gradient_amplitude", ph.gradient_amplitude},
                      {"gradient_angle_deg", ph.gradient_angle_deg},
                      {"blur_sigma", ph.blur_sigma},
                      {"noise_sigma", ph.noise_sigma},
                      {"jpeg_quality", ph.jpeg_quality}};
  return j;
}

void WriteFile(const std::filesystem::path& path, const std::vector<unsigned char>& bytes) {
  std::ofstream out(path, std::ios::binary | std::ios::trunc);
  out.write(reinterpret_cast<const char*>(bytes.data()),
            static_cast<std::streamsize>(bytes.size()));
  if (!out) throw Error(ErrorCode::kIo, "cannot write " + path.string());
}

void WritePng(const std::filesystem::path& path, const cv::Mat& image) {
  std::vector<unsigned char> bytes;
  if (!cv::imencode(".png", image, bytes)) {
    throw Error(ErrorCode::kInternal, "PNG encoding failed for " + path.string());
  }
  WriteFile(path, bytes);
}

}  // namespace

std::string TruthJson(const Series& series) {
  const PhantomOptions& o = series.options;
  nlohmann::json j;
  j["generator"] = kGeneratorVersion;
  j["conventions"] = {
      {"to_baseline",
       "2x3 matrix mapping a pixel of the visit to the baseline (visit 0) pixel showing the same "
       "skin; pixel centres at integer coordinates (cv::warpAffine convention)"},
      {"correspondences", "[x, y, baseline_x, baseline_y] on a 9x7 grid, exact in every case"},
      {"lesion_fraction", "lesion pixels / skin pixels in the visit's own pixels"},
      {"lesion_fraction_site", "lesion area / skin area over the whole site, baseline frame"},
      {"masks", "single-channel PNG, 0 = no, 255 = yes, in the visit's own pixels"}};
  j["options"] = {{"condition", ConditionName(o.condition)},
                  {"visits", o.visits},
                  {"seed", o.seed},
                  {"fitzpatrick", o.fitzpatrick},
                  {"size", {o.size.width, o.size.height}},
                  {"site", series.site},
                  {"response", ResponseName(o.response)},
                  {"max_rotation_deg", o.max_rotation_deg},
                  {"scale_range", {o.min_scale, o.max_scale}},
                  {"max_shift", o.max_shift},
                  {"perspective", o.perspective},
                  {"deformation_px", o.deformation_px},
                  {"lighting_changes", o.lighting_changes},
                  {"lesion_changes", o.lesion_changes},
                  {"new_lesions", o.new_lesions},
                  {"blur_sigma", o.blur_sigma},
                  {"noise_sigma", o.noise_sigma},
                  {"jpeg_quality", o.jpeg_quality}};
  // The hard cases appear only when used, so that the default series' truth.json is unchanged.
  if (o.diffuse_erythema > 0) j["options"]["diffuse_erythema"] = o.diffuse_erythema;
  if (o.lesion_coverage > 0) j["options"]["lesion_coverage"] = o.lesion_coverage;
  if (!o.lesions) j["options"]["lesions"] = false;
  const BodySite& site = FindBodySite(series.site);
  j["site"] = {{"name", site.name},
               {"pasi_region", PasiRegionName(site.pasi_region)},
               {"vasi_region", VasiRegionName(site.vasi_region)},
               {"bsa_percent", site.bsa_percent}};
  j["skin_tone"] = {{"fitzpatrick", series.tone.fitzpatrick},
                    {"lab", {series.tone.lab[0], series.tone.lab[1], series.tone.lab[2]}},
                    {"ita_target_deg", series.tone.ita_target},
                    {"ita_group", ItaGroup(series.tone.ita_target)},
                    {"ita_measured_deg", series.tone.ita_measured}};
  nlohmann::json visits = nlohmann::json::array();
  for (const Visit& v : series.visits) visits.push_back(VisitJson(series, v));
  j["visits"] = visits;
  return j.dump(2);
}

void WriteSeries(const Series& series, const std::string& dir) {
  namespace fs = std::filesystem;
  std::error_code ec;
  fs::create_directories(dir, ec);
  if (ec || !fs::is_directory(dir)) {
    throw Error(ErrorCode::kIo, "cannot create output directory " + dir);
  }
  const fs::path root(dir);
  for (const Visit& v : series.visits) {
    const std::string base = VisitName(v.truth.index);
    if (!v.encoded.empty()) {
      WriteFile(root / (base + ".jpg"), v.encoded);
    } else {
      WritePng(root / (base + ".png"), v.image);
    }
    WritePng(root / (base + ".skin.png"), v.skin_mask);
    WritePng(root / (base + ".lesion.png"), v.lesion_mask);
    if (!v.envelope_mask.empty()) WritePng(root / (base + ".envelope.png"), v.envelope_mask);
  }
  const std::string text = TruthJson(series) + "\n";
  WriteFile(root / "truth.json", std::vector<unsigned char>(text.begin(), text.end()));
}

}  // namespace skintrack::phantom
