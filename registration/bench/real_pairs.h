// The real serial pairs of registration_bench: B registered to A, with overlays to look at.
#pragma once

#include <filesystem>
#include <ostream>

#include "skintrack/registration/registration.h"

namespace skintrack::bench {

// Registers every `NAME_B.png` of `dir` to its `NAME_A.png` and writes NAME_checker.png,
// NAME_blend.png and NAME_blend_unaligned.png to `out_dir`. Prints one line per pair; a missing
// `dir` is reported and skipped (the photos are not part of the repository).
void RealPairs(const std::filesystem::path& dir, const std::filesystem::path& out_dir,
               const registration::RegistrationOptions& options, std::ostream& out);

}  // namespace skintrack::bench
