// A capture's stored masks as a DICOM Segmentation (PS3.3 A.51) of its VL Photographic Image.
// DCMTK's dcmseg builds the IOD (segments, functional groups, bit-packed frames); dcmdata then
// adds what dcmiod's modules do not carry (de-identification, references, fixed dates) so that
// the patient and study attributes are exactly the photo's.
#include <cstdio>
#include <memory>
#include <opencv2/imgcodecs.hpp>
#include <string>
#include <vector>

#include "dcmtk/config/osconfig.h"  // must come first (DCMTK)
#include "dcmtk/dcmdata/dcdeftag.h"
#include "dcmtk/dcmdata/dcfilefo.h"
#include "dcmtk/dcmfg/fgderimg.h"
#include "dcmtk/dcmfg/fgfracon.h"
#include "dcmtk/dcmiod/iodmacro.h"
#include "dcmtk/dcmiod/iodrules.h"
#include "dcmtk/dcmseg/segdoc.h"
#include "dcmtk/dcmseg/segment.h"
#include "dicom_internal.h"
#include "skintrack/core/error.h"
#include "skintrack/dicom/dicom.h"

namespace skintrack::dicom {
namespace {

// Segmented property codes (SNOMED CT; CID 7150 categories, docs/dicom.md says why these).
struct PropertyCodes {
  const char* category_code;
  const char* category_meaning;
  const char* type_code;
  const char* type_meaning;
};

PropertyCodes LesionCodes(const std::string& condition) {
  if (condition == "vitiligo") {
    return {"49755003", "Morphologically Abnormal Structure", "56727007", "Vitiligo"};
  }
  return {"49755003", "Morphologically Abnormal Structure", "9014002", "Psoriasis"};
}

constexpr PropertyCodes kSkinCodes = {"91723000", "Anatomical Structure", "39937001", "Skin"};

// A mask's pixels as 0/1 bytes in row order, checked against the photo's size.
std::vector<Uint8> MaskBits(const MaskLayer& m, const cv::Size& photo, const std::string& what) {
  const cv::Mat raw(1, static_cast<int>(m.png.size()), CV_8U, const_cast<char*>(m.png.data()));
  const cv::Mat mask = m.png.empty() ? cv::Mat() : cv::imdecode(raw, cv::IMREAD_GRAYSCALE);
  if (mask.empty()) throw Error(ErrorCode::kImageDecode, "the " + what + " mask does not decode");
  if (mask.size() != photo) {
    throw Error(ErrorCode::kInvalidArgument,
                "the " + what + " mask is " + std::to_string(mask.cols) + "x" +
                    std::to_string(mask.rows) + ", the photo " + std::to_string(photo.width) + "x" +
                    std::to_string(photo.height));
  }
  std::vector<Uint8> bits(mask.total());
  for (int y = 0; y < mask.rows; ++y) {
    const Uint8* row = mask.ptr<Uint8>(y);
    for (int x = 0; x < mask.cols; ++x) {
      bits[static_cast<size_t>(y) * mask.cols + x] = row[x] != 0 ? 1 : 0;
    }
  }
  return bits;
}

// SegmentAlgorithmName is LO (64 characters): the segmenter and the pipeline version.
std::string AlgorithmName(const MaskLayer& m) {
  std::string name = "skintrack " + (m.algorithm.empty() ? "segmenter" : m.algorithm);
  if (!m.algorithm_version.empty()) name += " " + m.algorithm_version;
  return name.substr(0, 64);
}

std::unique_ptr<DcmSegment> MakeSegment(const std::string& label, const PropertyCodes& codes,
                                        const MaskLayer& m) {
  DcmSegment* raw = nullptr;
  const CodeSequenceMacro category(codes.category_code, "SCT", codes.category_meaning);
  const CodeSequenceMacro type(codes.type_code, "SCT", codes.type_meaning);
  Check(DcmSegment::create(raw, label.c_str(), category, type,
                           m.manual ? DcmSegTypes::SAT_MANUAL : DcmSegTypes::SAT_AUTOMATIC,
                           m.manual ? "" : AlgorithmName(m).c_str()),
        "creating the " + label + " segment");
  std::unique_ptr<DcmSegment> segment(raw);
  if (!m.description.empty()) {
    Check(segment->setSegmentDescription(m.description.substr(0, 64).c_str()),
          "segment description");
  }
  return segment;
}

// The frame's place in the one dimension (the segment it belongs to) and its pixels.
void AddFrame(DcmSegmentation& seg, Uint16 segment_number, std::vector<Uint8>& bits) {
  FGFrameContent content;
  Check(content.setDimensionIndexValues(segment_number, 0), "dimension index");
  OFVector<FGBase*> per_frame;
  per_frame.push_back(&content);
  Check(seg.addFrame(bits.data(), segment_number, per_frame), "adding a frame");
}

struct SegUids {
  std::string series, instance, dimension_organization;
};

SegUids Uids(const Photo& p, const SegmentationMasks& masks) {
  const std::string day = DicomDate(p.captured_at_ms);
  const std::string key = std::to_string(p.capture_id) + "/" +
                          std::to_string(masks.lesion.result_id) + "/" +
                          (masks.skin ? std::to_string(masks.skin->result_id) : "-");
  return {DerivedUid(p.uid_secret, "seg-series",
                     p.subject_id + "/" + day + "/" + p.site + "/" + p.condition),
          DerivedUid(p.uid_secret, "seg-instance", key),
          DerivedUid(p.uid_secret, "seg-dimension", key)};
}

// A serial number for the Enhanced General Equipment module (type 1): the installation's, derived
// from the data directory's secret so that it names no host.
std::string EquipmentSerial(const Photo& p) {
  return DerivedUid(p.uid_secret, "equipment", "serial").substr(5, 16);
}

std::unique_ptr<DcmSegmentation> BuildSegmentation(const Photo& p, const SegmentationMasks& masks,
                                                   const WrittenInstance& photo,
                                                   const SegUids& uids, const cv::Size& size) {
  if (size.width > 65535 || size.height > 65535) {
    throw Error(ErrorCode::kInvalidArgument, "image too large for DICOM rows / columns");
  }
  const IODGeneralEquipmentModule::EquipmentInfo equipment(
      "skintrack", "skintrack", EquipmentSerial(p).c_str(),
      ("skintrack " + p.software_version).c_str());
  const ContentIdentificationMacro content(std::to_string(p.capture_id % 2147483647).c_str(),
                                           "LESION_MASK", (p.condition + " lesion mask").c_str(),
                                           "");
  DcmSegmentation* raw = nullptr;
  Check(DcmSegmentation::createBinarySegmentation(raw, static_cast<Uint16>(size.height),
                                                  static_cast<Uint16>(size.width), equipment,
                                                  content),
        "creating the segmentation");
  std::unique_ptr<DcmSegmentation> seg(raw);
  // DCMTK 3.6.7 makes the Frame of Reference module mandatory; the IOD requires it only when there
  // is no Derivation Image functional group (PS3.3 A.51-1), and this one has one: the photo has
  // no frame of reference, so its segmentation has none either.
  for (const DcmTagKey& tag : {DCM_FrameOfReferenceUID, DCM_PositionReferenceIndicator}) {
    if (IODRule* rule = seg->getRules()->getByTag(tag)) rule->setType("1C");
  }
  Check(seg->getSeries().setSeriesInstanceUID(uids.series.c_str()), "series UID");
  Check(seg->getSOPCommon().setSOPInstanceUID(uids.instance.c_str()), "instance UID");
  Check(seg->getStudy().setStudyInstanceUID(photo.study_instance_uid.c_str()), "study UID");
  Check(seg->getSegmentationSeriesModule().setSeriesNumber(
            std::to_string(1000 + SeriesNumber(p)).c_str()),
        "series number");

  // Every frame is derived from the one photo (no frame of reference: the photo has none).
  ImageSOPInstanceReferenceMacro* source = nullptr;
  Check(ImageSOPInstanceReferenceMacro::create(photo.sop_class_uid.c_str(),
                                               photo.sop_instance_uid.c_str(), source),
        "source image reference");
  OFVector<ImageSOPInstanceReferenceMacro> sources;
  sources.push_back(*source);
  delete source;
  const std::unique_ptr<FGDerivationImage> derivation(DcmSegmentation::createDerivationImageFG(
      sources, "skintrack lesion and skin masks of the photo"));
  if (!derivation) throw Error(ErrorCode::kInternal, "derivation image functional group");
  Check(seg->addForAllFrames(*derivation), "derivation image");

  // One dimension: the segment a frame belongs to.
  Check(seg->getDimensions().addDimensionIndex(DCM_ReferencedSegmentNumber,
                                               uids.dimension_organization.c_str(),
                                               DCM_SegmentIdentificationSequence, "Segment"),
        "dimension index");
  return seg;
}

// Hands `segment` to the segmentation (which deletes its segments) once it is accepted.
Uint16 AddSegment(DcmSegmentation& seg, std::unique_ptr<DcmSegment> segment,
                  const std::string& what) {
  Uint16 number = 0;
  Check(seg.addSegment(segment.get(), number), what);
  (void)segment.release();
  return number;
}

// Adds the segments and their frames; returns the frames' bits, in frame order.
std::vector<std::vector<Uint8>> AddSegments(DcmSegmentation& seg, const Photo& p,
                                            const SegmentationMasks& masks, const cv::Size& size) {
  std::vector<std::vector<Uint8>> frames;
  frames.push_back(MaskBits(masks.lesion, size, "lesion"));
  if (masks.skin) frames.push_back(MaskBits(*masks.skin, size, "skin"));
  const Uint16 lesion = AddSegment(
      seg, MakeSegment("Lesion", LesionCodes(p.condition), masks.lesion), "lesion segment");
  AddFrame(seg, lesion, frames[0]);
  if (masks.skin) {
    const Uint16 skin =
        AddSegment(seg, MakeSegment("Skin", kSkinCodes, *masks.skin), "skin segment");
    AddFrame(seg, skin, frames[1]);
  }
  return frames;
}

// BINARY pixel data as PS3.5 8.1.1 packs it: the frames' bits one after the other, least
// significant bit first, with no padding between frames. DCMTK 3.6.7 starts every frame on a new
// byte, which a reader following the standard misreads whenever rows x columns is not a multiple
// of 8 (fixed in later DCMTK), so the packing is done here.
void PutPackedFrames(DcmDataset& ds, const std::vector<std::vector<Uint8>>& frames) {
  size_t bits = 0;
  for (const auto& f : frames) bits += f.size();
  std::vector<Uint8> packed((bits + 7) / 8 + ((bits + 7) / 8) % 2, 0);  // OB: even length
  size_t at = 0;
  for (const auto& f : frames) {
    for (const Uint8 bit : f) {
      if (bit != 0) packed[at / 8] = static_cast<Uint8>(packed[at / 8] | (1U << (at % 8)));
      ++at;
    }
  }
  Check(ds.putAndInsertUint8Array(DCM_PixelData, packed.data(),
                                  static_cast<unsigned long>(packed.size())),
        "pixel data");
}

// What dcmiod's modules leave out or set from the clock: the photo's patient and study, its
// series and instance as the referenced ones, the masks' time as the content time, lossy flags.
void CompleteDataset(DcmDataset& ds, const Photo& p, const SegmentationMasks& masks,
                     const WrittenInstance& photo) {
  PutPatientAndStudy(ds, p, photo.study_instance_uid);
  std::int64_t created = masks.lesion.created_at_ms;
  if (masks.skin && masks.skin->created_at_ms > created) created = masks.skin->created_at_ms;
  Put(ds, DCM_ContentDate, DicomDate(created));
  Put(ds, DCM_ContentTime, DicomTime(created));
  Put(ds, DCM_SeriesDescription, p.condition + " " + p.site + " masks");
  Put(ds, DCM_PatientOrientation, "");  // type 2C: a photo has no patient orientation either
  Put(ds, DCM_SeriesDate, DicomDate(created));
  Put(ds, DCM_SeriesTime, DicomTime(created));
  // Derived from a lossy JPEG: the flag, once 01, is never reset (PS3.3 C.7.6.1.1.5).
  const bool lossy = p.media_type == "image/jpeg";
  Put(ds, DCM_LossyImageCompression, lossy ? "01" : "00");
  if (lossy) Put(ds, DCM_LossyImageCompressionMethod, "ISO_10918_1");
  ds.findAndDeleteElement(DCM_ReferencedSeriesSequence);
  DcmItem* series = nullptr;
  Check(ds.findOrCreateSequenceItem(DCM_ReferencedSeriesSequence, series, 0), "referenced series");
  Put(*series, DCM_SeriesInstanceUID, photo.series_instance_uid);
  DcmItem* instance = nullptr;
  Check(series->findOrCreateSequenceItem(DCM_ReferencedInstanceSequence, instance, 0),
        "referenced instance");
  Put(*instance, DCM_ReferencedSOPClassUID, photo.sop_class_uid);
  Put(*instance, DCM_ReferencedSOPInstanceUID, photo.sop_instance_uid);
}

}  // namespace

WrittenInstance WriteSegmentation(const Photo& p, const SegmentationMasks& masks,
                                  const std::string& path) {
  if (p.subject_id.empty()) throw Error(ErrorCode::kInvalidArgument, "no subject id");
  if (p.uid_secret.empty()) throw Error(ErrorCode::kInvalidArgument, "no UID secret");
  if (p.image_bytes.empty()) throw Error(ErrorCode::kInvalidArgument, "no image bytes");
  QuietDcmtkLog();
  (void)SiteAnatomy(p.site);  // Error(kNotFound) for a site outside the catalogue, as the photo
  const WrittenInstance photo = PhotoUids(p);
  const cv::Size size = PhotoSize(p);
  const SegUids uids = Uids(p, masks);
  std::unique_ptr<DcmSegmentation> seg = BuildSegmentation(p, masks, photo, uids, size);
  const auto frames = AddSegments(*seg, p, masks, size);
  DcmFileFormat file;
  Check(seg->writeDataset(*file.getDataset()), "building the segmentation");
  CompleteDataset(*file.getDataset(), p, masks, photo);
  PutPackedFrames(*file.getDataset(), frames);
  WrittenInstance w;
  w.path = path;
  w.sop_class_uid = kSegmentationStorage;
  w.study_instance_uid = photo.study_instance_uid;
  w.series_instance_uid = uids.series;
  w.sop_instance_uid = uids.instance;
  w.transfer_syntax_uid = DcmXfer(EXS_LittleEndianExplicit).getXferID();
  const std::string tmp = path + ".tmp";
  Check(file.saveFile(tmp.c_str(), EXS_LittleEndianExplicit), "writing " + path);
  if (std::rename(tmp.c_str(), path.c_str()) != 0) {
    std::remove(tmp.c_str());
    throw Error(ErrorCode::kIo, "cannot write " + path);
  }
  return w;
}

}  // namespace skintrack::dicom
