// Shared by the DICOM writer and the C-STORE client; DCMTK types stay in src/dicom.
#pragma once

#include <string>

#include "dcmtk/config/osconfig.h"
#include "dcmtk/ofstd/ofcond.h"

namespace skintrack::dicom {

// Throws Error(kIo) "<what>: <DCMTK's text>" when `c` is not good.
void Check(const OFCondition& c, const std::string& what);

// DCMTK logs warnings to the console by default; skintrack reports through its own errors.
void QuietDcmtkLog();

}  // namespace skintrack::dicom
