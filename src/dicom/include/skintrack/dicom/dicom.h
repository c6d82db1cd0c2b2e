// Captures as DICOM, for the hospital's PACS: each capture becomes a VL Photographic Image
// (modality XC, external-camera photography) with the pseudonymous subject id, the body site
// coded in SNOMED CT, the acquisition date-time and the device. A baseline JPEG is encapsulated
// as stored (JPEG Baseline transfer syntax, no re-encoding) when its EXIF orientation is 1; other
// photos (PNG, progressive JPEG, a JPEG to be shown rotated) are written as their decoded pixels
// with the orientation applied (skintrack::DecodeOriented), losslessly. Sent with C-STORE (DCMTK's
// dcmnet). DCMTK types stay in src/dicom.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "skintrack/core/body_site_snomed.h"

namespace skintrack::dicom {

struct Photo {
  std::string image_bytes;  // the stored capture
  std::string media_type;   // "image/jpeg" or "image/png"
  int orientation = 1;      // EXIF orientation (1..8) of the stored pixels (Capture::orientation)
  std::int64_t capture_id = 0;
  std::string subject_id;           // pseudonymous: PatientID and PatientName
  std::string site;                 // a body-site catalogue name, e.g. "left-forearm"
  std::string condition;            // "psoriasis" / "vitiligo": the study's description
  std::int64_t captured_at_ms = 0;  // UTC
  std::string device;               // device token id, "" when a clinician uploaded it
  std::string software_version;
  // Secret per data directory: UIDs are derived from it and the capture, so the same capture
  // always gets the same UIDs (a PACS sees a re-send as the same instance) and a UID reveals
  // nothing about the patient.
  std::string uid_secret;
};

struct WrittenInstance {
  std::string path;
  std::string sop_instance_uid;
  std::string study_instance_uid;
  std::string series_instance_uid;
  std::string transfer_syntax_uid;
  bool encapsulated = false;  // the JPEG bytes as stored, not decoded pixels
};

// The SNOMED CT code of a site's anatomic region (the table lives in core, shared with FHIR).
using Anatomy = skintrack::BodySiteAnatomy;
// Every catalogue site has one (a test checks); Error(kNotFound) for a site outside it.
inline Anatomy SiteAnatomy(const std::string& site) { return SnomedSiteAnatomy(site); }

// "2.25.<decimal>" from SHA-256 of the parts (a name-based UUID, RFC 9562 version 8).
std::string DerivedUid(const std::string& secret, const std::string& kind, const std::string& key);

// Writes `photo` as a DICOM Part 10 file at `path` (through a temporary file and a rename).
// Throws Error(kInvalidArgument) for a bad photo (unknown site, empty subject, no image),
// Error(kImageDecode) for bytes that do not decode, Error(kIo) when the file cannot be written.
WrittenInstance WritePhoto(const Photo& photo, const std::string& path);

struct PacsTarget {
  std::string host = "127.0.0.1";
  int port = 104;
  std::string called_ae = "ANY-SCP";
  std::string calling_ae = "SKINTRACK";
  int timeout_s = 30;
  void Check() const;  // throws Error(kInvalidArgument) naming the bad field
};

// Sends the files with C-STORE over one association. Throws Error(kIo) naming the first failure
// (no connection, association rejected, no accepted transfer syntax, a non-success status) and
// how many files were stored before it.
void StoreToPacs(const std::vector<WrittenInstance>& files, const PacsTarget& target);

}  // namespace skintrack::dicom
