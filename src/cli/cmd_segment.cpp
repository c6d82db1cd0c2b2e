// `skintrack segment`: skin and lesion masks of one capture, with its measurements.
#include <chrono>
#include <ctime>
#include <nlohmann/json.hpp>
#include <opencv2/imgcodecs.hpp>
#include <ostream>

#include "command.h"
#include "skintrack/core/error.h"
#include "skintrack/scoring/change.h"
#include "skintrack/scoring/json.h"
#include "skintrack/scoring/learned_dataset.h"
#include "skintrack/scoring/learned_reference.h"
#include "skintrack/scoring/learned_segmenter.h"
#include "skintrack/scoring/measure.h"
#include "skintrack/scoring/segmentation.h"

namespace skintrack::cli {
namespace {

void WritePng(const std::string& path, const cv::Mat& image) {
  bool ok = false;
  try {
    ok = cv::imwrite(path, image);
  } catch (const cv::Exception& e) {
    throw Error(ErrorCode::kIo, "cannot write " + path + ": " + e.what());
  }
  if (!ok) throw Error(ErrorCode::kIo, "cannot write " + path);
}

int RunSegment(Args& args, std::ostream& out) {
  const Condition condition = ParseCondition(args.Require("condition"));
  const std::string out_path = args.Require("out");
  const auto skin_out = args.Get("skin-out");
  const auto envelope_out = args.Get("envelope-out");
  const auto overlay_out = args.Get("overlay");
  const auto supplied = args.Get("mask");
  const auto model_path = args.Get("model");
  const auto skin_model_path = args.Get("skin-model");
  const auto reference = args.Get("reference");
  const auto reference_mask = args.Get("reference-mask");
  const auto reference_skin = args.Get("reference-skin");
  const double px_per_mm = args.GetDouble("pixels-per-mm", 0.0, 0.0, 1e4);
  const int work = static_cast<int>(args.GetInt("work-size", 768, 128, 4096));
  const long long induration = args.GetInt("induration", -1, 0, 4);
  const bool json = args.Flag("json");
  args.CheckNoneLeft();
  if (args.positional().size() != 1) {
    throw Error(ErrorCode::kInvalidArgument, "segment takes exactly one IMAGE");
  }
  const std::string image_path = args.positional()[0];

  if (reference.has_value() != reference_mask.has_value()) {
    throw Error(ErrorCode::kInvalidArgument, "--reference and --reference-mask go together");
  }
  if (reference_skin && !reference) {
    throw Error(ErrorCode::kInvalidArgument, "--reference-skin needs --reference");
  }
  if (supplied && (model_path || skin_model_path || reference)) {
    throw Error(ErrorCode::kInvalidArgument,
                "--mask replaces the segmentation: it does not combine with models or references");
  }
  if (skin_model_path && !model_path && !reference) {
    throw Error(ErrorCode::kInvalidArgument, "--skin-model needs --model or --reference");
  }

  const auto t0 = std::chrono::steady_clock::now();
  const std::clock_t c0 = std::clock();
  const cv::Mat image = scoring::ReadImage(image_path);
  std::unique_ptr<scoring::Segmenter> segmenter;
  std::shared_ptr<const scoring::LearnedModel> model, skin_model;
  if (model_path) {
    model = std::make_shared<const scoring::LearnedModel>(
        scoring::LearnedModel::Load(*model_path, scoring::TargetOf(condition)));
  }
  if (skin_model_path) {
    skin_model = std::make_shared<const scoring::LearnedModel>(
        scoring::LearnedModel::Load(*skin_model_path, scoring::LearnedTarget::kSkin));
  }
  if (reference) {
    scoring::PatientReference ref;
    ref.bgr = scoring::ReadImage(*reference);
    ref.lesion_mask = scoring::ReadBinaryMask(*reference_mask, ref.bgr.size());
    if (reference_skin) ref.skin_mask = scoring::ReadBinaryMask(*reference_skin, ref.bgr.size());
    scoring::ReferenceOptions ro;
    ro.condition = condition;
    segmenter = scoring::MakeReferenceSegmenter(ref, ro, model, skin_model);
  } else if (model) {
    segmenter = scoring::MakeLearnedSegmenter(model, skin_model);
  } else if (supplied) {
    segmenter = std::make_unique<scoring::SuppliedMaskSegmenter>(
        condition, scoring::ReadMask(*supplied, image.size()));
  } else {
    scoring::ClassicalSegmenterOptions so;
    so.condition = condition;
    so.work_max_side = work;
    segmenter = scoring::MakeClassicalSegmenter(so);
  }
  // The segmentation alone (no decoding, no measuring): the figure the speed target is about.
  const auto s0 = std::chrono::steady_clock::now();
  const std::clock_t sc0 = std::clock();
  const scoring::Segmentation seg = segmenter->Segment(image);
  const double segment_seconds =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - s0).count();
  const double segment_cpu_seconds = double(std::clock() - sc0) / CLOCKS_PER_SEC;
  scoring::MeasureOptions mo;
  mo.condition = condition;
  mo.pixels_per_mm = px_per_mm;
  mo.work_max_side = work;
  if (induration >= 0) mo.clinician_induration = static_cast<int>(induration);
  const scoring::Measurements m = scoring::Measure(image, seg, mo);
  const double seconds =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  const double cpu_seconds = double(std::clock() - c0) / CLOCKS_PER_SEC;

