// Plain value types of the storage API: what the service passes in and gets back. Backend neutral:
// nothing here knows about SQLite or files.
//
// Conventions: times are std::int64_t milliseconds since the Unix epoch, UTC (TimeMs). External
// ids (patient pseudonyms, visit labels, device names, result names, algorithm names) are
// validated against a strict charset so that they can never act as paths or markup. Capture and
// result ids are database-assigned positive integers. JSON fields hold one JSON object as text.
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "skintrack/annotation/annotation.h"
#include "skintrack/core/body_sites.h"

namespace skintrack::storage {

using TimeMs = std::int64_t;

// Current wall-clock time in TimeMs. Thread-safe.
TimeMs NowMs();

// Limits applied to every input. Violations throw Error(kInvalidArgument) before anything is
// written.
constexpr std::size_t kMaxIdLength = 64;
constexpr std::size_t kMaxTextLength = 4096;  // notes, labels, error messages
constexpr std::size_t kMaxJsonBytes =
    std::size_t{1024} * 1024;                   // payload / inputs / provenance / grades
constexpr int kMaxImageSide = 100000;           // pixels
constexpr TimeMs kMaxTimeMs = 253402300799999;  // 9999-12-31T23:59:59.999Z

// External id: 1..64 characters of [A-Za-z0-9._-], not "." or "..". Throws
// Error(kInvalidArgument) naming `what` and quoting at most 64 characters of the bad value.
void ValidateId(std::string_view id, std::string_view what);
// Free text up to `max_length` bytes without control characters other than tab/newline.
void ValidateText(std::string_view text, std::string_view what, std::size_t max_length);
// A JSON object of at most kMaxJsonBytes. Throws Error(kInvalidArgument).
void ValidateJsonObject(std::string_view json, std::string_view what);

// Life cycle of a capture in the processing queue.
enum class CaptureStatus { kQueued, kProcessing, kProcessed, kFailed };
// What a stored result is. Registration: a transform to the baseline; mask: a PNG blob;
// measurement: areas/fractions; score: PASI/VASI family values.
enum class ResultKind { kRegistration, kMask, kMeasurement, kScore };
// Where a result came from (SCORES.md provenance).
// kConsensus: built from several reviewed annotations (docs/annotation.md); scoring uses it like a
// clinician's mask, and the automated mask stays beside it.
enum class ResultSource { kAutomated, kClinician, kImputed, kConsensus };
// Token roles (DESIGN.md, security). kAnnotator is tier 1 of the annotation workflow: it labels
// the captures assigned to it and sees its own work only (docs/annotation.md).
enum class Role { kAdmin, kClinician, kCoordinator, kDevice, kAnnotator };

// Stable lower-case names ("queued", "registration", "automated", "device", ...) and their
// parsers; Parse* throw Error(kInvalidArgument) on anything else.
const char* CaptureStatusName(CaptureStatus s) noexcept;
const char* ResultKindName(ResultKind k) noexcept;
const char* ResultSourceName(ResultSource s) noexcept;
const char* RoleName(Role r) noexcept;
CaptureStatus ParseCaptureStatus(std::string_view text);
ResultKind ParseResultKind(std::string_view text);
ResultSource ParseResultSource(std::string_view text);
Role ParseRole(std::string_view text);

// A content-addressed blob: lower-case hex SHA-256 of its bytes and its size in bytes.
struct BlobRef {
  std::string sha256;
  std::int64_t size = 0;
};

struct PatientInfo {
  std::string id;                  // pseudonymous subject id, ValidateId
  std::optional<int> fitzpatrick;  // skin type 1..6
  std::string age_band;            // e.g. "40-49"; empty or ValidateId
  std::string attributes_json = "{}";
  void Check() const;  // throws Error(kInvalidArgument)
};

struct Patient {
  PatientInfo info;
  TimeMs created_at = 0;
};

// What a device or clinician supplies with the (already re-encoded) image bytes.
struct NewCapture {
  std::string patient_id;
  std::string site;  // a BodySiteCatalogue() name
  Condition condition = Condition::kPsoriasis;
  TimeMs captured_at = 0;
  std::string device;  // empty or ValidateId
  std::string visit;   // visit label grouping captures of one appointment; empty = none
  std::string media_type = "image/png";  // image/png, image/jpeg or image/webp
  int width = 0;                         // pixels, as shown (orientation applied)
  int height = 0;                        // pixels, as shown (orientation applied)
  // SHA-256 (lower-case hex) of the bytes as uploaded, before metadata removal; empty = unknown.
  std::string upload_sha256;
  // EXIF orientation (1..8) of the stored pixels, read from the upload before its EXIF block was
  // removed; applied by skintrack::DecodeOriented whenever the photo is decoded.
  int orientation = 1;
  void Check() const;  // throws Error(kInvalidArgument) / Error(kNotFound) for an unknown site
};

struct Capture {
  std::int64_t id = 0;
  std::string patient_id;
  std::string site;
  Condition condition = Condition::kPsoriasis;
  TimeMs captured_at = 0;
  TimeMs received_at = 0;
  std::string device;
  std::string visit;
  std::string media_type;
  BlobRef blob;
  int width = 0;        // pixels, as shown (orientation applied)
  int height = 0;       // pixels, as shown (orientation applied)
  int orientation = 1;  // EXIF orientation (1..8) of the stored pixels; see NewCapture
  CaptureStatus status = CaptureStatus::kQueued;
  int attempts = 0;        // processing attempts so far
  std::string last_error;  // of the last failed attempt
};

struct IngestResult {
  Capture capture;
  bool created = false;  // false: the same bytes were already stored for this patient and site
};

// A capture claimed from the work queue by one worker until lease_expires_at.
struct WorkItem {
  Capture capture;
  TimeMs lease_expires_at = 0;
};

struct QueueCounts {
  std::int64_t queued = 0;
  std::int64_t processing = 0;
  std::int64_t processed = 0;
  std::int64_t failed = 0;
};

// A processing output or clinician correction for one capture. Results are never updated: every
// append creates version max+1 of (capture_id, kind, name).
struct NewResult {
  std::int64_t capture_id = 0;
  ResultKind kind = ResultKind::kScore;
  std::string name;  // e.g. "pasi_site", "lesion", "to_baseline"; ValidateId
  ResultSource source = ResultSource::kAutomated;
  std::string algorithm;               // ValidateId, e.g. "pasi"
  std::string algorithm_version;       // ValidateId, e.g. "1.2.0"
  std::optional<double> value;         // headline number (a score, an area); finite
  std::string payload_json = "{}";     // the full result (matrix, sub-scores, areas)
  std::string inputs_json = "{}";      // what it was computed from (capture/result ids, options)
  std::string provenance_json = "{}";  // measured / entered / imputed parts, uncertainty
  void Check() const;
};

struct Result {
  std::int64_t id = 0;
  std::int64_t capture_id = 0;
  ResultKind kind = ResultKind::kScore;
  std::string name;
  int version = 0;
  ResultSource source = ResultSource::kAutomated;
  std::string algorithm;
  std::string algorithm_version;
  std::optional<double> value;
  std::string payload_json;
  std::string inputs_json;
  std::string provenance_json;
  std::string blob_sha256;  // empty when the result has no blob (a mask PNG has one)
  std::string actor;
  TimeMs created_at = 0;
};

// Grades a clinician entered for a capture and/or a corrected mask. Versioned per capture like
// results; kept beside the automated results, never over them.
struct NewAssessment {
  std::int64_t capture_id = 0;
  std::string grades_json = "{}";  // e.g. {"erythema":2,"induration":1,"desquamation":2}
  std::string note;                // free text up to kMaxTextLength
  void Check() const;
};

struct Assessment {
  std::int64_t id = 0;
  std::int64_t capture_id = 0;
  int version = 0;
  std::string grades_json;
  std::string note;
  std::string mask_sha256;  // corrected mask blob, empty if none
  std::string actor;
  TimeMs created_at = 0;
};

// Captures of one patient in time order, optionally narrowed to a site and a condition, each with
// the latest version of the score `score_name` (if any).
struct SeriesQuery {
  std::string patient_id;
  std::optional<std::string> site;
  std::optional<Condition> condition;
  std::string score_name;  // empty: no score lookup
  TimeMs from = 0;
  TimeMs to = kMaxTimeMs;
  // The kind of the result named score_name looked up per capture (SeriesPoint::score): the
  // pipeline reads a site's quality measurements, baseline choices and registrations this way,
  // in one query per series instead of one per capture (issue 15).
  ResultKind score_kind = ResultKind::kScore;
  void Check() const;
};

struct SeriesPoint {
  Capture capture;
  std::optional<Result> score;
};

struct NewToken {
  Role role = Role::kDevice;
  std::vector<std::string> patient_scope;  // device tokens: the patients it may push for
  std::string label;                       // who or what holds it; ValidateText
  std::optional<TimeMs> expires_at;
  void Check() const;
};

struct TokenInfo {
  std::string id;  // public part of the token, 16 hex characters
  Role role = Role::kDevice;
  std::vector<std::string> patient_scope;
  std::string label;
  TimeMs created_at = 0;
  std::optional<TimeMs> expires_at;
  std::optional<TimeMs> revoked_at;
};

struct CreatedToken {
  TokenInfo info;
  std::string token;  // "stk_<id>_<secret>": shown once, only its hash is stored
};

struct AuditEntry {
  std::int64_t id = 0;
  TimeMs at = 0;
  std::string actor;
  std::string action;  // e.g. "capture.ingest", "result.append", "patient.erase"
  std::string object;  // e.g. "capture:42", "patient:P001"
  std::string before;  // reference to the previous state ("result:17"), empty if none
  std::string after;   // reference to the new state, empty if none
  std::string details_json;
};

// --- annotations (docs/annotation.md)
// -------------------------------------------------------------- An annotation is one author's
// labelling of one capture: (capture, author) is unique, and every change (a saved draft, a
// submission, a review) appends version max+1 of it. The content (masks per class as RLE, boxes,
// keypoints, image-level labels) is a blob: the annotation document (annotation/document.h),
// content-addressed like every blob, so an unchanged content costs no space. Nothing is updated or
// deleted except by patient erasure.
struct NewAnnotationVersion {
  std::int64_t capture_id = 0;
  // Who the annotation belongs to: "token:<id>" for a person with a token, "coco:<name>" for an
  // annotator named in an imported COCO file, "cli" ... (ValidateActor charset).
  std::string author;
  Role author_role = Role::kAnnotator;  // the author's role when the annotation was created
  annotation::AnnotationState state = annotation::AnnotationState::kDraft;
  // Set exactly when state is kReviewed.
  std::optional<annotation::ReviewDecision> decision;
  std::string note;  // free text up to kMaxTextLength (the author's, or the reviewer's)
  // Optimistic concurrency: the version this one follows (0 when the annotation does not exist
  // yet). Error(kConflict) if the annotation's latest version is another one, so two concurrent
  // changes cannot both follow the same version and one of them is refused, not lost.
  int expected_version = 0;
  void Check() const;  // throws Error(kInvalidArgument)
};

struct AnnotationVersion {
  std::int64_t id = 0;             // of this version; database-assigned, never reused
  std::int64_t annotation_id = 0;  // the same for every version of one (capture, author)
  std::int64_t capture_id = 0;
  std::string author;
  Role author_role = Role::kAnnotator;
  int version = 0;  // 1, 2, ...
  annotation::AnnotationState state = annotation::AnnotationState::kDraft;
  std::optional<annotation::ReviewDecision> decision;
  std::string note;
  BlobRef content;    // the annotation document
  std::string actor;  // who made this version: the author, or the reviewer
  TimeMs created_at = 0;
};

// A capture handed to an annotator to label. Assignments are inserted, never changed; assigning
// the same (capture, annotator) twice is a no-op.
struct NewAssignment {
  std::int64_t capture_id = 0;
  std::string annotator;  // the author id that will annotate ("token:<id>")
  void Check() const;
};

struct Assignment {
  std::int64_t capture_id = 0;
  std::string annotator;
  std::string assigned_by;
  TimeMs assigned_at = 0;
};

struct AuditQuery {
  std::string object;         // exact object, or empty for all
  std::int64_t after_id = 0;  // paging: entries with a larger id
  int limit = 100;            // 1..10000
  void Check() const;
};

}  // namespace skintrack::storage
