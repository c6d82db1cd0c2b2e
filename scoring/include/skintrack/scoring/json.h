// JSON text of the scoring results, so that the CLI, the service and storage serialise them the
// same way (field names are part of the `skintrack segment/score --json` contract: extend, do not
// rename). Every object carries "algorithm_version"; sub-scores carry "provenance".
// Pure functions, thread-safe; nothing throws except std::bad_alloc.
#pragma once

#include <string>

#include "skintrack/scoring/change.h"
#include "skintrack/scoring/measure.h"
#include "skintrack/scoring/scores.h"

namespace skintrack::scoring {

std::string ToJson(const SeverityGrade& grade);
std::string ToJson(const Measurements& measurements);
std::string ToJson(const PasiResult& pasi);
std::string ToJson(const PsoriasisVisitScore& visit);
std::string ToJson(const VasiResult& vasi);
std::string ToJson(const PasiResponse& response);
std::string ToJson(const VasiResponse& response);
std::string ToJson(const Repigmentation& repigmentation);
std::string ToJson(const MaskChange& change);  // counts and percentages, not the masks
std::string ToJson(const MaskAgreement& agreement);

}  // namespace skintrack::scoring
