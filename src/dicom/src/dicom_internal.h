// Shared by the DICOM writers (photo, segmentation) and the C-STORE client; DCMTK types stay in
// src/dicom.
#pragma once

#include <cstdint>
#include <opencv2/core.hpp>
#include <string>

#include "dcmtk/config/osconfig.h"
#include "dcmtk/dcmdata/dcitem.h"
#include "dcmtk/ofstd/ofcond.h"
#include "skintrack/dicom/dicom.h"

namespace skintrack::dicom {

inline constexpr char kVlPhotographicImageStorage[] = "1.2.840.10008.5.1.4.1.1.77.1.4";
inline constexpr char kSegmentationStorage[] = "1.2.840.10008.5.1.4.1.1.66.4";

// Throws Error(kIo) "<what>: <DCMTK's text>" when `c` is not good.
void Check(const OFCondition& c, const std::string& what);

// DCMTK logs warnings to the console by default; skintrack reports through its own errors.
void QuietDcmtkLog();

// DICOM DA (YYYYMMDD) and TM (HHMMSS.fff) of a UTC time in milliseconds.
std::string DicomDate(std::int64_t ms);
std::string DicomTime(std::int64_t ms);

// Sets an attribute from its string form; a code item with an SCT code and its meaning.
void Put(DcmItem& item, const DcmTagKey& tag, const std::string& value);
void PutCode(DcmItem& item, const std::string& code, const std::string& meaning);
// The anatomic region sequence (with laterality modifier) and ImageLaterality of a site.
void PutAnatomy(DcmItem& ds, const Anatomy& a);

// The patient (pseudonymous, de-identification method) and study attributes of a capture's
// objects: the photo and its segmentation carry the same.
void PutPatientAndStudy(DcmItem& ds, const Photo& p, const std::string& study_uid);

// The photo's SOP class and its study, series and instance UIDs (path and syntax left empty).
WrittenInstance PhotoUids(const Photo& p);
// The photo's rows and columns as written: the JPEG frame's or the decoded, oriented pixels'.
cv::Size PhotoSize(const Photo& p);
// The photo's series number within its study (the site's place in the catalogue, +100 vitiligo).
int SeriesNumber(const Photo& p);

}  // namespace skintrack::dicom