  WritePng(out_path, seg.lesion_mask);
  if (skin_out) WritePng(*skin_out, seg.skin_mask);
  if (envelope_out) {
    if (condition != Condition::kVitiligo) {
      throw Error(ErrorCode::kInvalidArgument, "--envelope-out is for --condition vitiligo");
    }
    WritePng(*envelope_out, seg.envelope_mask);
  }
  if (overlay_out)
    WritePng(*overlay_out, scoring::RenderOverlay(image, seg.lesion_mask, seg.skin_mask));

  if (json) {
    nlohmann::json j = m;
    j["image"] = {{"path", image_path}, {"width", image.cols}, {"height", image.rows}};
    j["mask"] = out_path;
    if (skin_out) j["skin_mask"] = *skin_out;
    j["lesion_found"] = seg.lesion_found;
    j["contrast"] = seg.contrast;
    j["seconds"] = seconds;
    j["cpu_seconds"] = cpu_seconds;
    j["segment_seconds"] = segment_seconds;
    j["segment_cpu_seconds"] = segment_cpu_seconds;
    j["segmenter"] = seg.segmenter;
    out << j.dump(2) << "\n";
  } else {
    out << ConditionName(condition) << ": lesion " << m.lesion_pixels << " px of skin "
        << m.skin_pixels << " px (" << 100.0 * m.lesion_fraction << " %), ITA " << m.ita_degrees
        << " (" << m.ita_group << ")";
    if (condition == Condition::kPsoriasis) {
      out << ", erythema " << m.erythema.grade << " (delta a* " << m.delta_a << "), scaling "
          << m.desquamation.grade << " (" << 100.0 * m.scale_fraction << " % whitish)";
    } else {
      out << ", depigmentation " << m.depigmentation_percent << " % (level "
          << m.depigmentation_level << ")";
    }
    out << "\n";
  }
  return 0;
}

const bool kRegistered = RegisterCommand(
    {"segment",
     "segment skin and lesions of one photo; write masks, print measurements",
     "usage: skintrack segment --condition psoriasis|vitiligo IMAGE --out MASK.png\n"
     "         [--skin-out SKIN.png] [--envelope-out ENV.png] [--overlay OVERLAY.png]\n"
     "         [--mask ANNOTATION.png] [--pixels-per-mm X] [--induration 0-4]\n"
     "         [--work-size 768] [--model MODEL [--skin-model MODEL]]\n"
     "         [--reference REF_IMAGE --reference-mask REF_MASK [--reference-skin REF_SKIN]]\n"
     "         [--json]\n"
     "Masks are single-channel PNG, 0/255, of the image's size. --mask uses an annotator's\n"
     "lesion mask instead of the automatic one; --induration is a clinician's grade (otherwise\n"
     "induration is imputed and marked so). --model uses a model from `skintrack train` (for\n"
     "the condition) instead of the classical segmenter, --skin-model a skin model for the skin.\n"
     "--reference segments a photo of the same patient and site with a forest fitted on the\n"
     "reference photo and its lesion mask (combined with --model when given).\n",
     {"json"},
     RunSegment});

}  // namespace
}  // namespace skintrack::cli
