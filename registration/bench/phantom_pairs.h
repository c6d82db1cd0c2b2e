// The phantom part of registration_bench: pairs with known truth, per scenario, optionally beside
// elastix, with a summary per scenario; 12 MP timing; smooth non-rigid deformations.
#pragma once

#include <ostream>

#include "bench_config.h"

namespace skintrack::bench {

// Both scenarios (geometry-only, lighting + lesion change) over every Fitzpatrick type and
// condition, then the summaries, then `config.big` 12 MP pairs.
void PhantomPairs(const BenchConfig& config, std::ostream& out);

// Phantoms with a smooth deformation of `config.deformation` px, registered without and with
// the deformable stage; errors measured in the baseline frame.
void DeformationPairs(const BenchConfig& config, std::ostream& out);

}  // namespace skintrack::bench
