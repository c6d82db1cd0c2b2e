// `skintrack register`: aligns a capture to a baseline capture and prints the transform with its
// quality fields (JSON contract in DESIGN.md: `matrix` maps moving pixels to fixed pixels, pixel
// centres at integer coordinates, the cv::warpAffine convention).
#include <filesystem>
#include <nlohmann/json.hpp>
#include <opencv2/imgcodecs.hpp>
#include <ostream>

#include "command.h"
#include "skintrack/core/error.h"
#include "skintrack/pipeline/registration_json.h"
#include "skintrack/registration/registration.h"

namespace skintrack::cli {
namespace {

namespace reg = skintrack::registration;

// Decodes a photo once, EXIF orientation applied (imread's default for colour reads).
cv::Mat ReadImage(const std::string& path, int flags, const std::string& what) {
  std::error_code ec;
  if (!std::filesystem::is_regular_file(path, ec)) {
    throw Error(ErrorCode::kNotFound, what + " '" + path + "' is not a readable file");
  }
  cv::Mat image;
  try {
    image = cv::imread(path, flags);
  } catch (const cv::Exception& e) {
    throw Error(ErrorCode::kImageDecode, what + " '" + path + "' cannot be decoded: " + e.what());
  }
  if (image.empty()) {
    throw Error(ErrorCode::kImageDecode, what + " '" + path + "' is not a decodable image");
  }
  return image;
}

void WriteImage(const std::string& path, const cv::Mat& image) {
  bool ok = false;
  try {
    ok = cv::imwrite(path, image);
  } catch (const cv::Exception& e) {
    throw Error(ErrorCode::kIo, "cannot write '" + path + "': " + e.what());
  }
  if (!ok) throw Error(ErrorCode::kIo, "cannot write '" + path + "'");
}

int RunRegister(Args& args, std::ostream& out) {
  const std::string fixed_path = args.Require("fixed");
  const std::string moving_path = args.Require("moving");
  reg::RegistrationOptions options;
  if (auto model = args.Get("model")) options.model = reg::ParseTransformModel(*model);
  options.deformable = args.Flag("deformable");
  options.polish = !args.Flag("no-polish");
  options.deformable_grid_px = args.GetDouble("grid", options.deformable_grid_px, 16, 4096);
  const auto fixed_mask_path = args.Get("fixed-mask");
  const auto moving_mask_path = args.Get("moving-mask");
  options.working_long_side =
      static_cast<int>(args.GetInt("working-size", options.working_long_side, 64, 8192));
  options.seed = static_cast<std::uint32_t>(args.GetInt("seed", options.seed, 0, 4294967295LL));
  options.threads = static_cast<int>(args.GetInt("threads", options.threads, 0, 256));
  const auto warped_path = args.Get("warped");
  const bool json = args.Flag("json");
  args.CheckNoneLeft();

  const cv::Mat fixed = ReadImage(fixed_path, cv::IMREAD_COLOR, "fixed image");
  const cv::Mat moving = ReadImage(moving_path, cv::IMREAD_COLOR, "moving image");
  if (fixed_mask_path) {
    options.fixed_mask = ReadImage(*fixed_mask_path, cv::IMREAD_GRAYSCALE, "fixed mask");
  }
  if (moving_mask_path) {
    options.moving_mask = ReadImage(*moving_mask_path, cv::IMREAD_GRAYSCALE, "moving mask");
  }

  const reg::RegistrationResult r = reg::RegisterToBaseline(fixed, moving, options);
  if (warped_path) WriteImage(*warped_path, reg::WarpImageToBaseline(moving, r));

  if (json) {
    nlohmann::json j = r;  // the one JSON form of a registration (pipeline/registration_json.h)
    if (options.deformable) {
      j["deformable"] = {{"applied", r.deformable_applied}, {"note", r.deformable_note}};
    }
    if (warped_path) j["warped"] = *warped_path;
    out << j.dump(2) << "\n";
  } else {
    out << (r.converged ? "converged" : "NOT converged") << ": " << r.stop_reason << "\n"
        << "matrix (moving -> fixed pixels): [" << r.matrix(0, 0) << " " << r.matrix(0, 1) << " "
        << r.matrix(0, 2) << "; " << r.matrix(1, 0) << " " << r.matrix(1, 1) << " "
        << r.matrix(1, 2) << "]\n"
        << "model " << reg::TransformModelName(r.model) << ", quality " << r.quality
        << " (feature start " << r.quality_features << "), overlap " << r.overlap_fraction
        << ", inliers " << r.feature_inliers << "/" << r.feature_matches << ", residual "
        << r.feature_residual_px << " px, " << r.iterations << " iterations, " << r.seconds
        << " s\n"
        << "refinement " << r.refinement_note << "\n"
        << "polish " << r.polish_note << "\n";
    if (options.deformable) out << "deformable " << r.deformable_note << "\n";
  }
  // A result that ran but did not align is not a success for a script either.
  return r.converged ? 0 : 3;
}

const bool kRegistered = RegisterCommand(
    {"register",
     "align a capture to a baseline capture (ITK, features + mutual information)",
     "usage: skintrack register --fixed BASELINE --moving CAPTURE [--model "
     "rigid|similarity|affine]\n"
     "         [--deformable [--grid PX]] [--no-polish] [--fixed-mask M.png] [--moving-mask "
     "M.png]\n"
     "         [--warped OUT.png] [--working-size PX] [--seed N] [--threads N] [--json]\n"
     "  matrix maps moving pixels to fixed pixels (cv::warpAffine convention).\n"
     "  masks: 8-bit, nonzero = pixels the alignment may use (skin minus lesions).\n"
     "  exit 0 converged, 3 ran but did not converge (JSON says why), 1/2 on errors.\n",
     {"deformable", "no-polish", "json"},
     RunRegister});

}  // namespace
}  // namespace skintrack::cli
