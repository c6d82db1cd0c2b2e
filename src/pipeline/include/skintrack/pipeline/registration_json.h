// The JSON form of a registration, written in exactly one place: the `skintrack register --json`
// contract and the stored result::kToBaseline payload (which adds the baseline it points at).
// registration/ does not depend on nlohmann, so its JSON lives here.
#pragma once

#include <cstdint>
#include <nlohmann/json_fwd.hpp>

#include "skintrack/registration/registration.h"

namespace skintrack::registration {

// matrix, model, converged, stop_reason, quality and feature figures, notes, sizes; not the
// deformable field (the CLI adds "deformable" when it ran).
void to_json(nlohmann::json& j, const RegistrationResult& result);
// The inverse for the keys present (a missing key keeps the default). Throws
// Error(kInvalidArgument) when "matrix" is not a 2x3 array of numbers.
void from_json(const nlohmann::json& j, RegistrationResult& result);

}  // namespace skintrack::registration

namespace skintrack::pipeline {

// A capture's registration to its site's baseline as stored (result::kToBaseline).
struct BaselineRegistration {
  std::int64_t baseline_capture_id = 0;
  bool is_baseline = false;  // the capture is its own baseline: identity, no figures
  registration::RegistrationResult result;
};

// {"baseline_capture_id", "is_baseline", ...the registration}; a baseline stores only its
// identity matrix, converged and the stop reason.
void to_json(nlohmann::json& j, const BaselineRegistration& stored);
void from_json(const nlohmann::json& j, BaselineRegistration& stored);

}  // namespace skintrack::pipeline
