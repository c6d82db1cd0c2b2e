#include "skintrack/scoring/induration.h"

#include <cmath>

namespace skintrack::scoring {

SeverityGrade ImputeInduration(const SeverityGrade& erythema, const SeverityGrade& desquamation) {
  SeverityGrade g;
  g.grade = static_cast<int>(std::lround((erythema.grade + desquamation.grade) / 2.0));
  g.provenance = Provenance::kImputed;
  g.method = "imputed: round((erythema + desquamation) / 2); thickness is not measurable in 2-D";
  return g;
}

}  // namespace skintrack::scoring
