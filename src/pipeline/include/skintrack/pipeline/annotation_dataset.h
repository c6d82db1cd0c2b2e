// Annotation datasets in and out of a Store as COCO (docs/annotation.md, "COCO datasets in and
// out"): the CLI's `skintrack annotations export|import` and the service's
// `GET /v1/annotations/export` call these functions. The COCO codec is annotation/coco.h; the
// workflow steps an import takes are pipeline/annotations.h's.
//
// Mapping: one COCO image per capture (id = capture id, file_name CocoFileName), one COCO
// annotation per (capture, author, mask class) with its RLE, one bbox-only annotation per box, one
// keypoint annotation of category "landmarks" per author; each author's image-level labels go in
// images[].skintrack.annotator_labels. Categories: the mask classes (annotation::MaskClassName)
// with ids 1..6 in kAllMaskClasses order, then "landmarks" (id 7).
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "skintrack/annotation/coco.h"
#include "skintrack/core/body_sites.h"
#include "skintrack/pipeline/pseudonym.h"
#include "skintrack/storage/store.h"

namespace skintrack::pipeline {

inline constexpr char kLandmarksCategory[] = "landmarks";

struct CocoExportOptions {
  std::optional<Condition> condition;  // only captures of this condition; nullopt: all
  // Set for a coordinator's export: subjects become SubjectId(key, patient id), annotators other
  // than token ids become opaque "A-<12 hex>" ids; notes and free text are never exported anyway.
  std::optional<PseudonymKey> pseudonymise;
  std::string description = "skintrack annotations";  // info.description
};

struct CocoExport {
  // dataset.annotation_versions lists the ids of the annotation versions it holds (ascending): a
  // reproducible dataset version. The same stored versions give the same WriteCoco bytes (no
  // time stamp inside).
  annotation::CocoDataset dataset;
  std::vector<storage::Capture> captures;  // of dataset.images, in that order
};

// What counts as exported: the latest version of each annotation that is submitted or reviewed
// as accepted / corrected (CountsForConsensus); drafts are their author's unfinished work and
// rejected ones are not labels. Captures without such an annotation are left out. Reads only;
// throws skintrack::Error when a stored document does not decode (Error(kInternal)).
CocoExport BuildCocoDataset(storage::Store& store, const CocoExportOptions& options);

// "capture-<id>.jpg" (or .png, .webp after the capture's media type): the exported photo's name.
std::string CocoFileName(const storage::Capture& capture);

// An image file of the dataset that becomes a new capture: the intake (service/image_intake.h,
// ValidateUpload) has already validated `bytes` and removed their metadata; `capture` is filled
// in (patient, site, condition, captured_at, media type, size, orientation, upload_sha256) and
// Check()ed by the caller.
struct CocoImportImage {
  storage::NewCapture capture;
  std::string bytes;
};

enum class CocoImportState { kSubmitted, kAccepted };

struct CocoImportOptions {
  CocoImportState state = CocoImportState::kSubmitted;
  // Empty: every dataset image names its capture by skintrack.capture_id. Otherwise one entry per
  // dataset image, in dataset.images order, ingested as a new capture (or matched to the capture
  // stored from the same upload before).
  std::vector<CocoImportImage> new_captures;
};

struct CocoImportReport {
  int captures_created = 0;
  int annotations_imported = 0;           // (capture, author) annotations appended
  int annotations_unchanged = 0;          // already stored with this content and state (a re-run)
  std::vector<std::int64_t> capture_ids;  // of dataset.images, in that order
  std::vector<std::int64_t> version_ids;  // the latest version of every imported annotation
};

// Imports `dataset` (already parsed by ParseCoco) into `store`. Every image and annotation is
// resolved and checked before anything is written: an image's capture must exist with the
// image's size; each (image, annotator) becomes one annotation whose author is
// "coco:<annotator>" ("coco:unknown" when the file names none; an annotator already "coco:..."
// stays as it is); its masks of one class are the union of that class's segmentations; categories
// must be mask class names (case and '-' / ' ' ignored; "psoriasis" and "vitiligo" mean their
// lesion class) or carry keypoint names; content must pass annotation::CheckContent. A
// (capture, author) that already has an annotation is refused (Error(kConflict)) unless it holds
// the same content, which counts as unchanged, so running an interrupted import again completes
// it. Annotations are submitted by their author; with kAccepted, `actor` (as admin) then reviews
// them as accepted. Errors: Error(kInvalidArgument) / kNotFound / kConflict naming the image or
// annotation, nothing written; a storage failure after the checks (disk full) is rethrown with
// what was imported before it.
CocoImportReport ImportCocoDataset(storage::Store& store, const annotation::CocoDataset& dataset,
                                   const CocoImportOptions& options, const std::string& actor);

}  // namespace skintrack::pipeline
