#include "skintrack/storage/types.h"

#include <algorithm>
#include <chrono>
#include <cmath>
#include <nlohmann/json.hpp>

#include "annotation_rules.h"
#include "skintrack/core/error.h"
#include "skintrack/storage/repository.h"
#include "skintrack/storage/sha256.h"

namespace skintrack::storage {
namespace {

[[noreturn]] void Invalid(const std::string& message) {
  throw Error(ErrorCode::kInvalidArgument, message);
}

// Quotes at most 64 characters of a bad value, with control characters escaped, so an error
// message never carries a huge or terminal-garbling input.
std::string Quote(std::string_view text) {
  std::string out = "'";
  for (std::size_t i = 0; i < text.size() && i < 64; ++i) {
    const auto c = static_cast<unsigned char>(text[i]);
    if (c < 0x20 || c == 0x7f) {
      static const char kHex[] = "0123456789abcdef";
      out += "\\x";
      out += kHex[c >> 4];
      out += kHex[c & 15];
    } else {
      out += static_cast<char>(c);
    }
  }
  if (text.size() > 64) out += "...";
  return out + "'";
}

bool IsIdChar(char c) {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '.' ||
         c == '_' || c == '-';
}

void CheckTime(TimeMs t, std::string_view what) {
  if (t < 0 || t > kMaxTimeMs) {
    Invalid(std::string(what) + " " + std::to_string(t) +
            " is outside 0..9999-12-31 (milliseconds since 1970-01-01 UTC)");
  }
}

void CheckRange(TimeMs from, TimeMs to) {
  CheckTime(from, "from");
  CheckTime(to, "to");
  if (from > to) Invalid("time range is empty: from > to");
}

template <typename Enum, std::size_t N>
Enum ParseName(std::string_view text, const char* const (&names)[N], const char* what) {
  for (std::size_t i = 0; i < N; ++i) {
    if (text == names[i]) return static_cast<Enum>(i);
  }
  std::string expected;
  for (std::size_t i = 0; i < N; ++i) expected += (i ? ", " : "") + std::string(names[i]);
  Invalid(std::string("unknown ") + what + " " + Quote(text) + " (expected " + expected + ")");
}

const char* const kStatusNames[] = {"queued", "processing", "processed", "failed"};
const char* const kKindNames[] = {"registration", "mask", "measurement", "score"};
const char* const kSourceNames[] = {"automated", "clinician", "imputed", "consensus"};
const char* const kRoleNames[] = {"admin", "clinician", "coordinator", "device", "annotator"};

}  // namespace

TimeMs NowMs() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

void ValidateId(std::string_view id, std::string_view what) {
  if (id.empty()) Invalid(std::string(what) + " is empty");
  if (id.size() > kMaxIdLength) {
    Invalid(std::string(what) + " " + Quote(id) + " is longer than " +
            std::to_string(kMaxIdLength) + " characters");
  }
  for (char c : id) {
    if (!IsIdChar(c)) {
      Invalid(std::string(what) + " " + Quote(id) +
              " may only contain letters, digits, '.', '_' and '-'");
    }
  }
  if (id == "." || id == "..") Invalid(std::string(what) + " may not be '.' or '..'");
}

void ValidateText(std::string_view text, std::string_view what, std::size_t max_length) {
  if (text.size() > max_length) {
    Invalid(std::string(what) + " is longer than " + std::to_string(max_length) + " bytes");
  }
  for (char c : text) {
    const auto u = static_cast<unsigned char>(c);
    if ((u < 0x20 && c != '\t' && c != '\n') || u == 0x7f) {
      Invalid(std::string(what) + " contains control characters");
    }
  }
}

void ValidateJsonObject(std::string_view json, std::string_view what) {
  if (json.size() > kMaxJsonBytes) {
    Invalid(std::string(what) + " is larger than " + std::to_string(kMaxJsonBytes) + " bytes");
  }
  const nlohmann::json parsed = nlohmann::json::parse(json, nullptr, /*allow_exceptions=*/false);
  if (parsed.is_discarded() || !parsed.is_object()) {
    Invalid(std::string(what) + " is not a JSON object");
  }
}

void CheckLeaseLength(TimeMs lease_ms) {
  if (lease_ms < 1 || lease_ms > TimeMs{24} * 3600 * 1000) Invalid("lease must be 1 ms .. 24 h");
}

void ValidateActor(std::string_view actor) {
  if (actor.empty() || actor.size() > 128) Invalid("actor must have 1..128 characters");
  for (char c : actor) {
    if (!IsIdChar(c) && c != ':' && c != '@') {
      Invalid("actor " + Quote(actor) + " may only contain letters, digits and . _ - : @");
    }
  }
}

void ValidateSharedSetting(std::string_view name, std::string_view value) {
  const bool name_ok =
      !name.empty() && name.size() <= 64 && std::all_of(name.begin(), name.end(), [](char c) {
        return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '_';
      });
  if (!name_ok) Invalid("setting name " + Quote(name) + " must be 1..64 of [a-z0-9_]");
  if (value.empty()) Invalid("setting " + std::string(name) + " has an empty value");
  ValidateText(value, "setting " + std::string(name), 4096);
}

const char* CaptureStatusName(CaptureStatus s) noexcept {
  return kStatusNames[static_cast<int>(s)];
}
const char* ResultKindName(ResultKind k) noexcept { return kKindNames[static_cast<int>(k)]; }
const char* ResultSourceName(ResultSource s) noexcept { return kSourceNames[static_cast<int>(s)]; }
const char* RoleName(Role r) noexcept { return kRoleNames[static_cast<int>(r)]; }
CaptureStatus ParseCaptureStatus(std::string_view text) {
  return ParseName<CaptureStatus>(text, kStatusNames, "capture status");
}
ResultKind ParseResultKind(std::string_view text) {
  return ParseName<ResultKind>(text, kKindNames, "result kind");
}
ResultSource ParseResultSource(std::string_view text) {
  return ParseName<ResultSource>(text, kSourceNames, "result source");
}
Role ParseRole(std::string_view text) { return ParseName<Role>(text, kRoleNames, "role"); }

void PatientInfo::Check() const {
  ValidateId(id, "patient id");
  if (fitzpatrick && (*fitzpatrick < 1 || *fitzpatrick > 6)) {
    Invalid("Fitzpatrick skin type must be 1..6, got " + std::to_string(*fitzpatrick));
  }
  if (!age_band.empty()) ValidateId(age_band, "age band");
  ValidateJsonObject(attributes_json, "patient attributes");
}

void NewCapture::Check() const {
  ValidateId(patient_id, "patient id");
  ValidateId(site, "body site");
  FindBodySite(site);  // Error(kNotFound) for a name outside the catalogue
  CheckTime(captured_at, "captured_at");
  if (!device.empty()) ValidateId(device, "device");
  if (!visit.empty()) ValidateId(visit, "visit label");
  if (media_type != "image/png" && media_type != "image/jpeg" && media_type != "image/webp") {
    Invalid("media type " + Quote(media_type) + " is not image/png, image/jpeg or image/webp");
  }
  if (width < 1 || height < 1 || width > kMaxImageSide || height > kMaxImageSide) {
    Invalid("image size " + std::to_string(width) + "x" + std::to_string(height) +
            " is outside 1.." + std::to_string(kMaxImageSide) + " pixels per side");
  }
  if (!upload_sha256.empty() && !IsSha256Hex(upload_sha256)) {
    Invalid("upload hash must be 64 lower-case hex digits");
  }
  if (orientation < 1 || orientation > 8) {
    Invalid("EXIF orientation " + std::to_string(orientation) + " is outside 1..8");
  }
}

void NewResult::Check() const {
  if (capture_id <= 0) Invalid("capture id must be positive");
  ValidateId(name, "result name");
  ValidateId(algorithm, "algorithm");
  ValidateId(algorithm_version, "algorithm version");
  if (value && !std::isfinite(*value)) Invalid("result value must be finite");
  ValidateJsonObject(payload_json, "result payload");
  ValidateJsonObject(inputs_json, "result inputs");
  ValidateJsonObject(provenance_json, "result provenance");
}

void NewAssessment::Check() const {
  if (capture_id <= 0) Invalid("capture id must be positive");
  ValidateJsonObject(grades_json, "assessment grades");
  ValidateText(note, "assessment note", kMaxTextLength);
}

void SeriesQuery::Check() const {
  ValidateId(patient_id, "patient id");
  if (site) {
    ValidateId(*site, "body site");
    FindBodySite(*site);
  }
  if (!score_name.empty()) ValidateId(score_name, "score name");
  CheckRange(from, to);
}

void NewToken::Check() const {
  if (patient_scope.size() > 10000) Invalid("token scope lists more than 10000 patients");
  for (const std::string& p : patient_scope) ValidateId(p, "patient id in token scope");
  if (role == Role::kDevice && patient_scope.empty()) {
    Invalid("a device token needs a patient scope (the patients it may push captures for)");
  }
  ValidateText(label, "token label", 256);
  if (expires_at) CheckTime(*expires_at, "expires_at");
}

void NewAnnotationVersion::Check() const {
  if (capture_id <= 0) Invalid("capture id must be positive");
  ValidateActor(author);  // an author is an actor id: "token:<id>", "coco:<name>", "cli"
  if (state == annotation::AnnotationState::kReviewed && !decision) {
    Invalid("a reviewed annotation version needs a decision");
  }
  if (state != annotation::AnnotationState::kReviewed && decision) {
    Invalid(std::string("a decision belongs to a review only, not to a ") +
            annotation::AnnotationStateName(state) + " version");
  }
  ValidateText(note, "annotation note", kMaxTextLength);
  if (expected_version < 0) Invalid("expected_version must be >= 0");
}

void NewAssignment::Check() const {
  if (capture_id <= 0) Invalid("capture id must be positive");
  ValidateActor(annotator);
}

void AuditQuery::Check() const {
  if (!object.empty()) ValidateText(object, "audit object", 256);
  if (after_id < 0) Invalid("after_id must be >= 0");
  if (limit < 1 || limit > 10000) Invalid("audit limit must be 1..10000");
}

void RepositoryOptions::Check() const {
  if (busy_timeout_ms < 0 || busy_timeout_ms > 600000) Invalid("busy_timeout_ms must be 0..600000");
  if (read_connections < 1 || read_connections > 64) Invalid("read_connections must be 1..64");
  if (max_attempts < 1 || max_attempts > 100) Invalid("max_attempts must be 1..100");
  if (retry_base_ms < 0 || retry_max_ms < retry_base_ms) {
    Invalid("retry back-off must satisfy 0 <= retry_base_ms <= retry_max_ms");
  }
  if (!database.empty() && !IsPostgresUrl(database)) {
    Invalid("database must be empty (the data directory's SQLite file) or postgresql://...");
  }
}

const char* AnnotationAuditAction(annotation::AnnotationState state) noexcept {
  switch (state) {
    case annotation::AnnotationState::kDraft:
      return "annotation.save";
    case annotation::AnnotationState::kSubmitted:
      return "annotation.submit";
    case annotation::AnnotationState::kReviewed:
      return "annotation.review";
  }
  return "annotation.save";
}

void CheckListLimit(int limit, const char* what) {
  if (limit < 1 || limit > 10000) {
    throw Error(ErrorCode::kInvalidArgument, std::string(what) + " limit must be 1..10000");
  }
}

}  // namespace skintrack::storage
