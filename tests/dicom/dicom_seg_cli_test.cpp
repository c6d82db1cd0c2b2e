// `skintrack export --format dicom-seg` on a real data directory: the latest stored lesion mask
// (a clinician's over the segmenter's) and the skin mask as a Segmentation referencing the
// exported photo; a capture without a mask is refused by name and nothing is written.
#include <gtest/gtest.h>

#include <filesystem>
#include <opencv2/imgproc.hpp>

#include "../support/run_cli.h"
#include "dcmtk/config/osconfig.h"
#include "dcmtk/dcmdata/dcdeftag.h"
#include "dcmtk/dcmdata/dcfilefo.h"
#include "dcmtk/dcmseg/segdoc.h"
#include "dcmtk/dcmseg/segutils.h"
#include "dicom_photo.h"
#include "skintrack/pipeline/results.h"
#include "skintrack/storage/store.h"

namespace skintrack {
namespace {

namespace fs = std::filesystem;
using testing::RunCli;
using testing::TempDir;

cv::Mat Disc(int radius) {
  cv::Mat m(120, 160, CV_8U, cv::Scalar(0));
  cv::circle(m, {60, 60}, radius, cv::Scalar(255), cv::FILLED);
  return m;
}

void StoreMask(storage::Store& store, std::int64_t capture, const char* name,
               storage::ResultSource source, const cv::Mat& mask) {
  pipeline::ResultRecord r;
  r.kind = storage::ResultKind::kMask;
  r.name = name;
  r.source = source;
  r.algorithm = source == storage::ResultSource::kClinician ? "clinician-mask" : "segment";
  if (source == storage::ResultSource::kAutomated) r.payload = {{"segmenter", "classical"}};
  r.blob = pipeline::EncodePng(mask);
  pipeline::Append(store, capture, r, "test");
}

// Patient P-1 with two JPEG captures of the left forearm (ids 1 and 2); capture 1 has an
// automated lesion and skin mask and then a clinician's corrected lesion mask.
void DataDir(const std::string& dir) {
  auto store = storage::Store::OpenDataDir(dir);
  storage::PatientInfo info;
  info.id = "P-1";
  store->repository().CreatePatient(info, "test");
  for (int i = 0; i < 2; ++i) {
    storage::NewCapture c;
    c.patient_id = "P-1";
    c.site = "left-forearm";
    c.captured_at = 1764000000123 + i * 86400000LL;
    c.media_type = "image/jpeg";
    c.width = 160;
    c.height = 120;
    cv::Mat photo = testing::SkinPatch();
    if (i == 1) cv::flip(photo, photo, 1);  // other bytes: the same bytes are the same capture
    store->IngestCapture(c, testing::Encoded(photo, ".jpg"), "test");
  }
  StoreMask(*store, 1, pipeline::result::kLesionMask, storage::ResultSource::kAutomated, Disc(20));
  StoreMask(*store, 1, pipeline::result::kSkinMask, storage::ResultSource::kAutomated, Disc(50));
  StoreMask(*store, 1, pipeline::result::kLesionMask, storage::ResultSource::kClinician, Disc(25));
}

std::string Attr(DcmItem& item, const DcmTagKey& tag) {
  OFString v;
  item.findAndGetOFStringArray(tag, v);
  return v.c_str();
}

TEST(DicomSegCli, ExportsTheLatestLesionMaskAndTheSkinMaskReferencingThePhoto) {
  TempDir dir("dicom-seg-cli");
  const std::string data = dir.str() + "/data";
  DataDir(data);
  const std::string photo = dir.str() + "/c1.dcm", seg = dir.str() + "/c1-seg.dcm";
  auto r = RunCli("export --data-dir " + data + " --format dicom --capture 1 --out " + photo);
  ASSERT_EQ(r.exit_code, 0) << r.err;
  r = RunCli("export --data-dir " + data + " --format dicom-seg --capture 1 --out " + seg);
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_NE(r.out.find("MANUAL lesion"), std::string::npos) << r.out;

  DcmFileFormat photo_file, seg_file;
  ASSERT_TRUE(photo_file.loadFile(photo.c_str()).good());
  ASSERT_TRUE(seg_file.loadFile(seg.c_str()).good());
  DcmDataset& p = *photo_file.getDataset();
  DcmDataset& s = *seg_file.getDataset();
  EXPECT_EQ(Attr(s, DCM_PatientID), Attr(p, DCM_PatientID));
  EXPECT_EQ(Attr(s, DCM_StudyInstanceUID), Attr(p, DCM_StudyInstanceUID));
  DcmItem* series = nullptr;
  DcmItem* instance = nullptr;
  ASSERT_TRUE(s.findAndGetSequenceItem(DCM_ReferencedSeriesSequence, series, 0).good());
  EXPECT_EQ(Attr(*series, DCM_SeriesInstanceUID), Attr(p, DCM_SeriesInstanceUID));
  ASSERT_TRUE(series->findAndGetSequenceItem(DCM_ReferencedInstanceSequence, instance, 0).good());
  EXPECT_EQ(Attr(*instance, DCM_ReferencedSOPInstanceUID), Attr(p, DCM_SOPInstanceUID));
  DcmItem* lesion = nullptr;
  DcmItem* skin = nullptr;
  ASSERT_TRUE(s.findAndGetSequenceItem(DCM_SegmentSequence, lesion, 0).good());
  ASSERT_TRUE(s.findAndGetSequenceItem(DCM_SegmentSequence, skin, 1).good());
  EXPECT_EQ(Attr(*lesion, DCM_SegmentAlgorithmType), "MANUAL");  // the clinician's, the latest
  EXPECT_EQ(Attr(*skin, DCM_SegmentAlgorithmType), "AUTOMATIC");
  EXPECT_EQ(Attr(*skin, DCM_SegmentAlgorithmName), "skintrack classical 1.0.0");

  // Frame 1 is the clinician's disc of radius 25, not the segmenter's of radius 20.
  DcmSegmentation* loaded = nullptr;
  ASSERT_TRUE(DcmSegmentation::loadFile(seg.c_str(), loaded).good());
  std::unique_ptr<DcmSegmentation> decoded(loaded);
  DcmIODTypes::Frame* bits = DcmSegUtils::unpackBinaryFrame(decoded->getFrame(0), 120, 160);
  ASSERT_NE(bits, nullptr);
  const cv::Mat frame(120, 160, CV_8U, bits->pixData);
  EXPECT_EQ(cv::countNonZero(frame), cv::countNonZero(Disc(25)));
  delete bits;

  // A re-export is the same object.
  const std::string again = dir.str() + "/again.dcm";
  r = RunCli("export --data-dir " + data + " --format dicom-seg --capture 1 --out " + again);
  ASSERT_EQ(r.exit_code, 0) << r.err;
  DcmFileFormat again_file;
  ASSERT_TRUE(again_file.loadFile(again.c_str()).good());
  EXPECT_EQ(Attr(*again_file.getDataset(), DCM_SOPInstanceUID), Attr(s, DCM_SOPInstanceUID));
}

TEST(DicomSegCli, ACaptureWithoutAMaskIsRefusedByNameAndNothingWritten) {
  TempDir dir("dicom-seg-cli-bad");
  const std::string data = dir.str() + "/data";
  DataDir(data);
  const std::string out = dir.str() + "/c2-seg.dcm";
  auto r = RunCli("export --data-dir " + data + " --format dicom-seg --capture 2 --out " + out);
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_NE(r.err.find("capture 2 has no stored lesion mask"), std::string::npos) << r.err;
  EXPECT_FALSE(fs::exists(out));
  r = RunCli("export --data-dir " + data + " --format dicom-seg --capture 9 --out " + out);
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_NE(r.err.find("unknown capture 9"), std::string::npos) << r.err;
  r = RunCli("export --data-dir " + data + " --format dicom-seg --capture 1");
  EXPECT_EQ(r.exit_code, 2);
  EXPECT_FALSE(fs::exists(out));
}

}  // namespace
}  // namespace skintrack
