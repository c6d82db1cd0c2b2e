// The DICOM exports shared by `skintrack dicom export|push` and `skintrack export --format
// dicom|dicom-seg`.
#pragma once

#include <iosfwd>
#include <optional>
#include <string>

#include "skintrack/dicom/dicom.h"
#include "skintrack/storage/store.h"

namespace skintrack::cli {

// Writes capture `capture_id` of data directory `dir` as a DICOM file at `path`, audits it and
// prints one line on `out`. Throws Error(kNotFound) for an unknown capture.
int ExportCaptureDicom(const std::string& dir, long long capture_id, const std::string& path,
                       std::ostream& out);

// Writes the stored masks of capture `capture_id` as a DICOM Segmentation of its photo at `path`,
// audits it and prints one line on `out`. Throws Error(kNotFound) for an unknown capture or one
// without a stored lesion mask (nothing written).
int ExportCaptureSegmentation(const std::string& dir, long long capture_id, const std::string& path,
                              std::ostream& out);

// The capture's latest lesion mask result (any source) and latest skin mask, nullopt without a
// lesion mask (cmd_dicom_masks.cpp).
std::optional<dicom::SegmentationMasks> StoredMasks(storage::Store& store,
                                                    const storage::Capture& capture);

}  // namespace skintrack::cli
