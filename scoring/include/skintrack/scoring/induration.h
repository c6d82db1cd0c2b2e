// Induration (plaque thickness) cannot be measured from a 2-D photo. Unless a clinician enters
// it, PASI uses a grade imputed from the two visible signs, marked `imputed`.
#pragma once

#include "skintrack/scoring/scores.h"

namespace skintrack::scoring {

// round((erythema + desquamation) / 2), half away from zero: the visible signs track plaque
// thickness. Provenance kImputed, with the method in words. Pure; nothing throws.
SeverityGrade ImputeInduration(const SeverityGrade& erythema, const SeverityGrade& desquamation);

}  // namespace skintrack::scoring
