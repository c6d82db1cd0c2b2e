// Synthetic training scenes for the learned segmenter, from the project's phantom generator
// (which depends on core only). Private to scoring/.
#pragma once

#include <vector>

#include "skintrack/scoring/learned_segmenter.h"

namespace skintrack::scoring::learned {

// `count` scenes, named "phantom-<k>": one 800x600 baseline photo each, Fitzpatrick types 1..6 in
// turn, mild diffuse blotchy erythema (5 a* units) on the normal skin, the generator's lesions
// (10-28 % of the skin), written as JPEG quality 90 and decoded back; the mask is the truth of
// `target` (the lesions, or the skin). The same scenes for every training seed: a model's phantoms
// are known from its recorded count alone. Generated once per process and shared (read-only
// pixels). Thread-safe.
std::vector<LabelledImage> TrainingPhantoms(LearnedTarget target, int count);

}  // namespace skintrack::scoring::learned
