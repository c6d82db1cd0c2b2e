// The DICOM export shared by `skintrack dicom export` and `skintrack export --format dicom`.
#pragma once

#include <iosfwd>
#include <string>

namespace skintrack::cli {

// Writes capture `capture_id` of data directory `dir` as a DICOM file at `path`, audits it and
// prints one line on `out`. Throws Error(kNotFound) for an unknown capture.
int ExportCaptureDicom(const std::string& dir, long long capture_id, const std::string& path,
                       std::ostream& out);

}  // namespace skintrack::cli
