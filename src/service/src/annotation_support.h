// What the annotation routes share (private to the service): the caller as a workflow Annotator,
// the assignment check of tier-1 annotators, the bodies' fields, and the JSON of annotation
// versions, assignments and consensus figures (docs/annotation.md, "HTTP API").
#pragma once

#include <nlohmann/json.hpp>
#include <optional>
#include <string>

#include "skintrack/annotation/annotation.h"
#include "skintrack/pipeline/annotations.h"
#include "skintrack/service/api.h"
#include "skintrack/storage/store.h"

namespace skintrack::service {

// The roles that take part in annotation (tiers 1-3).
const std::vector<storage::Role>& AnnotationRoles();

// The caller as the workflow sees it: author "token:<id>" and the token's role.
pipeline::Annotator AnnotatorOf(const storage::TokenInfo& token);

// A tier-1 annotator works on the captures assigned to it only: Error(kForbidden) when `capture`
// is not assigned to `token`. Clinicians and admins pass (they see every capture).
void RequireAssignedIfAnnotator(ApiContext& ctx, const storage::TokenInfo& token,
                                const storage::Capture& capture);

// --- the bodies ---
// Error(kInvalidArgument) naming the first field of `body` that is not in `allowed`: a typo
// ("expected_verison") must not be ignored.
void RejectUnknownFields(const nlohmann::json& body, std::initializer_list<const char*> allowed);
// The required "expected_version" (0 for a new annotation).
int ExpectedVersion(const nlohmann::json& body);
// The optional "content": an annotation document, decoded and checked against the capture's size
// by annotation::DecodeDocument. Error(kInvalidArgument) naming the field ("content.masks.skin:
// ...").
std::optional<annotation::AnnotationContent> ContentField(const nlohmann::json& body,
                                                          const storage::Capture& capture);
// A required string field; Error(kInvalidArgument) "`key` is required (`what`)" when absent.
std::string RequiredString(const nlohmann::json& body, const char* key, const char* what);
// An optional ?limit=N of a list route (1..10000); `fallback` when absent.
int LimitQuery(const HttpRequest& req, int fallback);

// --- the answers ---
// A version as JSON (docs/annotation.md), with its content (the canonical document) when
// `capture` is given. Notes are free text: `with_note` false leaves them out.
nlohmann::json VersionJson(storage::Store& store, const storage::AnnotationVersion& version,
                           const storage::Capture* capture, bool with_note = true);
nlohmann::json AssignmentJson(const storage::Assignment& assignment);
// The figures of a consensus from its stored agreement result (kAnnotationAgreement): what the
// POST that built it answers and what GET answers later.
nlohmann::json ConsensusJson(const storage::Result& agreement);

}  // namespace skintrack::service
