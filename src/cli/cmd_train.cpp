// `skintrack train`: trains a learned segmentation model from annotated photos and reports its
// Dice on a held-out validation split, per photo and per ITA skin-tone group.
#include <chrono>
#include <cmath>
#include <ctime>
#include <filesystem>
#include <nlohmann/json.hpp>
#include <opencv2/core/utility.hpp>
#include <ostream>

#include "command.h"
#include "learned_report.h"
#include "skintrack/core/error.h"
#include "skintrack/scoring/learned_dataset.h"
#include "skintrack/scoring/learned_eval.h"

namespace skintrack::cli {
namespace {

namespace fs = std::filesystem;

int RunTrain(Args& args, std::ostream& out) {
  scoring::LearnedTrainOptions o;
  o.target = scoring::ParseLearnedTarget(args.Require("condition"));
  const std::string images = args.Require("images");
  const auto masks = args.Get("masks");
  const auto annotators = args.Get("annotators");
  const auto also_images = args.Get("also-images");
  const auto also_masks = args.Get("also-masks");
  const auto also_annotators = args.Get("also-annotators");
  const std::string out_path = args.Require("out");
  o.seed = static_cast<uint64_t>(args.GetInt("seed", 1, 0, 1LL << 40));
  o.work_max_side = static_cast<int>(args.GetInt("work-size", o.work_max_side, 128, 1024));
  o.trees = static_cast<int>(args.GetInt("trees", o.trees, 1, 512));
  o.tone_copies =
      static_cast<int>(args.GetInt("tone-copies", scoring::DefaultToneCopies(o.target), 0, 4));
  o.phantom_scenes = static_cast<int>(
      args.GetInt("phantom-scenes", scoring::DefaultPhantomScenes(o.target), 0, 24));
  const double validation_share = args.GetDouble("validation-share", 0.2, 0.0, 0.5);
  const int threads = static_cast<int>(args.GetInt("threads", 0, 0, 256));
  const bool binarise = args.Flag("binarize-masks");
  const bool json = args.Flag("json");
  args.CheckNoneLeft();
  const fs::path out_dir = fs::absolute(out_path).parent_path();
  if (!fs::is_directory(out_dir)) {
    throw Error(ErrorCode::kNotFound, "no such directory for --out: " + out_dir.string());
  }
  if (threads > 0) cv::setNumThreads(threads);

  std::vector<scoring::AnnotatedPhoto> photos;
  LoadAnnotatedSet(images, masks, annotators, o.target, "", photos, binarise);
  if (also_images)
    LoadAnnotatedSet(*also_images, also_masks, also_annotators, o.target, "also-", photos,
                     binarise);
  else if (also_masks || also_annotators)
    throw Error(ErrorCode::kInvalidArgument, "--also-masks/--also-annotators need --also-images");

  // Validation split: a seeded shuffle, so that the split is the same for a seed.
  std::vector<size_t> order(photos.size());
  for (size_t i = 0; i < order.size(); ++i) order[i] = i;
  cv::RNG rng(o.seed * 2654435761ull + 17);
  for (size_t i = order.size(); i > 1; --i) std::swap(order[i - 1], order[rng.uniform(0, int(i))]);
  size_t n_val = static_cast<size_t>(std::lround(validation_share * double(photos.size())));
  if (validation_share > 0 && n_val == 0 && photos.size() >= 3) n_val = 1;
  if (photos.size() - n_val < 2) {
    throw Error(ErrorCode::kInvalidArgument,
                "training set: " + std::to_string(photos.size()) +
                    " annotated photo(s) leave fewer than 2 to train on");
  }
  std::vector<scoring::LabelledImage> train;
  for (size_t i = n_val; i < order.size(); ++i) train.push_back(photos[order[i]].image);

  const auto t0 = std::chrono::steady_clock::now();
  const std::clock_t c0 = std::clock();
  const scoring::LearnedModel model = scoring::LearnedModel::Train(train, o);
  const double train_s =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  const double train_cpu_s = double(std::clock() - c0) / CLOCKS_PER_SEC;

  std::vector<scoring::PhotoScore> scores;
  for (size_t i = 0; i < n_val; ++i) {
    const scoring::AnnotatedPhoto& p = photos[order[i]];
    scores.push_back(scoring::ScorePhoto(p.image.name, p.image.bgr, model.PredictMask(p.image.bgr),
                                         p.image.mask, o.target));
    scores.back().human = scoring::HumanAgreement(p);
  }
  const auto summary = scoring::Summarise(scores);
  model.Save(out_path);

  const scoring::LearnedModelInfo& info = model.info();
  if (json) {
    nlohmann::json j = {{"model", out_path},
                        {"model_id", info.Id()},
                        {"condition", scoring::LearnedTargetName(o.target)},
                        {"format_version", info.format_version},
                        {"feature_version", info.feature_version},
                        {"training_images", train.size()},
                        {"validation_images", n_val},
                        {"threshold", info.threshold},
                        {"tone_copies", info.options.tone_copies},
                        {"phantom_scenes", info.options.phantom_scenes},
                        {"train_seconds", train_s},
                        {"train_cpu_seconds", train_cpu_s},
                        {"threads", cv::getNumThreads()},
                        {"validation", ScoresJson(scores)},
                        {"validation_summary", SummaryJson(summary)}};
    out << j.dump(2) << "\n";
    return 0;
  }
  out << "model " << info.Id() << " -> " << out_path << ": " << train.size()
      << " training photos (+ " << info.options.phantom_scenes << " phantom scenes), " << n_val
      << " validation photos, threshold " << info.threshold << ", trained in " << train_s
      << " s (CPU " << train_cpu_s << " s, " << cv::getNumThreads() << " threads)\n";
  if (n_val > 0) PrintScores(scores, summary, out);
  return 0;
}

const bool kRegistered = RegisterCommand(
    {"train",
     "train a learned segmentation model (psoriasis, vitiligo or skin) from annotated photos",
     "usage: skintrack train --condition psoriasis|vitiligo|skin --images DIR\n"
     "         (--masks DIR | --annotators DIR) --out MODEL\n"
     "         [--also-images DIR (--also-masks DIR | --also-annotators DIR)]\n"
     "         [--seed 1] [--validation-share 0.2] [--work-size 320] [--trees 24]\n"
     "         [--tone-copies N] [--phantom-scenes N] [--threads N] [--binarize-masks] [--json]\n"
     "Masks: DIR/<stem>.png, 0/255, the image's size (skin masks for --condition skin);\n"
     "other values are refused unless --binarize-masks (threshold 128) is given.\n"
     "Annotators (DermX): DIR/<photo>/<annotator>_<Class>.png; the reference is what at least\n"
     "half of the annotators marked with a class of the condition (psoriasis Plaque, Scale,\n"
     "Papule; vitiligo Patch, Macule). A seeded share of the photos is held out and scored\n"
     "(Dice per photo and per ITA group); the model is trained on the rest. The same seed and\n"
     "data give the same model file, whatever the thread count. --tone-copies: copies of each\n"
     "training photo with more / less melanin on its skin (default 1 for psoriasis, else 0).\n"
     "--phantom-scenes: synthetic scenes (Fitzpatrick 1-6, blotchy redness, plaques or patches)\n"
     "added to the training photos (default 6 for psoriasis, else 0; never validated on).\n",
     {"json", "binarize-masks"},
     RunTrain});

}  // namespace
}  // namespace skintrack::cli
