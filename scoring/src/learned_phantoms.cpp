#include "learned_phantoms.h"

#include <map>
#include <mutex>
#include <string>
#include <utility>

#include "skintrack/phantom/phantom.h"

namespace skintrack::scoring::learned {
namespace {

phantom::Visit GenerateScene(Condition condition, int k) {
  phantom::PhantomOptions po;
  po.condition = condition;
  po.visits = 1;
  po.seed = static_cast<std::uint64_t>(k) + 1;
  po.fitzpatrick = 1 + k % 6;
  po.size = cv::Size(800, 600);
  // Lesions as the generator draws them (10-28 % of the skin) on blotchy skin: what the
  // annotated photos lack is normal skin of every tone that is red without being a plaque
  // (measured against fewer lesions and more scenes: docs/learned-segmentation.md, "Phantom
  // scenes").
  po.diffuse_erythema = 5.0;
  po.jpeg_quality = 90;
  return std::move(phantom::GeneratePhantom(po).visits.front());
}

// Scene k of a condition, generated once per process: a k-fold evaluation trains 5-20 models on
// the same scenes (0.25 s each to generate). The pixels are shared; training only reads them.
const phantom::Visit& Scene(Condition condition, int k) {
  static std::mutex mutex;
  static std::map<std::pair<Condition, int>, phantom::Visit> scenes;
  const std::lock_guard<std::mutex> lock(mutex);
  const auto key = std::make_pair(condition, k);
  auto it = scenes.find(key);
  if (it == scenes.end()) it = scenes.emplace(key, GenerateScene(condition, k)).first;
  return it->second;
}

}  // namespace

std::vector<LabelledImage> TrainingPhantoms(LearnedTarget target, int count) {
  const Condition condition =
      target == LearnedTarget::kVitiligo ? Condition::kVitiligo : Condition::kPsoriasis;
  std::vector<LabelledImage> scenes;
  for (int k = 0; k < count; ++k) {
    const phantom::Visit& visit = Scene(condition, k);
    scenes.push_back({"phantom-" + std::to_string(k + 1), visit.image,
                      target == LearnedTarget::kSkin ? visit.skin_mask : visit.lesion_mask});
  }
  return scenes;
}

}  // namespace skintrack::scoring::learned
