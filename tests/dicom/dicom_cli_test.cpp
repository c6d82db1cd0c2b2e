// `skintrack export --format dicom` and `skintrack dicom export|push` on a real data directory.
#include <gtest/gtest.h>

#include <filesystem>

#include "../support/run_cli.h"
#include "dcmtk/config/osconfig.h"
#include "dcmtk/dcmdata/dcdeftag.h"
#include "dcmtk/dcmdata/dcfilefo.h"
#include "dicom_photo.h"
#include "skintrack/pipeline/pseudonym.h"
#include "skintrack/storage/store.h"

namespace skintrack {
namespace {

namespace fs = std::filesystem;
using testing::RunCli;
using testing::TempDir;

// A data directory with patient P-1 and one JPEG capture (id 1) of the left forearm.
std::string JpegBytesIn(const std::string& dir) {
  auto store = storage::Store::OpenDataDir(dir);
  storage::PatientInfo info;
  info.id = "P-1";
  store->repository().CreatePatient(info, "test");
  storage::NewCapture c;
  c.patient_id = "P-1";
  c.site = "left-forearm";
  c.captured_at = 1764000000123;
  c.media_type = "image/jpeg";
  c.width = 160;
  c.height = 120;
  std::string bytes = testing::Encoded(testing::SkinPatch(), ".jpg");
  store->IngestCapture(c, bytes, "test");
  return bytes;
}

TEST(DicomCli, ExportsACaptureWithThePseudonymAsPatientId) {
  TempDir dir("dicom-cli");
  const std::string data = dir.str() + "/data";
  JpegBytesIn(data);
  const std::string out = dir.str() + "/c1.dcm";
  auto r = RunCli("export --data-dir " + data + " --format dicom --capture 1 --out " + out);
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_NE(r.out.find("JPEG as stored"), std::string::npos) << r.out;
  DcmFileFormat file;
  ASSERT_TRUE(file.loadFile(out.c_str()).good());
  OFString id;
  file.getDataset()->findAndGetOFString(DCM_PatientID, id);
  const std::string subject = pipeline::SubjectId(pipeline::LoadOrCreatePseudonymKey(data), "P-1");
  EXPECT_EQ(std::string(id.c_str()), subject);
  EXPECT_NE(std::string(id.c_str()), "P-1");
  // The same through `skintrack dicom export`: the same instance UID.
  const std::string again = dir.str() + "/again.dcm";
  r = RunCli("dicom export --data-dir " + data + " --capture 1 --out " + again);
  ASSERT_EQ(r.exit_code, 0) << r.err;
  DcmFileFormat second;
  ASSERT_TRUE(second.loadFile(again.c_str()).good());
  OFString uid1, uid2;
  file.getDataset()->findAndGetOFString(DCM_SOPInstanceUID, uid1);
  second.getDataset()->findAndGetOFString(DCM_SOPInstanceUID, uid2);
  EXPECT_EQ(uid1, uid2);
}

TEST(DicomCli, BadRequestsNameTheProblem) {
  TempDir dir("dicom-cli-bad");
  const std::string data = dir.str() + "/data";
  JpegBytesIn(data);
  const std::string out = dir.str() + "/x.dcm";
  auto r = RunCli("export --data-dir " + data + " --format dicom --capture 9 --out " + out);
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_NE(r.err.find("unknown capture 9"), std::string::npos) << r.err;
  EXPECT_FALSE(fs::exists(out));
  r = RunCli("export --data-dir " + data + " --format dicom --out " + out);
  EXPECT_EQ(r.exit_code, 2);
  r = RunCli("dicom push --data-dir " + data +
             " --capture 1 --patient P-1 --host 127.0.0.1 --port 1 --called-ae X");
  EXPECT_EQ(r.exit_code, 2);
  EXPECT_NE(r.err.find("one of --capture"), std::string::npos) << r.err;
  r = RunCli("dicom push --data-dir " + data +
             " --patient P-1 --host 127.0.0.1 --port 1 --called-ae PACS --timeout 2");
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_NE(r.err.find("association"), std::string::npos) << r.err;
  r = RunCli("dicom push --data-dir " + data +
             " --patient P-1 --host 127.0.0.1 --port 104 --called-ae THIS-AE-IS-TOO-LONG");
  EXPECT_EQ(r.exit_code, 2);
  EXPECT_NE(r.err.find("called AE title"), std::string::npos) << r.err;
}

}  // namespace
}  // namespace skintrack
