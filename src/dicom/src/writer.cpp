// A capture as a VL Photographic Image (PS3.3 A.33.4). DCMTK writes the file.
#include <cstdio>
#include <ctime>
#include <opencv2/imgcodecs.hpp>
#include <opencv2/imgproc.hpp>
#include <optional>
#include <string>
#include <utility>

#include "dcmtk/config/osconfig.h"  // must come first (DCMTK)
#include "dcmtk/dcmdata/dcdeftag.h"
#include "dcmtk/dcmdata/dcfilefo.h"
#include "dcmtk/dcmdata/dcitem.h"
#include "dcmtk/dcmdata/dcpixel.h"
#include "dcmtk/dcmdata/dcpixseq.h"
#include "dcmtk/dcmdata/dcpxitem.h"
#include "dcmtk/dcmdata/dcsequen.h"
#include "dcmtk/dcmdata/dcuid.h"
#include "dicom_internal.h"
#include "skintrack/core/body_sites.h"
#include "skintrack/core/error.h"
#include "skintrack/core/oriented_image.h"
#include "skintrack/dicom/dicom.h"

namespace skintrack::dicom {
namespace {

constexpr char kVlPhotographicImageStorage[] = "1.2.840.10008.5.1.4.1.1.77.1.4";

unsigned Byte(const std::string& s, size_t at) { return static_cast<unsigned char>(s[at]); }

// The frame header of a JPEG, when it can go into DICOM as it is: an 8-bit, 3-component
// baseline (SOF0) or extended (SOF1) Huffman frame without an Adobe colour transform segment.
struct JpegFrame {
  int width = 0, height = 0;
  bool extended = false;
  bool subsampled = false;  // chroma at lower resolution than luma
};

std::optional<JpegFrame> EncapsulatableJpeg(const std::string& b) {
  size_t i = 2;
  while (i + 4 <= b.size() && Byte(b, i) == 0xFF) {
    const unsigned marker = Byte(b, i + 1);
    const size_t len = (Byte(b, i + 2) << 8) | Byte(b, i + 3);
    if (marker == 0xEE) return std::nullopt;  // Adobe: RGB or YCCK transform signalled here
    if (marker == 0xC0 || marker == 0xC1) {
      if (i + 10 > b.size() || Byte(b, i + 4) != 8 || Byte(b, i + 9) != 3) return std::nullopt;
      if (i + 10 + 9 > b.size()) return std::nullopt;
      JpegFrame f;
      f.height = static_cast<int>((Byte(b, i + 5) << 8) | Byte(b, i + 6));
      f.width = static_cast<int>((Byte(b, i + 7) << 8) | Byte(b, i + 8));
      f.extended = marker == 0xC1;
      const unsigned luma = Byte(b, i + 11), chroma1 = Byte(b, i + 14), chroma2 = Byte(b, i + 17);
      f.subsampled = luma != chroma1 || luma != chroma2;
      return f;
    }
    if ((marker >= 0xC2 && marker <= 0xCF && marker != 0xC4 && marker != 0xC8 && marker != 0xCC) ||
        marker == 0xDA) {
      return std::nullopt;  // progressive, lossless, arithmetic, or a scan before any frame
    }
    i += 2 + len;
  }
  return std::nullopt;
}

std::string DicomDate(std::int64_t ms) {
  const std::time_t t = static_cast<std::time_t>(ms / 1000);
  std::tm tm{};
  gmtime_r(&t, &tm);
  char buf[16];
  std::strftime(buf, sizeof(buf), "%Y%m%d", &tm);
  return buf;
}

std::string DicomTime(std::int64_t ms) {
  const std::time_t t = static_cast<std::time_t>(ms / 1000);
  std::tm tm{};
  gmtime_r(&t, &tm);
  char buf[16];
  std::strftime(buf, sizeof(buf), "%H%M%S", &tm);
  char frac[8];
  std::snprintf(frac, sizeof(frac), ".%03d", static_cast<int>(ms % 1000));
  return std::string(buf) + frac;
}

void Put(DcmItem& item, const DcmTagKey& tag, const std::string& value) {
  Check(item.putAndInsertString(tag, value.c_str()), "setting an attribute");
}

void PutCode(DcmItem& item, const std::string& code, const std::string& meaning) {
  Put(item, DCM_CodeValue, code);
  Put(item, DCM_CodingSchemeDesignator, "SCT");
  Put(item, DCM_CodeMeaning, meaning);
}

// What was done to the patient's identity: PS3.15's basic profile, with the full dates kept
// (the time series is the point of skintrack).
void PutDeidentification(DcmDataset& ds) {
  Put(ds, DCM_DeidentificationMethod, "skintrack pseudonym (keyed hash); no name or birth date");
  const std::pair<const char*, const char*> methods[] = {
      {"113100", "Basic Application Confidentiality Profile"},
      {"113106", "Retain Longitudinal Temporal Information Full Dates Option"}};
  for (int i = 0; i < 2; ++i) {
    DcmItem* item = nullptr;
    Check(ds.findOrCreateSequenceItem(DCM_DeidentificationMethodCodeSequence, item, i),
          "de-identification method");
    Put(*item, DCM_CodeValue, methods[i].first);
    Put(*item, DCM_CodingSchemeDesignator, "DCM");
    Put(*item, DCM_CodeMeaning, methods[i].second);
  }
}

void PutAnatomy(DcmDataset& ds, const Anatomy& a) {
  DcmItem* region = nullptr;
  Check(ds.findOrCreateSequenceItem(DCM_AnatomicRegionSequence, region, 0), "anatomic region");
  PutCode(*region, a.code, a.meaning);
  if (!a.modifier_code.empty()) {
    DcmItem* modifier = nullptr;
    Check(region->findOrCreateSequenceItem(DCM_AnatomicRegionModifierSequence, modifier, 0),
          "anatomic region modifier");
    PutCode(*modifier, a.modifier_code, a.modifier_meaning);
  }
  Put(ds, DCM_ImageLaterality, a.laterality.empty() ? "U" : a.laterality);
}

// Stable within a study: the site's place in the catalogue, vitiligo series after psoriasis's.
int SeriesNumber(const Photo& p) {
  const auto& sites = BodySiteCatalogue();
  int index = 0;
  for (size_t i = 0; i < sites.size(); ++i) {
    if (sites[i].name == p.site) index = static_cast<int>(i) + 1;
  }
  return (p.condition == "vitiligo" ? 100 : 0) + index;
}

void PutIdentity(DcmDataset& ds, const Photo& p, const WrittenInstance& w) {
  Put(ds, DCM_SpecificCharacterSet, "ISO_IR 192");
  Put(ds, DCM_SOPClassUID, kVlPhotographicImageStorage);
  Put(ds, DCM_SOPInstanceUID, w.sop_instance_uid);
  // The family-name component: a bare code reads as the retired "Last, First" form to checkers.
  Put(ds, DCM_PatientName, p.subject_id + "^");
  Put(ds, DCM_PatientID, p.subject_id);
  Put(ds, DCM_PatientBirthDate, "");
  Put(ds, DCM_PatientSex, "");
  Put(ds, DCM_PatientIdentityRemoved, "YES");  // a pseudonymous subject id, no name
  PutDeidentification(ds);
  Put(ds, DCM_StudyInstanceUID, w.study_instance_uid);
  Put(ds, DCM_StudyDate, DicomDate(p.captured_at_ms));
  Put(ds, DCM_StudyTime, DicomTime(p.captured_at_ms));
  Put(ds, DCM_StudyDescription, "skintrack " + p.condition + " monitoring");
  Put(ds, DCM_ReferringPhysicianName, "");
  Put(ds, DCM_StudyID, DicomDate(p.captured_at_ms));  // one study per subject and day
  Put(ds, DCM_AccessionNumber, "");
  Put(ds, DCM_Modality, "XC");  // external-camera photography
  Put(ds, DCM_SeriesInstanceUID, w.series_instance_uid);
  Put(ds, DCM_SeriesNumber, std::to_string(SeriesNumber(p)));
  Put(ds, DCM_SeriesDescription, p.condition + " " + p.site);
  Put(ds, DCM_Manufacturer, "");
  Put(ds, DCM_SoftwareVersions, "skintrack " + p.software_version);
  if (!p.device.empty()) Put(ds, DCM_DeviceSerialNumber, p.device);
  Put(ds, DCM_InstanceNumber, std::to_string(p.capture_id % 2147483647));
  Put(ds, DCM_PatientOrientation, "");
  Put(ds, DCM_ContentDate, DicomDate(p.captured_at_ms));
  Put(ds, DCM_ContentTime, DicomTime(p.captured_at_ms));
  Put(ds, DCM_AcquisitionDateTime, DicomDate(p.captured_at_ms) + DicomTime(p.captured_at_ms));
  Put(ds, DCM_ImageType, "ORIGINAL\\PRIMARY");
  Put(ds, DCM_BurnedInAnnotation, "NO");
  Check(ds.insertEmptyElement(DCM_AcquisitionContextSequence), "acquisition context");
}

void PutPixelModule(DcmDataset& ds, int width, int height, const std::string& photometric) {
  Check(ds.putAndInsertUint16(DCM_SamplesPerPixel, 3), "samples per pixel");
  Put(ds, DCM_PhotometricInterpretation, photometric);
  Check(ds.putAndInsertUint16(DCM_PlanarConfiguration, 0), "planar configuration");
  Check(ds.putAndInsertUint16(DCM_Rows, static_cast<Uint16>(height)), "rows");
  Check(ds.putAndInsertUint16(DCM_Columns, static_cast<Uint16>(width)), "columns");
  Check(ds.putAndInsertUint16(DCM_BitsAllocated, 8), "bits allocated");
  Check(ds.putAndInsertUint16(DCM_BitsStored, 8), "bits stored");
  Check(ds.putAndInsertUint16(DCM_HighBit, 7), "high bit");
  Check(ds.putAndInsertUint16(DCM_PixelRepresentation, 0), "pixel representation");
}

// The JPEG bytes as one fragment of one frame, after an empty basic offset table.
void PutEncapsulatedJpeg(DcmDataset& ds, const std::string& jpeg, E_TransferSyntax xfer) {
  auto* pixels = new DcmPixelData(DCM_PixelData);
  auto* sequence = new DcmPixelSequence(DCM_PixelSequenceTag);
  sequence->insert(new DcmPixelItem(DCM_PixelItemTag));
  DcmOffsetList offsets;
  std::string copy = jpeg;  // storeCompressedFrame copies from a non-const pointer
  Check(sequence->storeCompressedFrame(offsets, reinterpret_cast<Uint8*>(copy.data()),
                                       static_cast<Uint32>(copy.size()), 0),
        "storing the JPEG frame");
  pixels->putOriginalRepresentation(xfer, nullptr, sequence);
  Check(ds.insert(pixels, true), "pixel data");
}

void PutNativePixels(DcmDataset& ds, const cv::Mat& bgr) {
  cv::Mat rgb;
  cv::cvtColor(bgr, rgb, cv::COLOR_BGR2RGB);
  if (!rgb.isContinuous()) rgb = rgb.clone();
  Check(ds.putAndInsertUint8Array(DCM_PixelData, rgb.ptr<Uint8>(0),
                                  static_cast<unsigned long>(rgb.total() * 3)),
        "pixel data");
}

void CheckPhoto(const Photo& p) {
  if (p.subject_id.empty()) throw Error(ErrorCode::kInvalidArgument, "no subject id");
  if (p.image_bytes.empty()) throw Error(ErrorCode::kInvalidArgument, "no image bytes");
  if (p.media_type != "image/jpeg" && p.media_type != "image/png") {
    throw Error(ErrorCode::kInvalidArgument, "media type must be image/jpeg or image/png");
  }
  if (p.uid_secret.empty()) throw Error(ErrorCode::kInvalidArgument, "no UID secret");
}

}  // namespace

WrittenInstance WritePhoto(const Photo& p, const std::string& path) {
  CheckPhoto(p);
  QuietDcmtkLog();
  const Anatomy anatomy = SiteAnatomy(p.site);
  const std::string day = DicomDate(p.captured_at_ms);
  WrittenInstance w;
  w.path = path;
  w.study_instance_uid = DerivedUid(p.uid_secret, "study", p.subject_id + "/" + day);
  w.series_instance_uid = DerivedUid(p.uid_secret, "series",
                                     p.subject_id + "/" + day + "/" + p.site + "/" + p.condition);
  w.sop_instance_uid = DerivedUid(p.uid_secret, "instance", std::to_string(p.capture_id));
  DcmFileFormat file;
  DcmDataset& ds = *file.getDataset();
  PutIdentity(ds, p, w);
  PutAnatomy(ds, anatomy);
  const bool jpeg = p.media_type == "image/jpeg";
  Put(ds, DCM_LossyImageCompression, jpeg ? "01" : "00");
  if (jpeg) Put(ds, DCM_LossyImageCompressionMethod, "ISO_10918_1");
  E_TransferSyntax xfer = EXS_LittleEndianExplicit;
  // DICOM has no orientation tag a viewer applies to a photo: a rotated one is written as pixels.
  const auto frame = jpeg && p.orientation == 1 ? EncapsulatableJpeg(p.image_bytes) : std::nullopt;
  if (frame) {
    xfer = frame->extended ? EXS_JPEGProcess2_4 : EXS_JPEGProcess1;
    PutPixelModule(ds, frame->width, frame->height,
                   frame->subsampled ? "YBR_FULL_422" : "YBR_FULL");
    PutEncapsulatedJpeg(ds, p.image_bytes, xfer);
    w.encapsulated = true;
  } else {
    const cv::Mat bgr = DecodeOriented(p.image_bytes, p.orientation, cv::IMREAD_COLOR);
    if (bgr.cols > 65535 || bgr.rows > 65535) {
      throw Error(ErrorCode::kInvalidArgument, "image too large for DICOM rows / columns");
    }
    PutPixelModule(ds, bgr.cols, bgr.rows, "RGB");
    PutNativePixels(ds, bgr);
  }
  w.transfer_syntax_uid = DcmXfer(xfer).getXferID();
  const std::string tmp = path + ".tmp";
  Check(file.saveFile(tmp.c_str(), xfer), "writing " + path);
  if (std::rename(tmp.c_str(), path.c_str()) != 0) {
    std::remove(tmp.c_str());
    throw Error(ErrorCode::kIo, "cannot write " + path);
  }
  return w;
}

}  // namespace skintrack::dicom
