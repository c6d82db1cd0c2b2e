// What every route handler needs (private to the service): who is calling, the ids a path names,
// the request's parameters and body, and the JSON of captures and results.
#pragma once

#include <cstdint>
#include <nlohmann/json.hpp>
#include <opencv2/core.hpp>
#include <optional>
#include <string>
#include <vector>

#include "skintrack/core/body_sites.h"
#include "skintrack/service/api.h"
#include "skintrack/storage/store.h"

namespace skintrack::service {

// --- who is calling ---
// The verified token, or Error(kUnauthorized) / Error(kForbidden) when its role is not in `roles`.
storage::TokenInfo Authorize(ApiContext& ctx, const HttpRequest& req,
                             const std::vector<storage::Role>& roles);
// The readers: admin, clinician, coordinator.
const std::vector<storage::Role>& AllReaders();
std::string Actor(const storage::TokenInfo& token);  // "token:<id>", for the audit log
// True for the roles that see pseudonymised data only (coordinators, annotators): subject ids, no
// free text, visit labels and age bands through the rule of skintrack/pipeline/pseudonym.h.
bool Pseudonymised(const storage::TokenInfo& token);

// --- what the path names ---
// The patient a path names (coordinators name patients by their subject id only). Error(kNotFound)
// for an unknown one, and for a device token the same Error(kNotFound), same message, for a
// patient outside its scope: a device cannot tell which patient ids exist.
std::string ResolvePatient(ApiContext& ctx, const storage::TokenInfo& token,
                           const std::string& path_id);
// The capture of a path's {id}; Error(kInvalidArgument) / Error(kNotFound).
storage::Capture LoadCapture(ApiContext& ctx, const std::string& id_text);
// The capture's latest mask `name`; Error(kNotFound) saying the capture's status when absent.
cv::Mat RequireMask(ApiContext& ctx, const storage::Capture& c, const std::string& name);

// --- the request ---
// An optional true/false query parameter; Error(kInvalidArgument) for any other value.
std::optional<bool> BoolQuery(const HttpRequest& req, const std::string& name);
// The optional ?condition=; Error(kInvalidArgument) for an unknown condition.
std::optional<Condition> OptionalCondition(const HttpRequest& req);
// The optional ?max_side=N of an image route (N in 64..8192); 0 when absent.
int MaxSide(const HttpRequest& req);
// The request body as a JSON object, or Error(kInvalidArgument).
nlohmann::json ParseBodyObject(const HttpRequest& req);
// An optional string field of a JSON body; Error(kInvalidArgument) when it is not a string.
std::optional<std::string> StringField(const nlohmann::json& body, const char* key);
// Every integer read from a JSON body goes through these: the parsed number is range-checked
// before any conversion (nlohmann's get<int>() of 4294967299 is 3). Error(kInvalidArgument)
// naming `what` and the range for a value outside [lo, hi], a fraction or exponent form (4.0,
// 4e0), a boolean, a string or null.
long long IntegerValue(const nlohmann::json& value, const std::string& what, long long lo,
                       long long hi);
// The optional integer field `key` of a JSON body, checked as IntegerValue.
std::optional<long long> IntegerField(const nlohmann::json& body, const char* key, long long lo,
                                      long long hi);

// --- the response ---
HttpResponse JsonResponse(int status, const nlohmann::json& body);
// The image as PNG, reduced (area averaging) so that its longer side is at most `max_side` (0:
// full size).
HttpResponse PngResponse(const cv::Mat& image, int max_side = 0);
// The metadata of a token, never its secret or hash: id, role, patients, label, created_at,
// expires_at, revoked_at (RFC 3339 or null) and status (active, revoked, expired).
nlohmann::json TokenJson(const storage::TokenInfo& token);
// The patient id, or for coordinators its subject id.
nlohmann::json PatientField(ApiContext& ctx, const storage::TokenInfo& token,
                            const std::string& id);
nlohmann::json ResultJson(const storage::Result& r);
// A capture (with its latest results and assessments when `with_results`). For pseudonymised
// tokens: no assessment notes and no last_error (free text), the visit label pseudonymised.
nlohmann::json CaptureJson(ApiContext& ctx, const storage::TokenInfo& token,
                           const storage::Capture& c, bool with_results);

}  // namespace skintrack::service
