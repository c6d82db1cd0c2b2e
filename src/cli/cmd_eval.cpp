// `skintrack eval`: segmentation agreement with reference masks over a folder of images.
#include <algorithm>
#include <chrono>
#include <cstdio>
#include <filesystem>
#include <map>
#include <nlohmann/json.hpp>
#include <opencv2/imgcodecs.hpp>
#include <ostream>
#include <vector>

#include "command.h"
#include "learned_report.h"
#include "skintrack/core/colour.h"
#include "skintrack/core/error.h"
#include "skintrack/scoring/change.h"
#include "skintrack/scoring/learned_dataset.h"
#include "skintrack/scoring/learned_eval.h"
#include "skintrack/scoring/measure.h"
#include "skintrack/scoring/segmentation.h"

namespace skintrack::cli {
namespace {

namespace fs = std::filesystem;

// The reference mask of an image: the same stem in the masks folder, optionally with one of the
// usual suffixes (PH2 "_lesion", ISIC "_segmentation", "_mask", "_gt").
std::optional<fs::path> FindMask(const fs::path& masks, const std::string& stem) {
  for (const char* suffix : {"", "_lesion", "_mask", "_segmentation", "_gt", "_gt_from_figure"}) {
    for (const char* ext : {".png", ".PNG", ".bmp", ".tif"}) {
      const fs::path p = masks / (stem + suffix + ext);
      if (fs::is_regular_file(p)) return p;
    }
  }
  return std::nullopt;
}

struct Row {
  std::string name;
  double ita = 0;
  std::string group;
  scoring::MaskAgreement lesion;
  std::optional<scoring::MaskAgreement> envelope;
  double seconds = 0;
};

double Median(std::vector<double> v) {
  if (v.empty()) return 0;
  std::sort(v.begin(), v.end());
  const size_t n = v.size();
  return n % 2 ? v[n / 2] : 0.5 * (v[n / 2 - 1] + v[n / 2]);
}

double Mean(const std::vector<double>& v) {
  double s = 0;
  for (double x : v) s += x;
  return v.empty() ? 0 : s / v.size();
}

nlohmann::json Summary(const std::string& label, const std::vector<const Row*>& rows) {
  std::vector<double> dice, iou, err, env;
  for (const Row* r : rows) {
    dice.push_back(r->lesion.dice);
    iou.push_back(r->lesion.iou);
    err.push_back(std::abs(r->lesion.area_error_points));
    if (r->envelope) env.push_back(r->envelope->dice);
  }
  nlohmann::json j = {{"group", label},
                      {"images", rows.size()},
                      {"dice_mean", Mean(dice)},
                      {"dice_median", Median(dice)},
                      {"iou_mean", Mean(iou)},
                      {"iou_median", Median(iou)},
                      {"abs_area_error_points_mean", Mean(err)}};
  if (!env.empty()) {
    j["envelope_dice_mean"] = Mean(env);
    j["envelope_dice_median"] = Median(env);
  }
  return j;
}

// Options of the learned-segmenter evaluation (any of them selects it).
struct LearnedEvalOptions {
  scoring::LearnedTarget target = scoring::LearnedTarget::kPsoriasis;
  std::optional<std::string> model, masks, annotators, overlays;
  std::optional<std::string> also_images, also_masks, also_annotators;  // extra training photos
  int folds = 0;        // > 0: k-fold cross-validated training per fold
  bool halves = false;  // same-patient protocol
  scoring::LearnedTrainOptions train;
  scoring::ReferenceOptions reference;
  bool json = false;
  bool binarise = false;  // masks with other values than 0/255 thresholded at 128
  int seeds = 1;          // > 1: the whole protocol once per seed (train.seed, +1, ...)
};

// The photo's left or right half with its masks, for the same-patient protocol.
scoring::AnnotatedPhoto RightHalf(const scoring::AnnotatedPhoto& p) {
  const int half = p.image.bgr.cols / 2;
  const cv::Rect r(half, 0, p.image.bgr.cols - half, p.image.bgr.rows);
  scoring::AnnotatedPhoto h;
  h.image = {p.image.name, p.image.bgr(r).clone(), p.image.mask(r).clone()};
  h.annotators = p.annotators;
  for (const cv::Mat& m : p.annotator_masks) h.annotator_masks.push_back(m(r).clone());
  return h;
}

scoring::ReferenceOptions ReferenceFor(const LearnedEvalOptions& o) {
  scoring::ReferenceOptions ro = o.reference;
  ro.condition =
      o.target == scoring::LearnedTarget::kVitiligo ? Condition::kVitiligo : Condition::kPsoriasis;
  ro.seed = o.train.seed;
  return ro;
}

// Predicted masks of every photo under the chosen protocol; `name` describes the segmenter.
std::vector<cv::Mat> Predict(const std::vector<scoring::AnnotatedPhoto>& photos,
                             const LearnedEvalOptions& o, std::string& name, double& train_s) {
  std::vector<cv::Mat> out;
  std::shared_ptr<const scoring::LearnedModel> model;
  if (o.model) {
    model = std::make_shared<const scoring::LearnedModel>(
        scoring::LearnedModel::Load(*o.model, o.target));
  }
  if (o.folds > 0) {
    std::vector<scoring::LabelledImage> images, extra;
    std::vector<std::string> groups;
    for (const auto& p : photos) {
      images.push_back(p.image);
      groups.push_back(scoring::SourceKey(p.image.name));
    }
    if (o.also_images) {
      std::vector<scoring::AnnotatedPhoto> more;
      LoadAnnotatedSet(*o.also_images, o.also_masks, o.also_annotators, o.target, "also-", more,
                       o.binarise);
      for (auto& p : more) extra.push_back(std::move(p.image));
    }
    const scoring::CrossValidation cv =
        scoring::CrossValidate(images, o.train, o.folds, groups, extra);
    train_s = cv.train_seconds;
    name = "learned-forest, " + std::to_string(o.folds) + "-fold cross-validation";
    if (!o.halves) return cv.masks;
    // Same-patient protocol on top of a general model that did not see the photo.
    name = "reference-forest on the left half with the " + name + " model";
    for (size_t i = 0; i < photos.size(); ++i) {
      out.push_back(scoring::SegmentRightHalf(photos[i].image, ReferenceFor(o),
                                              cv.models[static_cast<size_t>(cv.fold[i])])
                        .predicted);
    }
    return out;
  }
  if (o.halves) {
    name = "reference-forest on the left half (" +
           (model ? "with model " + model->info().Id() : std::string("classical features")) + ")";
    for (const auto& p : photos) {
      out.push_back(scoring::SegmentRightHalf(p.image, ReferenceFor(o), model).predicted);
    }
    return out;
  }
  if (model) {
    name = "learned-forest " + model->info().Id();
    for (const auto& p : photos) out.push_back(model->PredictMask(p.image.bgr));
    return out;
  }
  name = "classical";
  for (const auto& p : photos) {
    if (o.target == scoring::LearnedTarget::kSkin) {
      out.push_back(scoring::SegmentSkin(p.image.bgr));
      continue;
    }
    scoring::ClassicalSegmenterOptions so;
    so.condition = o.target == scoring::LearnedTarget::kVitiligo ? Condition::kVitiligo
                                                                 : Condition::kPsoriasis;
    out.push_back(scoring::MakeClassicalSegmenter(so)->Segment(p.image.bgr).lesion_mask);
  }
  return out;
}

// The photos scored against their references (right halves under the same-patient protocol).
std::vector<scoring::PhotoScore> ScoreAll(const std::vector<scoring::AnnotatedPhoto>& photos,
                                          const std::vector<cv::Mat>& predicted,
                                          const LearnedEvalOptions& o) {
  std::vector<scoring::PhotoScore> scores;
  for (size_t i = 0; i < photos.size(); ++i) {
    const scoring::AnnotatedPhoto p = o.halves ? RightHalf(photos[i]) : photos[i];
    scores.push_back(
        scoring::ScorePhoto(p.image.name, p.image.bgr, predicted[i], p.image.mask, o.target));
    scores.back().human = scoring::HumanAgreement(p);
  }
  return scores;
}

// --seeds N: the cross-validation (which photos share a fold, the forests' randomness) once per
// seed. On a few dozen photos the seed moves the mean Dice by several points
// (docs/learned-segmentation.md, "Tone copies"): the figure to quote is the mean over seeds.
int RunOverSeeds(const std::vector<scoring::AnnotatedPhoto>& photos, const LearnedEvalOptions& o,
                 std::ostream& out) {
  nlohmann::json runs = nlohmann::json::array();
  std::vector<double> dice, share, gaps;
  std::string name;
  for (int k = 0; k < o.seeds; ++k) {
    LearnedEvalOptions run = o;
    run.train.seed = o.train.seed + static_cast<uint64_t>(k);
    double train_s = 0;
    const auto summary =
        scoring::Summarise(ScoreAll(photos, Predict(photos, run, name, train_s), run));
    const auto gap = scoring::GroupGap(summary);
    dice.push_back(summary[0].dice_mean);
    share.push_back(summary[0].abs_share_error_points);
    if (gap) gaps.push_back(*gap);
    runs.push_back({{"seed", run.train.seed}, {"summary", SummaryJson(summary)}});
    if (!o.json) {
      char line[160];
      std::snprintf(line, sizeof line,
                    "seed %llu: dice mean %.3f median %.3f | |share err| %.1f pts | ITA gap %s\n",
                    static_cast<unsigned long long>(run.train.seed), summary[0].dice_mean,
                    summary[0].dice_median, summary[0].abs_share_error_points,
                    gap ? std::to_string(*gap).substr(0, 5).c_str() : "n/a");
      out << line << std::flush;
    }
  }
  const auto [lo, hi] = std::minmax_element(dice.begin(), dice.end());
  const nlohmann::json over = {
      {"seeds", o.seeds},
      {"dice_mean", Mean(dice)},
      {"dice_min", *lo},
      {"dice_max", *hi},
      {"abs_share_error_points", Mean(share)},
      {"ita_gap_mean", gaps.empty() ? nlohmann::json() : nlohmann::json(Mean(gaps))}};
  if (o.json) {
    out << nlohmann::json({{"condition", scoring::LearnedTargetName(o.target)},
                           {"segmenter", name},
                           {"protocol", o.halves ? "halves" : "cross-validation"},
                           {"runs", runs},
                           {"over_seeds", over}})
               .dump(2)
        << "\n";
    return 0;
  }
  char line[200];
  std::snprintf(line, sizeof line,
                "segmenter: %s\nover %d seeds: dice mean %.3f (min %.3f, max %.3f) | |share err| "
                "%.1f pts",
                name.c_str(), o.seeds, Mean(dice), *lo, *hi, Mean(share));
  out << line;
  if (!gaps.empty()) out << " | ITA gap mean " << std::to_string(Mean(gaps)).substr(0, 5);
  out << "\n";
  return 0;
}

int RunLearnedEval(const std::string& images, const LearnedEvalOptions& o, std::ostream& out) {
  if (o.halves && o.target == scoring::LearnedTarget::kSkin) {
    throw Error(ErrorCode::kInvalidArgument,
                "--reference-mode halves is for psoriasis or vitiligo");
  }
  if (o.also_images && o.folds == 0) {
    throw Error(ErrorCode::kInvalidArgument,
                "--also-images adds training photos: it needs --folds");
  }
  if (o.folds > 0 && o.model) {
    throw Error(ErrorCode::kInvalidArgument, "--folds trains its own models: drop --model");
  }
  if (o.seeds > 1 && o.overlays) {
    throw Error(ErrorCode::kInvalidArgument, "--overlays draws one run: drop --seeds");
  }
  std::vector<scoring::AnnotatedPhoto> photos;
  LoadAnnotatedSet(images, o.masks, o.annotators, o.target, "", photos, o.binarise);
  if (o.seeds > 1) return RunOverSeeds(photos, o, out);
  if (o.overlays) fs::create_directories(*o.overlays);
  std::string name;
  double train_s = 0;
  const auto t0 = std::chrono::steady_clock::now();
  const std::vector<cv::Mat> predicted = Predict(photos, o, name, train_s);
  const double total_s =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  // The same-patient protocol scores the right halves only.
  const std::vector<scoring::PhotoScore> scores = ScoreAll(photos, predicted, o);
  for (size_t i = 0; o.overlays && i < photos.size(); ++i) {
    const scoring::AnnotatedPhoto p = o.halves ? RightHalf(photos[i]) : photos[i];
    const fs::path f =
        fs::path(*o.overlays) / (fs::path(p.image.name).stem().string() + ".overlay.png");
    const cv::Mat ov = scoring::RenderOverlay(p.image.bgr, predicted[i], cv::Mat(), p.image.mask);
    if (!cv::imwrite(f.string(), ov)) throw Error(ErrorCode::kIo, "cannot write " + f.string());
  }
  const auto summary = scoring::Summarise(scores);
  if (o.json) {
    out << nlohmann::json({{"condition", scoring::LearnedTargetName(o.target)},
                           {"segmenter", name},
                           {"protocol", o.halves      ? "halves"
                                        : o.folds > 0 ? "cross-validation"
                                                      : "apply"},
                           {"fractions_of", "image"},
                           {"train_seconds", train_s},
                           {"seconds", total_s},
                           {"images", ScoresJson(scores)},
                           {"summary", SummaryJson(summary)}})
               .dump(2)
        << "\n";
    return 0;
  }
  out << "segmenter: " << name << " (" << total_s << " s, of which training " << train_s << " s)\n";
  PrintScores(scores, summary, out);
  return 0;
}

int RunEval(Args& args, std::ostream& out) {
  const fs::path images = args.Require("images");
  LearnedEvalOptions lo;
  lo.target = scoring::ParseLearnedTarget(args.Require("condition"));
  lo.masks = args.Get("masks");
  lo.annotators = args.Get("annotators");
  lo.model = args.Get("model");
  lo.also_images = args.Get("also-images");
  lo.also_masks = args.Get("also-masks");
  lo.also_annotators = args.Get("also-annotators");
  lo.folds = static_cast<int>(args.GetInt("folds", 0, 0, 1000));
  const auto mode = args.Get("reference-mode");
  if (mode && *mode != "halves") {
    throw Error(ErrorCode::kInvalidArgument, "--reference-mode must be 'halves', got " + *mode);
  }
  lo.halves = mode.has_value();
  lo.train.target = lo.target;
  lo.train.seed = static_cast<uint64_t>(args.GetInt("seed", 1, 0, 1LL << 40));
  lo.train.work_max_side = static_cast<int>(args.GetInt("model-work-size", 320, 128, 1024));
  lo.train.trees = static_cast<int>(args.GetInt("trees", lo.train.trees, 1, 512));
  lo.train.auto_context = !args.Flag("no-context");
  lo.train.max_depth = static_cast<int>(args.GetInt("max-depth", lo.train.max_depth, 1, 30));
  lo.train.min_leaf = static_cast<int>(args.GetInt("min-leaf", lo.train.min_leaf, 1, 100000));
  lo.train.positive_share = args.GetDouble("positive-share", lo.train.positive_share, 0.0, 1.0);
  lo.train.tone_copies = static_cast<int>(
      args.GetInt("tone-copies", scoring::DefaultToneCopies(lo.train.target), 0, 4));
  lo.train.phantom_scenes = static_cast<int>(
      args.GetInt("phantom-scenes", scoring::DefaultPhantomScenes(lo.train.target), 0, 24));
  lo.train.samples_per_image =
      static_cast<int>(args.GetInt("samples-per-image", lo.train.samples_per_image, 100, 1000000));
  lo.reference.positive_share =
      args.GetDouble("reference-positive-share", lo.reference.positive_share, 0.01, 0.99);
  // A threshold given is used as it is; otherwise the condition decides whether it is tuned.
  const double fixed_threshold = args.GetDouble("reference-threshold", -1, 0.01, 0.99);
  if (fixed_threshold > 0) {
    lo.reference.threshold = fixed_threshold;
    lo.reference.tune_threshold = 0;
  }
  lo.reference.smoothing_sigma =
      args.GetDouble("reference-sigma", lo.reference.smoothing_sigma, 0.5, 16);
  lo.reference.work_max_side =
      static_cast<int>(args.GetInt("reference-work-size", lo.reference.work_max_side, 128, 1024));
  lo.overlays = args.Get("overlays");
  const int work = static_cast<int>(args.GetInt("work-size", 768, 128, 4096));
  lo.json = args.Flag("json");
  lo.binarise = args.Flag("binarize-masks");
  lo.seeds = static_cast<int>(args.GetInt("seeds", 1, 1, 20));
  args.CheckNoneLeft();
  if (lo.seeds > 1 && lo.folds == 0) {
    throw Error(ErrorCode::kInvalidArgument,
                "--seeds repeats the training under other seeds: it needs --folds");
  }
  if (lo.model || lo.folds > 0 || lo.halves || lo.annotators ||
      lo.target == scoring::LearnedTarget::kSkin) {
    return RunLearnedEval(images.string(), lo, out);
  }
  if (!lo.masks) throw Error(ErrorCode::kInvalidArgument, "missing required option --masks");
  const fs::path masks = *lo.masks;
  const Condition condition = ParseCondition(scoring::LearnedTargetName(lo.target));
  const auto& overlays = lo.overlays;
  const bool json = lo.json;
  for (const fs::path& d : {images, masks}) {
    if (!fs::is_directory(d)) {
      throw Error(ErrorCode::kNotFound, "no such directory: " + d.string());
    }
  }
  if (overlays) fs::create_directories(*overlays);

  const std::vector<fs::path> files = scoring::ImagesIn(images);

  scoring::ClassicalSegmenterOptions so;
  so.condition = condition;
  so.work_max_side = work;
  const auto segmenter = scoring::MakeClassicalSegmenter(so);
  scoring::MeasureOptions mo;
  mo.condition = condition;
  mo.work_max_side = work;

  std::vector<Row> rows;
  std::vector<std::string> skipped;
  for (const fs::path& f : files) {
    // A reference mask kept beside its image (same folder) is not an image to segment.
    bool is_mask = false;
    for (const char* suffix : {"_lesion", "_mask", "_segmentation", "_gt", "_gt_from_figure"}) {
      const std::string stem = f.stem().string();
      const std::string sx = suffix;
      is_mask = is_mask || (stem.size() > sx.size() &&
                            stem.compare(stem.size() - sx.size(), sx.size(), sx) == 0);
    }
    if (is_mask) continue;
    const auto mask_path = FindMask(masks, f.stem().string());
    if (!mask_path) {
      skipped.push_back(f.filename().string() + " (no mask)");
      continue;
    }
    const auto t0 = std::chrono::steady_clock::now();
    const cv::Mat image = scoring::ReadImage(f.string());
    const cv::Mat truth = scoring::ReadMask(mask_path->string(), image.size());
    const scoring::Segmentation seg = segmenter->Segment(image);
    const scoring::Measurements m = scoring::Measure(image, seg, mo);
    Row r;
    r.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
    r.name = f.filename().string();
    r.ita = m.ita_degrees;
    r.group = m.ita_group;
    r.lesion = scoring::CompareToTruth(seg.lesion_mask, truth);
    if (!seg.envelope_mask.empty()) r.envelope = scoring::CompareToTruth(seg.envelope_mask, truth);
    rows.push_back(r);
    if (overlays) {
      const fs::path p = fs::path(*overlays) / (f.stem().string() + ".overlay.png");
      const cv::Mat ov = scoring::RenderOverlay(image, seg.lesion_mask, seg.skin_mask, truth);
      if (!cv::imwrite(p.string(), ov)) throw Error(ErrorCode::kIo, "cannot write " + p.string());
    }
  }
  if (rows.empty()) {
    throw Error(ErrorCode::kNotFound,
                "no image in " + images.string() + " has a mask in " + masks.string());
  }

  std::vector<const Row*> all;
  std::map<std::string, std::vector<const Row*>> by_group;
  for (const Row& r : rows) {
    all.push_back(&r);
    by_group[r.group].push_back(&r);
  }
  nlohmann::json summary = nlohmann::json::array();
  summary.push_back(Summary("all", all));
  for (const char* g : kToneGroups) {
    if (by_group.count(g)) summary.push_back(Summary(std::string("ita_") + g, by_group[g]));
  }

  if (json) {
    nlohmann::json list = nlohmann::json::array();
    for (const Row& r : rows) {
      nlohmann::json j = {{"image", r.name},
                          {"ita_degrees", r.ita},
                          {"ita_group", r.group},
                          {"dice", r.lesion.dice},
                          {"iou", r.lesion.iou},
                          {"predicted_fraction", r.lesion.predicted_fraction},
                          {"truth_fraction", r.lesion.truth_fraction},
                          {"area_error_points", r.lesion.area_error_points},
                          {"seconds", r.seconds}};
      if (r.envelope) j["envelope_dice"] = r.envelope->dice;
      list.push_back(j);
    }
    out << nlohmann::json({{"condition", ConditionName(condition)},
                           {"segmenter", segmenter->Name()},
                           {"fractions_of", "image"},
                           {"images", list},
                           {"summary", summary},
                           {"skipped", skipped}})
               .dump(2)
        << "\n";
    return 0;
  }
  char line[512];
  out << "image\tita\tgroup\tdice\tiou\tpred_%\ttruth_%\terr_pts"
      << (condition == Condition::kVitiligo ? "\tenv_dice" : "") << "\n";
  for (const Row& r : rows) {
    std::snprintf(line, sizeof line, "%s\t%.1f\t%s\t%.3f\t%.3f\t%.1f\t%.1f\t%+.1f", r.name.c_str(),
                  r.ita, r.group.c_str(), r.lesion.dice, r.lesion.iou,
                  100 * r.lesion.predicted_fraction, 100 * r.lesion.truth_fraction,
                  r.lesion.area_error_points);
    out << line;
    if (r.envelope) {
      std::snprintf(line, sizeof line, "\t%.3f", r.envelope->dice);
      out << line;
    }
    out << "\n";
  }
  out << "summary (fractions are of the whole image)\n";
  for (const auto& s : summary) {
    std::snprintf(line, sizeof line,
                  "%-18s n=%-3d dice mean %.3f median %.3f | iou mean %.3f median %.3f | "
                  "|area err| %.1f pts",
                  s["group"].get<std::string>().c_str(), s["images"].get<int>(),
                  s["dice_mean"].get<double>(), s["dice_median"].get<double>(),
                  s["iou_mean"].get<double>(), s["iou_median"].get<double>(),
                  s["abs_area_error_points_mean"].get<double>());
    out << line;
    if (s.contains("envelope_dice_mean")) {
      std::snprintf(line, sizeof line, " | envelope dice mean %.3f median %.3f",
                    s["envelope_dice_mean"].get<double>(), s["envelope_dice_median"].get<double>());
      out << line;
    }
    out << "\n";
  }
  for (const std::string& s : skipped) out << "skipped " << s << "\n";
  return 0;
}

const bool kRegistered = RegisterCommand(
    {"eval",
     "segmentation agreement (Dice / IoU / area error) with reference masks in a folder",
     "usage: skintrack eval --images DIR (--masks DIR | --annotators DIR)\n"
     "         --condition psoriasis|vitiligo|skin [--model MODEL | --folds K]\n"
     "         [--also-images DIR (--also-masks DIR | --also-annotators DIR)]\n"
     "         [--reference-mode halves] [--seed 1] [--seeds N] [--model-work-size 320] [--trees "
     "24]\n"
     "         [--no-context] [--positive-share 0.3] [--samples-per-image 4000]\n"
     "         [--max-depth 14] [--min-leaf 12] [--tone-copies N] [--phantom-scenes N]\n"
     "         [--reference-positive-share 0.5]\n"
     "         [--reference-threshold T (default: tuned for psoriasis, 0.5 for vitiligo)]\n"
     "         [--reference-sigma 2] [--reference-work-size 320]\n"
     "         [--overlays OUTDIR] [--work-size 768] [--binarize-masks] [--json]\n"
     "Pairs IMAGE.ext with MASK DIR/IMAGE{,_lesion,_mask,_segmentation,_gt}.png; prints one row\n"
     "per image and summary rows (all, and per ITA skin-tone group of the image's normal skin).\n"
     "Area fractions are of the whole image. --overlays writes the automatic mask (magenta) with\n"
     "the reference outline (green) for each image.\n"
     "Learned segmenter: --model applies a trained model; --folds K trains one model per fold\n"
     "(k-fold over photos: every photo is scored by a model that did not see it; augmented\n"
     "copies of one photo, Roboflow-named, stay in one fold; --also-* photos are added to every\n"
     "fold's training set and not scored); --seeds N repeats it with seeds S..S+N-1 and prints\n"
     "each seed's summary and their mean, min and max (which photos share a fold moves the Dice);\n"
     "--reference-mode halves fits a patient forest on the left half of each photo with its mask\n"
     "(plus --model when given) and scores the right half. --annotators reads DermX folders\n"
     "(DIR/<photo>/<annotator>_<Class>.png, reference = marked by at least half of them) and\n"
     "prints the human bar (each annotator vs the others' consensus) beside the Dice.\n"
     "--condition skin scores skin masks (classical skin detector without a model).\n",
     {"json", "no-context", "binarize-masks"},
     RunEval});

}  // namespace
}  // namespace skintrack::cli
