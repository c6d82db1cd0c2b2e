// Captures as DICOM VL Photographic Images: attributes, the JPEG encapsulated byte for byte, PNG
// pixels exact, deterministic UIDs, every body site coded, and dciodvfy (dicom3tools) finding no
// error or warning in the files.
#include <gtest/gtest.h>

#include <array>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <memory>
#include <sstream>

#include "dcmtk/config/osconfig.h"
#include "dcmtk/dcmdata/dcdeftag.h"
#include "dcmtk/dcmdata/dcfilefo.h"
#include "dcmtk/dcmdata/dcpixel.h"
#include "dcmtk/dcmdata/dcpixseq.h"
#include "dcmtk/dcmdata/dcpxitem.h"
#include "dicom_check.h"
#include "dicom_photo.h"
#include "skintrack/core/body_sites.h"
#include "skintrack/core/error.h"

namespace skintrack::dicom {
namespace {

namespace fs = std::filesystem;
using testing::TestPhoto;

using TempFile = testing::TempDcm;

std::string Attr(DcmDataset& ds, const DcmTagKey& tag) {
  OFString v;
  ds.findAndGetOFStringArray(tag, v);
  return v.c_str();
}

std::string Attr(DcmItem& item, const DcmTagKey& seq, const DcmTagKey& tag) {
  DcmItem* inner = nullptr;
  if (item.findAndGetSequenceItem(seq, inner, 0).bad() || inner == nullptr) return "";
  OFString v;
  inner->findAndGetOFString(tag, v);
  return v.c_str();
}

// The dciodvfy lines that report errors or warnings; nullopt when it is not installed.
std::optional<std::string> DciodvfyErrors(const fs::path& file) {
  const auto report = testing::Dciodvfy(file);
  if (!report) return std::nullopt;
  return report->errors + report->warnings;
}

TEST(DicomTest, BaselineJpegIsEncapsulatedAsStored) {
  const Photo p = TestPhoto("image/jpeg");
  TempFile f;
  const WrittenInstance w = WritePhoto(p, f.path.string());
  EXPECT_TRUE(w.encapsulated);
  EXPECT_EQ(w.transfer_syntax_uid, "1.2.840.10008.1.2.4.50");
  DcmFileFormat file;
  ASSERT_TRUE(file.loadFile(f.path.c_str()).good());
  DcmDataset& ds = *file.getDataset();
  EXPECT_EQ(Attr(ds, DCM_SOPClassUID), "1.2.840.10008.5.1.4.1.1.77.1.4");
  EXPECT_EQ(Attr(ds, DCM_SOPInstanceUID), w.sop_instance_uid);
  EXPECT_EQ(Attr(ds, DCM_PatientID), "S-8f3a2c19d0e4");
  EXPECT_EQ(Attr(ds, DCM_Modality), "XC");
  EXPECT_EQ(Attr(ds, DCM_AcquisitionDateTime), "20251124160000.123");
  EXPECT_EQ(Attr(ds, DCM_PhotometricInterpretation), "YBR_FULL_422");
  EXPECT_EQ(Attr(ds, DCM_Rows), "120");
  EXPECT_EQ(Attr(ds, DCM_Columns), "160");
  EXPECT_EQ(Attr(ds, DCM_ImageLaterality), "L");
  EXPECT_EQ(Attr(ds, DCM_DeviceSerialNumber), "dev0123456789abc");
  EXPECT_EQ(Attr(ds, DCM_AnatomicRegionSequence, DCM_CodeValue), "14975008");
  DcmItem* region = nullptr;
  ASSERT_TRUE(ds.findAndGetSequenceItem(DCM_AnatomicRegionSequence, region, 0).good());
  EXPECT_EQ(Attr(*region, DCM_AnatomicRegionModifierSequence, DCM_CodeValue), "7771000");
  // The one fragment holds the stored JPEG, byte for byte (an odd length is padded by one).
  DcmElement* element = nullptr;
  ASSERT_TRUE(ds.findAndGetElement(DCM_PixelData, element).good());
  DcmPixelSequence* seq = nullptr;
  E_TransferSyntax xfer = EXS_Unknown;
  const DcmRepresentationParameter* param = nullptr;
  ASSERT_TRUE(static_cast<DcmPixelData*>(element)
                  ->getEncapsulatedRepresentation(EXS_JPEGProcess1, param, seq)
                  .good());
  (void)xfer;
  DcmPixelItem* fragment = nullptr;
  ASSERT_TRUE(seq->getItem(fragment, 1).good());
  Uint8* data = nullptr;
  ASSERT_TRUE(fragment->getUint8Array(data).good());
  const std::string stored(reinterpret_cast<char*>(data), p.image_bytes.size());
  EXPECT_EQ(stored, p.image_bytes);
  if (auto errors = DciodvfyErrors(f.path)) {
    EXPECT_EQ(*errors, "") << "dciodvfy";
  }
}

TEST(DicomTest, PngIsWrittenAsItsExactPixels) {
  const Photo p = TestPhoto("image/png");
  TempFile f;
  const WrittenInstance w = WritePhoto(p, f.path.string());
  EXPECT_FALSE(w.encapsulated);
  DcmFileFormat file;
  ASSERT_TRUE(file.loadFile(f.path.c_str()).good());
  DcmDataset& ds = *file.getDataset();
  EXPECT_EQ(Attr(ds, DCM_PhotometricInterpretation), "RGB");
  EXPECT_EQ(Attr(ds, DCM_LossyImageCompression), "00");
  const Uint8* pixels = nullptr;
  unsigned long count = 0;
  ASSERT_TRUE(ds.findAndGetUint8Array(DCM_PixelData, pixels, &count).good());
  cv::Mat rgb;
  cv::cvtColor(testing::SkinPatch(), rgb, cv::COLOR_BGR2RGB);
  ASSERT_EQ(count, rgb.total() * 3);
  EXPECT_EQ(std::memcmp(pixels, rgb.data, count), 0);
  if (auto errors = DciodvfyErrors(f.path)) {
    EXPECT_EQ(*errors, "") << "dciodvfy";
  }
}

TEST(DicomTest, UidsAreDeterministicWellFormedAndRevealNothing) {
  const std::string a = DerivedUid("k", "instance", "42");
  EXPECT_EQ(a, DerivedUid("k", "instance", "42"));
  EXPECT_NE(a, DerivedUid("k", "instance", "43"));
  EXPECT_NE(a, DerivedUid("other key", "instance", "42"));
  EXPECT_NE(DerivedUid("k", "ab", "c"), DerivedUid("k", "a", "bc"));
  EXPECT_EQ(a.rfind("2.25.", 0), 0U);
  EXPECT_LE(a.size(), 64U);
  EXPECT_EQ(a.find_first_not_of("0123456789."), std::string::npos);
  EXPECT_NE(a[5], '0');  // no leading zero in a UID component
  // Re-writing a capture gives the same instance, a PACS sees a re-send as a duplicate.
  TempFile f1, f2;
  EXPECT_EQ(WritePhoto(TestPhoto("image/jpeg"), f1.path.string()).sop_instance_uid,
            WritePhoto(TestPhoto("image/jpeg"), f2.path.string()).sop_instance_uid);
}

TEST(DicomTest, EveryBodySiteHasASnomedCode) {
  for (const BodySite& s : BodySiteCatalogue()) {
    const Anatomy a = SiteAnatomy(s.name);
    EXPECT_FALSE(a.code.empty()) << s.name;
    EXPECT_EQ(a.laterality.empty(), s.name.rfind("left-", 0) != 0 && s.name.rfind("right-", 0) != 0)
        << s.name;
  }
  EXPECT_THROW(SiteAnatomy("tail"), Error);
}

TEST(DicomTest, BadPhotosAreRefused) {
  TempFile f;
  Photo p = TestPhoto("image/jpeg");
  p.subject_id.clear();
  EXPECT_THROW(WritePhoto(p, f.path.string()), Error);
  p = TestPhoto("image/gif");
  EXPECT_THROW(WritePhoto(p, f.path.string()), Error);
  p = TestPhoto("image/png");
  p.image_bytes = "not a png";
  EXPECT_THROW(WritePhoto(p, f.path.string()), Error);
  EXPECT_FALSE(fs::exists(f.path));
  PacsTarget t;
  t.called_ae = "A-TITLE-LONGER-THAN-16";
  EXPECT_THROW(t.Check(), Error);
}

}  // namespace
}  // namespace skintrack::dicom
