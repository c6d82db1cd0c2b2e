#include "learned_phantoms.h"

#include <string>

#include "skintrack/phantom/phantom.h"

namespace skintrack::scoring::learned {

std::vector<LabelledImage> TrainingPhantoms(LearnedTarget target, int count) {
  std::vector<LabelledImage> scenes;
  for (int k = 0; k < count; ++k) {
    phantom::PhantomOptions po;
    po.condition =
        target == LearnedTarget::kVitiligo ? Condition::kVitiligo : Condition::kPsoriasis;
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
    phantom::Visit visit = std::move(phantom::GeneratePhantom(po).visits.front());
    scenes.push_back({"phantom-" + std::to_string(k + 1), std::move(visit.image),
                      target == LearnedTarget::kSkin ? std::move(visit.skin_mask)
                                                     : std::move(visit.lesion_mask)});
  }
  return scenes;
}

}  // namespace skintrack::scoring::learned
