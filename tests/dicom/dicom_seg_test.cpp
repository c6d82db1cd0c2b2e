// Lesion and skin masks as a DICOM Segmentation of the photo: decoded back with DCMTK, the frames
// are the mask bits (also on a size whose frames do not end on a byte), the references are the
// photo's UIDs, the algorithm type follows the provenance, a re-export is the same object, and
// dciodvfy (dicom3tools) reports no error.
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <iostream>
#include <iterator>
#include <opencv2/imgproc.hpp>
#include <string>
#include <vector>

#include "dcmtk/config/osconfig.h"
#include "dcmtk/dcmdata/dcdeftag.h"
#include "dcmtk/dcmdata/dcfilefo.h"
#include "dcmtk/dcmseg/segdoc.h"
#include "dcmtk/dcmseg/segutils.h"
#include "dicom_check.h"
#include "dicom_photo.h"
#include "skintrack/core/error.h"

namespace skintrack::dicom {
namespace {

namespace fs = std::filesystem;
using testing::TempDcm;
using testing::TestPhoto;

cv::Mat LesionMask(cv::Size size) {
  cv::Mat m(size, CV_8U, cv::Scalar(0));
  cv::circle(m, {size.width / 3, size.height / 2}, std::max(2, size.height / 4), cv::Scalar(255),
             cv::FILLED);
  return m;
}

cv::Mat SkinMask(cv::Size size) {
  cv::Mat m(size, CV_8U, cv::Scalar(255));
  cv::rectangle(m, {0, 0}, {size.width / 5, size.height - 1}, cv::Scalar(0), cv::FILLED);
  return m;
}

MaskLayer Layer(const cv::Mat& mask, std::int64_t result_id, bool manual) {
  MaskLayer m;
  m.png = testing::Encoded(mask, ".png");
  m.result_id = result_id;
  m.manual = manual;
  m.algorithm = manual ? "clinician-mask" : "classical";
  m.algorithm_version = "1.0.0";
  m.description = manual ? "clinician" : "automated, model none";
  m.created_at_ms = 1764000500000;
  return m;
}

SegmentationMasks Masks(cv::Size size, bool manual_lesion) {
  SegmentationMasks masks;
  masks.lesion = Layer(LesionMask(size), 7, manual_lesion);
  masks.skin = Layer(SkinMask(size), 8, false);
  return masks;
}

std::string Attr(DcmItem& ds, const DcmTagKey& tag) {
  OFString v;
  ds.findAndGetOFStringArray(tag, v);
  return v.c_str();
}

DcmItem* Item(DcmItem& ds, const DcmTagKey& seq, int index = 0) {
  DcmItem* inner = nullptr;
  if (ds.findAndGetSequenceItem(seq, inner, index).bad()) return nullptr;
  return inner;
}

// Frame `frame` of a BINARY segmentation as PS3.5 8.1.1 packs it: the bits of all frames one
// after the other, least significant bit first, with no padding between frames.
std::vector<Uint8> UnpackPerStandard(DcmDataset& ds, size_t frame, size_t pixels) {
  const Uint8* data = nullptr;
  unsigned long bytes = 0;
  EXPECT_TRUE(ds.findAndGetUint8Array(DCM_PixelData, data, &bytes).good());
  std::vector<Uint8> bits(pixels);
  for (size_t i = 0; i < pixels; ++i) {
    const size_t bit = frame * pixels + i;
    if (bit / 8 >= bytes) return {};
    bits[i] = (data[bit / 8] >> (bit % 8)) & 1;
  }
  return bits;
}

std::vector<Uint8> Bits(const cv::Mat& mask) {
  std::vector<Uint8> bits;
  for (int y = 0; y < mask.rows; ++y) {
    for (int x = 0; x < mask.cols; ++x) bits.push_back(mask.at<Uint8>(y, x) != 0 ? 1 : 0);
  }
  return bits;
}

std::string FileBytes(const fs::path& p) {
  std::ifstream in(p, std::ios::binary);
  return {std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>()};
}

TEST(DicomSegTest, FramesAreTheMaskBitsAndReferencesThePhoto) {
  const Photo p = TestPhoto("image/jpeg");
  const cv::Size size(160, 120);
  const SegmentationMasks masks = Masks(size, false);
  TempDcm photo_file, seg_file;
  const WrittenInstance photo = WritePhoto(p, photo_file.path.string());
  const WrittenInstance seg = WriteSegmentation(p, masks, seg_file.path.string());
  EXPECT_EQ(seg.sop_class_uid, "1.2.840.10008.5.1.4.1.1.66.4");
  EXPECT_EQ(seg.study_instance_uid, photo.study_instance_uid);
  EXPECT_NE(seg.series_instance_uid, photo.series_instance_uid);  // a SEG series of its own
  EXPECT_NE(seg.sop_instance_uid, photo.sop_instance_uid);

  // Decoded with DCMTK's dcmseg: two segments, one frame each, the stored bits.
  DcmSegmentation* loaded = nullptr;
  ASSERT_TRUE(DcmSegmentation::loadFile(seg_file.path.c_str(), loaded).good());
  std::unique_ptr<DcmSegmentation> decoded(loaded);
  ASSERT_EQ(decoded->getNumberOfSegments(), 2U);
  ASSERT_EQ(decoded->getNumberOfFrames(), 2U);
  const cv::Mat expected[] = {LesionMask(size), SkinMask(size)};
  for (size_t f = 0; f < 2; ++f) {
    const DcmIODTypes::Frame* frame = decoded->getFrame(f);
    ASSERT_NE(frame, nullptr);
    OFVector<size_t> frames;
    decoded->getFramesForSegment(f + 1, frames);
    ASSERT_EQ(frames.size(), 1U);
    EXPECT_EQ(frames[0], f);
    DcmIODTypes::Frame* unpacked = DcmSegUtils::unpackBinaryFrame(frame, size.height, size.width);
    ASSERT_NE(unpacked, nullptr);
    const std::vector<Uint8> got(unpacked->pixData, unpacked->pixData + unpacked->length);
    delete unpacked;
    EXPECT_EQ(got, Bits(expected[f])) << "frame " << f;
  }

  DcmFileFormat file;
  ASSERT_TRUE(file.loadFile(seg_file.path.c_str()).good());
  DcmDataset& ds = *file.getDataset();
  EXPECT_EQ(Attr(ds, DCM_Modality), "SEG");
  EXPECT_EQ(Attr(ds, DCM_SegmentationType), "BINARY");
  EXPECT_EQ(Attr(ds, DCM_PatientID), p.subject_id);
  EXPECT_EQ(Attr(ds, DCM_PatientIdentityRemoved), "YES");
  EXPECT_EQ(Attr(ds, DCM_StudyInstanceUID), photo.study_instance_uid);
  EXPECT_EQ(Attr(ds, DCM_FrameOfReferenceUID), "");      // the photo has none either
  EXPECT_EQ(Attr(ds, DCM_LossyImageCompression), "01");  // derived from a JPEG
  DcmItem* series = Item(ds, DCM_ReferencedSeriesSequence);
  ASSERT_NE(series, nullptr);
  EXPECT_EQ(Attr(*series, DCM_SeriesInstanceUID), photo.series_instance_uid);
  DcmItem* instance = Item(*series, DCM_ReferencedInstanceSequence);
  ASSERT_NE(instance, nullptr);
  EXPECT_EQ(Attr(*instance, DCM_ReferencedSOPInstanceUID), photo.sop_instance_uid);
  EXPECT_EQ(Attr(*instance, DCM_ReferencedSOPClassUID), photo.sop_class_uid);
  DcmItem* shared = Item(ds, DCM_SharedFunctionalGroupsSequence);
  ASSERT_NE(shared, nullptr);
  DcmItem* derivation = Item(*shared, DCM_DerivationImageSequence);
  ASSERT_NE(derivation, nullptr);
  DcmItem* source = Item(*derivation, DCM_SourceImageSequence);
  ASSERT_NE(source, nullptr);
  EXPECT_EQ(Attr(*source, DCM_ReferencedSOPInstanceUID), photo.sop_instance_uid);

  DcmItem* lesion = Item(ds, DCM_SegmentSequence, 0);
  DcmItem* skin = Item(ds, DCM_SegmentSequence, 1);
  ASSERT_NE(lesion, nullptr);
  ASSERT_NE(skin, nullptr);
  EXPECT_EQ(Attr(*lesion, DCM_SegmentAlgorithmType), "AUTOMATIC");
  EXPECT_EQ(Attr(*lesion, DCM_SegmentAlgorithmName), "skintrack classical 1.0.0");
  EXPECT_EQ(Attr(*Item(*lesion, DCM_SegmentedPropertyTypeCodeSequence), DCM_CodeValue), "9014002");
  EXPECT_EQ(Attr(*Item(*lesion, DCM_SegmentedPropertyCategoryCodeSequence), DCM_CodeValue),
            "49755003");
  EXPECT_EQ(Attr(*Item(*skin, DCM_SegmentedPropertyTypeCodeSequence), DCM_CodeValue), "39937001");

  if (const auto report = testing::Dciodvfy(seg_file.path)) {
    EXPECT_EQ(report->errors, "") << "dciodvfy";
    if (!report->warnings.empty()) std::cout << "dciodvfy warnings:\n" << report->warnings;
  }
}

TEST(DicomSegTest, FramesThatDoNotEndOnAByteArePackedWithoutPadding) {
  // 13 x 11 = 143 pixels: frame 2 starts at bit 143, inside a byte (PS3.5 8.1.1).
  Photo p = TestPhoto("image/png");
  const cv::Size size(13, 11);
  cv::Mat small;
  cv::resize(testing::SkinPatch(), small, size);
  p.image_bytes = testing::Encoded(small, ".png");
  p.condition = "vitiligo";
  TempDcm seg_file;
  WriteSegmentation(p, Masks(size, true), seg_file.path.string());
  DcmFileFormat file;
  ASSERT_TRUE(file.loadFile(seg_file.path.c_str()).good());
  DcmDataset& ds = *file.getDataset();
  EXPECT_EQ(UnpackPerStandard(ds, 0, size.area()), Bits(LesionMask(size)));
  EXPECT_EQ(UnpackPerStandard(ds, 1, size.area()), Bits(SkinMask(size)));
  EXPECT_EQ(Attr(ds, DCM_LossyImageCompression), "00");
  DcmItem* lesion = Item(ds, DCM_SegmentSequence, 0);
  ASSERT_NE(lesion, nullptr);
  EXPECT_EQ(Attr(*lesion, DCM_SegmentAlgorithmType), "MANUAL");  // a clinician's mask
  EXPECT_EQ(Attr(*lesion, DCM_SegmentAlgorithmName), "");
  EXPECT_EQ(Attr(*Item(*lesion, DCM_SegmentedPropertyTypeCodeSequence), DCM_CodeValue), "56727007");
  if (const auto report = testing::Dciodvfy(seg_file.path)) {
    EXPECT_EQ(report->errors, "") << "dciodvfy";
  }
}

TEST(DicomSegTest, AReExportIsTheSameObjectAndANewMaskANewOne) {
  const Photo p = TestPhoto("image/jpeg");
  const cv::Size size(160, 120);
  TempDcm a, b, c, lesion_only;
  const WrittenInstance first = WriteSegmentation(p, Masks(size, false), a.path.string());
  const WrittenInstance again = WriteSegmentation(p, Masks(size, false), b.path.string());
  EXPECT_EQ(first.sop_instance_uid, again.sop_instance_uid);
  EXPECT_EQ(FileBytes(a.path), FileBytes(b.path));  // byte for byte: no clock in the object
  SegmentationMasks corrected = Masks(size, true);
  corrected.lesion.result_id = 9;  // a clinician's correction is a new result
  const WrittenInstance next = WriteSegmentation(p, corrected, c.path.string());
  EXPECT_NE(next.sop_instance_uid, first.sop_instance_uid);
  EXPECT_EQ(next.series_instance_uid, first.series_instance_uid);
  SegmentationMasks one = Masks(size, false);
  one.skin.reset();
  WriteSegmentation(p, one, lesion_only.path.string());
  DcmSegmentation* loaded = nullptr;
  ASSERT_TRUE(DcmSegmentation::loadFile(lesion_only.path.c_str(), loaded).good());
  std::unique_ptr<DcmSegmentation> decoded(loaded);
  EXPECT_EQ(decoded->getNumberOfSegments(), 1U);
  EXPECT_EQ(decoded->getNumberOfFrames(), 1U);
}

TEST(DicomSegTest, AMaskOfAnotherSizeIsRefusedAndNothingWritten) {
  const Photo p = TestPhoto("image/jpeg");
  TempDcm f;
  SegmentationMasks masks = Masks({80, 60}, false);
  try {
    WriteSegmentation(p, masks, f.path.string());
    FAIL() << "a 80x60 mask of a 160x120 photo was written";
  } catch (const Error& e) {
    EXPECT_EQ(e.code(), ErrorCode::kInvalidArgument);
    EXPECT_NE(std::string(e.what()).find("80x60"), std::string::npos) << e.what();
  }
  masks = Masks({160, 120}, false);
  masks.skin->png = "not a png";
  EXPECT_THROW(WriteSegmentation(p, masks, f.path.string()), Error);
  EXPECT_FALSE(fs::exists(f.path));
}

}  // namespace
}  // namespace skintrack::dicom
