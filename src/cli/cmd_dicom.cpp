// `skintrack dicom export|push`: captures as DICOM VL Photographic Images, written to files or
// sent to a PACS with C-STORE (src/dicom). `skintrack export --format dicom` is the same export.
#include <unistd.h>

#include <filesystem>
#include <iostream>
#include <ostream>
#include <string>
#include <vector>

#include "command.h"
#include "dicom_export.h"
#include "skintrack/core/body_sites.h"
#include "skintrack/core/error.h"
#include "skintrack/dicom/dicom.h"
#include "skintrack/pipeline/pseudonym.h"
#include "skintrack/storage/store.h"

namespace skintrack::cli {
namespace {

namespace fs = std::filesystem;

constexpr char kUsage[] =
    R"(usage: skintrack dicom export --data-dir DIR --capture ID --out FILE.dcm
       skintrack dicom push --data-dir DIR (--capture ID | --patient P) --host HOST --port N
                            --called-ae AE [--calling-ae SKINTRACK] [--timeout S]

Captures as DICOM VL Photographic Images (modality XC) for a PACS: the pseudonymous subject id as
patient id and name, the body site as a SNOMED CT anatomic region with laterality, the
acquisition date-time from captured_at, the device. A baseline JPEG is encapsulated as stored
(JPEG Baseline transfer syntax); PNG and other JPEGs are written as their exact RGB pixels. UIDs
are derived from the data directory's pseudonym key and the capture, so a re-send is the same
instance. `push` sends one capture or every capture of a patient over one C-STORE association.
The data directory must not be held by a running server. Audited.
)";

struct Exported {
  dicom::WrittenInstance instance;
  std::int64_t capture_id = 0;
};

dicom::Photo PhotoOf(storage::Store& store, const pipeline::PseudonymKey& key,
                     const storage::Capture& c) {
  dicom::Photo p;
  p.image_bytes = store.ReadBlob(c.blob.sha256);
  p.media_type = c.media_type;
  p.orientation = c.orientation;
  p.capture_id = c.id;
  p.subject_id = pipeline::SubjectId(key, c.patient_id);
  p.site = c.site;
  p.condition = ConditionName(c.condition);
  p.captured_at_ms = c.captured_at;
  p.device = c.device;
  p.software_version = SKINTRACK_VERSION;
  // A keyed hash of a fixed label: secret as long as the key is, and stable for the directory.
  p.uid_secret = pipeline::SubjectId(key, "dicom-uid-root");
  return p;
}

storage::Capture RequireCapture(storage::Store& store, long long id) {
  auto c = store.repository().FindCapture(id);
  if (!c) throw Error(ErrorCode::kNotFound, "unknown capture " + std::to_string(id));
  return *c;
}

void Audit(storage::Store& store, const std::string& action, const std::string& object,
           const std::string& details) {
  storage::AuditEntry audit;
  audit.actor = "cli";
  audit.action = action;
  audit.object = object;
  audit.details_json = details;
  store.repository().AppendAudit(audit);
}

int Export(Args& args, std::ostream& out) {
  const std::string dir = args.Require("data-dir");
  const long long id = ParseInt(args.Require("capture"), "--capture");
  const std::string path = args.Require("out");
  args.CheckNoneLeft();
  return ExportCaptureDicom(dir, id, path, out);
}

int Push(Args& args, std::ostream& out) {
  const std::string dir = args.Require("data-dir");
  const auto capture = args.Get("capture");
  const auto patient = args.Get("patient");
  dicom::PacsTarget target;
  target.host = args.Require("host");
  const long long port = ParseInt(args.Require("port"), "--port");
  if (port < 1 || port > 65535) throw Error(ErrorCode::kInvalidArgument, "--port must be 1-65535");
  target.port = static_cast<int>(port);
  target.called_ae = args.Require("called-ae");
  target.calling_ae = args.Get("calling-ae").value_or("SKINTRACK");
  target.timeout_s = static_cast<int>(args.GetInt("timeout", 30, 1, 3600));
  args.CheckNoneLeft();
  target.Check();
  if (capture.has_value() == patient.has_value()) {
    throw Error(ErrorCode::kInvalidArgument, "give one of --capture ID or --patient P");
  }
  auto store = storage::Store::OpenDataDir(dir);
  const pipeline::PseudonymKey key = pipeline::LoadOrCreatePseudonymKey(dir);
  std::vector<storage::Capture> captures;
  if (capture) {
    captures.push_back(RequireCapture(*store, ParseInt(*capture, "--capture")));
  } else {
    if (!store->repository().FindPatient(*patient)) {
      throw Error(ErrorCode::kNotFound, "unknown patient '" + *patient + "'");
    }
    storage::SeriesQuery q;
    q.patient_id = *patient;
    for (const storage::SeriesPoint& s : store->repository().TimeSeries(q)) {
      captures.push_back(s.capture);
    }
  }
  const fs::path tmp =
      fs::temp_directory_path() / ("skintrack-dicom-" + std::to_string(::getpid()));
  fs::create_directories(tmp);
  std::vector<dicom::WrittenInstance> files;
  try {
    for (const storage::Capture& c : captures) {
      files.push_back(dicom::WritePhoto(PhotoOf(*store, key, c),
                                        (tmp / (std::to_string(c.id) + ".dcm")).string()));
    }
    dicom::StoreToPacs(files, target);
  } catch (...) {
    fs::remove_all(tmp);
    throw;
  }
  fs::remove_all(tmp);
  Audit(*store, "dicom.push", capture ? "capture:" + *capture : "patient:" + *patient,
        "{\"instances\":" + std::to_string(files.size()) + ",\"called_ae\":\"" + target.called_ae +
            "\"}");
  out << "stored " << files.size() << " instance(s) at " << target.called_ae << " (" << target.host
      << ":" << target.port << ")\n";
  return 0;
}

int RunDicom(Args& args, std::ostream& out) {
  const std::string what = args.positional().empty() ? "" : args.positional()[0];
  if (args.positional().size() > 1) {
    throw Error(ErrorCode::kInvalidArgument, "unexpected argument '" + args.positional()[1] + "'");
  }
  if (what == "export") return Export(args, out);
  if (what == "push") return Push(args, out);
  throw Error(ErrorCode::kInvalidArgument, "expected `skintrack dicom export|push` (see --help)");
}

const bool kRegistered =
    RegisterCommand({"dicom",
                     "captures as DICOM for a PACS: export to a file, push with C-STORE",
                     kUsage,
                     {},
                     RunDicom});

}  // namespace

int ExportCaptureDicom(const std::string& dir, long long capture_id, const std::string& path,
                       std::ostream& out) {
  auto store = storage::Store::OpenDataDir(dir);
  const pipeline::PseudonymKey key = pipeline::LoadOrCreatePseudonymKey(dir);
  const storage::Capture c = RequireCapture(*store, capture_id);
  const dicom::WrittenInstance w = dicom::WritePhoto(PhotoOf(*store, key, c), path);
  Audit(*store, "dicom.export", "capture:" + std::to_string(c.id),
        "{\"sop_instance_uid\":\"" + w.sop_instance_uid + "\"}");
  out << "wrote " << path << " (" << (w.encapsulated ? "JPEG as stored" : "RGB pixels")
      << ", SOP instance " << w.sop_instance_uid << ")\n";
  return 0;
}

}  // namespace skintrack::cli
