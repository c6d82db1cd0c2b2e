// JSON of the scoring results, so that the CLI, the pipeline and storage serialise them the same
// way (field names are part of the `skintrack segment/score --json` contract: extend, do not
// rename). Every object carries "algorithm_version"; sub-scores carry "provenance".
// nlohmann's to_json / from_json (found by argument-dependent lookup: `json j = measurements;`),
// declared against <nlohmann/json_fwd.hpp> so that this header stays cheap to include; ToJson()
// is the same as compact text. Pure functions, thread-safe; to_json throws only std::bad_alloc,
// from_json throws Error(kInvalidArgument) for a value of the wrong shape.
#pragma once

#include <nlohmann/json_fwd.hpp>
#include <string>

#include "skintrack/scoring/change.h"
#include "skintrack/scoring/measure.h"
#include "skintrack/scoring/quality.h"
#include "skintrack/scoring/scores.h"
#include "skintrack/scoring/site_area.h"

namespace skintrack::scoring {

void to_json(nlohmann::json& j, const SeverityGrade& grade);
void to_json(nlohmann::json& j, const Measurements& measurements);
void to_json(nlohmann::json& j, const PasiResult& pasi);
void to_json(nlohmann::json& j, const PsoriasisVisitScore& visit);
void to_json(nlohmann::json& j, const VasiResult& vasi);
void to_json(nlohmann::json& j, const PasiResponse& response);
void to_json(nlohmann::json& j, const VasiResponse& response);
void to_json(nlohmann::json& j, const Repigmentation& repigmentation);
void to_json(nlohmann::json& j, const MaskChange& change);  // counts and percentages, not masks
void to_json(nlohmann::json& j, const MaskAgreement& agreement);
// {"passed", "reasons", "sharpness", "mean_grey", "clipped_fraction", "skin_fraction"}
void to_json(nlohmann::json& j, const QualityReport& quality);
// {"used", "note", "frame": "baseline", "lesion_fraction", "unseen_skin_fraction",
// "envelope_fraction" (vitiligo)}; the pipeline adds "baseline_capture_id".
void to_json(nlohmann::json& j, const SiteArea& area);

// The inverse of to_json for the values stored results are read back into (a missing key keeps
// the field's default, as the stored versions before a field existed did not write it).
void from_json(const nlohmann::json& j, SeverityGrade& grade);
void from_json(const nlohmann::json& j, Repigmentation& repigmentation);

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
