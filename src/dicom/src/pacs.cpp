// C-STORE to a PACS with DCMTK's DcmSCU: one association for all files, each file's own SOP
// class and transfer syntax proposed (with Explicit VR Little Endian as the fallback for native
// pixels).
#include <set>
#include <string>
#include <utility>

#include "dcmtk/config/osconfig.h"  // must come first (DCMTK)
#include "dcmtk/dcmdata/dcdeftag.h"
#include "dcmtk/dcmdata/dcfilefo.h"
#include "dcmtk/dcmdata/dcuid.h"
#include "dcmtk/dcmnet/scu.h"
#include "dcmtk/oflog/oflog.h"
#include "dicom_internal.h"
#include "skintrack/core/error.h"
#include "skintrack/dicom/dicom.h"

namespace skintrack::dicom {

void Check(const OFCondition& c, const std::string& what) {
  if (c.bad()) throw Error(ErrorCode::kIo, what + ": " + c.text());
}

void QuietDcmtkLog() { OFLog::configure(OFLogger::ERROR_LOG_LEVEL); }

void PacsTarget::Check() const {
  auto ae = [](const std::string& v, const char* name) {
    if (v.empty() || v.size() > 16) {
      throw Error(ErrorCode::kInvalidArgument, std::string(name) + " must be 1-16 characters");
    }
    for (char c : v) {
      if (c < 0x20 || c > 0x7e || c == '\\') {
        throw Error(ErrorCode::kInvalidArgument, std::string(name) + " holds a bad character");
      }
    }
  };
  if (host.empty()) throw Error(ErrorCode::kInvalidArgument, "PACS host is empty");
  if (port < 1 || port > 65535)
    throw Error(ErrorCode::kInvalidArgument, "PACS port must be 1-65535");
  ae(called_ae, "called AE title");
  ae(calling_ae, "calling AE title");
  if (timeout_s < 1 || timeout_s > 3600) {
    throw Error(ErrorCode::kInvalidArgument, "PACS timeout must be 1-3600 s");
  }
}

void StoreToPacs(const std::vector<WrittenInstance>& files, const PacsTarget& target) {
  target.Check();
  if (files.empty()) return;
  QuietDcmtkLog();
  DcmSCU scu;
  scu.setAETitle(target.calling_ae.c_str());
  scu.setPeerAETitle(target.called_ae.c_str());
  scu.setPeerHostName(target.host.c_str());
  scu.setPeerPort(static_cast<Uint16>(target.port));
  scu.setConnectionTimeout(target.timeout_s);
  scu.setACSETimeout(static_cast<Uint32>(target.timeout_s));
  scu.setDIMSETimeout(static_cast<Uint32>(target.timeout_s));
  scu.setDIMSEBlockingMode(DIMSE_NONBLOCKING);
  std::set<std::pair<std::string, std::string>> contexts;
  for (const WrittenInstance& f : files) {
    contexts.emplace(f.sop_class_uid, f.transfer_syntax_uid);
  }
  for (const auto& [sop_class, syntax] : contexts) {
    OFList<OFString> syntaxes;
    syntaxes.push_back(syntax.c_str());
    Check(scu.addPresentationContext(sop_class.c_str(), syntaxes), "proposing " + syntax);
  }
  Check(scu.initNetwork(), "PACS network");
  Check(scu.negotiateAssociation(), "association with " + target.called_ae + " at " + target.host +
                                        ":" + std::to_string(target.port));
  size_t stored = 0;
  for (const WrittenInstance& f : files) {
    const T_ASC_PresentationContextID id =
        scu.findPresentationContextID(f.sop_class_uid.c_str(), f.transfer_syntax_uid.c_str());
    if (id == 0) {
      scu.releaseAssociation();
      throw Error(ErrorCode::kIo, "the PACS accepted no presentation context for " +
                                      f.sop_class_uid + " in " + f.transfer_syntax_uid + " (" +
                                      std::to_string(stored) + " of " +
                                      std::to_string(files.size()) + " stored)");
    }
    Uint16 status = 0;
    const OFCondition sent = scu.sendSTORERequest(id, f.path.c_str(), nullptr, status);
    if (sent.bad() || status != 0) {
      scu.releaseAssociation();
      throw Error(
          ErrorCode::kIo,
          "C-STORE of " + f.path + " failed (" +
              (sent.bad() ? std::string(sent.text()) : "status 0x" + std::to_string(status)) +
              "; " + std::to_string(stored) + " of " + std::to_string(files.size()) + " stored)");
    }
    ++stored;
  }
  scu.releaseAssociation();
}

}  // namespace skintrack::dicom
