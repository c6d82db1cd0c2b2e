// C-STORE into a real Orthanc (Debian's `orthanc`, started here on loopback ports with a temporary
// storage folder), then read back through Orthanc's REST API: the instances, their key attributes
// and their frames byte for byte, and a photo's Segmentation beside it. Skips when Orthanc is not
// installed (scripts/setup.sh installs it).
#include <gtest/gtest.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <boost/asio/ip/tcp.hpp>
#include <chrono>
#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>
#include <thread>

#include "dcmtk/config/osconfig.h"
#include "dcmtk/dcmdata/dcfilefo.h"
#include "dcmtk/dcmseg/segdoc.h"
#include "dcmtk/dcmseg/segutils.h"
#include "dicom_photo.h"
#include "skintrack/core/error.h"
#include "skintrack/service/http_client.h"

namespace skintrack::dicom {
namespace {

namespace fs = std::filesystem;
using nlohmann::json;

const char* const kOrthanc = "/usr/sbin/Orthanc";

int FreePort() {
  boost::asio::io_context io;
  boost::asio::ip::tcp::acceptor a(io, {boost::asio::ip::address_v4::loopback(), 0});
  return a.local_endpoint().port();
}

class OrthancTest : public ::testing::Test {
 protected:
  void SetUp() override {
    if (!fs::exists(kOrthanc)) GTEST_SKIP() << kOrthanc << " is not installed";
    dir_ = fs::temp_directory_path() / ("skintrack-orthanc-" + std::to_string(::getpid()));
    fs::create_directories(dir_ / "db");
    http_port_ = FreePort();
    dicom_port_ = FreePort();
    const json config = {{"Name", "skintrack-test"},
                         {"StorageDirectory", (dir_ / "db").string()},
                         {"IndexDirectory", (dir_ / "db").string()},
                         {"HttpPort", http_port_},
                         {"DicomPort", dicom_port_},
                         {"DicomAet", "ORTHANC"},
                         {"DicomCheckCalledAet", true},
                         {"RemoteAccessAllowed", false},
                         {"AuthenticationEnabled", false},
                         {"DicomAlwaysAllowStore", true},
                         {"Plugins", json::array()}};
    std::ofstream(dir_ / "orthanc.json") << config.dump(2);
    pid_ = fork();
    if (pid_ == 0) {
      const std::string log = (dir_ / "orthanc.log").string();
      freopen(log.c_str(), "w", stdout);
      freopen(log.c_str(), "a", stderr);
      const std::string cfg = (dir_ / "orthanc.json").string();
      execl(kOrthanc, kOrthanc, cfg.c_str(), static_cast<char*>(nullptr));
      _exit(127);
    }
    for (int i = 0; i < 300; ++i) {
      if (Get("/system").status == 200) return;
      std::this_thread::sleep_for(std::chrono::milliseconds(100));
    }
    FAIL() << "Orthanc did not start; see " << (dir_ / "orthanc.log");
  }

  void TearDown() override {
    if (pid_ > 0) {
      kill(pid_, SIGTERM);
      int status = 0;
      waitpid(pid_, &status, 0);
    }
    if (!dir_.empty()) fs::remove_all(dir_);
  }

  service::HttpReply Get(const std::string& target) const {
    return service::LoopbackRequest(http_port_, "GET", target, "", "", "", 10);
  }

  PacsTarget Target() const {
    PacsTarget t;
    t.port = dicom_port_;
    t.called_ae = "ORTHANC";
    t.timeout_s = 10;
    return t;
  }

  fs::path dir_;
  int http_port_ = 0, dicom_port_ = 0;
  pid_t pid_ = -1;
};

TEST_F(OrthancTest, StoredCapturesReadBackWithTheirAttributesAndFrames) {
  const Photo jpeg = testing::TestPhoto("image/jpeg");
  Photo png = testing::TestPhoto("image/png");
  png.capture_id = 43;
  png.site = "face";
  const WrittenInstance wj = WritePhoto(jpeg, (dir_ / "a.dcm").string());
  const WrittenInstance wp = WritePhoto(png, (dir_ / "b.dcm").string());
  StoreToPacs({wj, wp}, Target());

  const json ids = json::parse(Get("/instances").body);
  ASSERT_EQ(ids.size(), 2U);
  int checked = 0;
  for (const auto& id : ids) {
    const std::string base = "/instances/" + id.get<std::string>();
    const json tags = json::parse(Get(base + "/simplified-tags").body);
    EXPECT_EQ(tags["PatientID"], "S-8f3a2c19d0e4");
    EXPECT_EQ(tags["Modality"], "XC");
    EXPECT_EQ(tags["StudyInstanceUID"], wj.study_instance_uid);  // one study: same subject, day
    const std::string frame = Get(base + "/frames/0/raw").body;
    if (tags["SOPInstanceUID"] == wj.sop_instance_uid) {
      EXPECT_EQ(tags["AnatomicRegionSequence"][0]["CodeValue"], "14975008");
      EXPECT_EQ(tags["ImageLaterality"], "L");
      // The encapsulated JPEG as stored (a fragment of odd length carries one pad byte).
      EXPECT_EQ(frame.substr(0, jpeg.image_bytes.size()), jpeg.image_bytes);
      EXPECT_LE(frame.size(), jpeg.image_bytes.size() + 1);
      ++checked;
    } else if (tags["SOPInstanceUID"] == wp.sop_instance_uid) {
      EXPECT_EQ(tags["AnatomicRegionSequence"][0]["CodeValue"], "89545001");
      cv::Mat rgb;
      cv::cvtColor(testing::SkinPatch(), rgb, cv::COLOR_BGR2RGB);
      ASSERT_EQ(frame.size(), rgb.total() * 3);
      EXPECT_EQ(frame, std::string(reinterpret_cast<const char*>(rgb.data), frame.size()));
      ++checked;
    }
  }
  EXPECT_EQ(checked, 2);
  // A re-send of the same capture is the same instance: Orthanc still holds two.
  StoreToPacs({wj}, Target());
  EXPECT_EQ(json::parse(Get("/instances").body).size(), 2U);
}

TEST_F(OrthancTest, ASegmentationTravelsBesideItsPhoto) {
  const Photo jpeg = testing::TestPhoto("image/jpeg");
  cv::Mat lesion(120, 160, CV_8U, cv::Scalar(0));
  cv::circle(lesion, {60, 60}, 25, cv::Scalar(255), cv::FILLED);
  SegmentationMasks masks;
  masks.lesion.png = testing::Encoded(lesion, ".png");
  masks.lesion.result_id = 7;
  masks.lesion.manual = true;
  masks.skin = masks.lesion;
  masks.skin->png = testing::Encoded(255 - lesion, ".png");
  masks.skin->result_id = 8;
  masks.skin->manual = false;
  masks.skin->algorithm = "classical";
  const WrittenInstance photo = WritePhoto(jpeg, (dir_ / "photo.dcm").string());
  const WrittenInstance seg = WriteSegmentation(jpeg, masks, (dir_ / "seg.dcm").string());
  StoreToPacs({photo, seg}, Target());  // one association, two SOP classes

  const json ids = json::parse(Get("/instances").body);
  ASSERT_EQ(ids.size(), 2U);
  std::string seg_id;
  for (const auto& id : ids) {
    const json tags =
        json::parse(Get("/instances/" + id.get<std::string>() + "/simplified-tags").body);
    if (tags["Modality"] == "SEG") seg_id = id.get<std::string>();
  }
  ASSERT_FALSE(seg_id.empty()) << "no instance of modality SEG";
  const json tags = json::parse(Get("/instances/" + seg_id + "/simplified-tags").body);
  EXPECT_EQ(tags["SOPInstanceUID"], seg.sop_instance_uid);
  EXPECT_EQ(tags["SOPClassUID"], "1.2.840.10008.5.1.4.1.1.66.4");
  EXPECT_EQ(tags["PatientID"], "S-8f3a2c19d0e4");
  EXPECT_EQ(tags["StudyInstanceUID"], photo.study_instance_uid);  // the photo's study in Orthanc
  EXPECT_EQ(tags["ReferencedSeriesSequence"][0]["SeriesInstanceUID"], photo.series_instance_uid);
  EXPECT_EQ(tags["ReferencedSeriesSequence"][0]["ReferencedInstanceSequence"][0]
                ["ReferencedSOPInstanceUID"],
            photo.sop_instance_uid);
  EXPECT_EQ(tags["SegmentSequence"].size(), 2U);
  EXPECT_EQ(tags["SegmentSequence"][0]["SegmentAlgorithmType"], "MANUAL");
  // Orthanc files both under one study of the patient.
  const json studies = json::parse(Get("/studies").body);
  EXPECT_EQ(studies.size(), 1U);

  // The file Orthanc serves back decodes to the mask bits.
  const std::string file = Get("/instances/" + seg_id + "/file").body;
  std::ofstream(dir_ / "back.dcm", std::ios::binary) << file;
  DcmSegmentation* loaded = nullptr;
  ASSERT_TRUE(DcmSegmentation::loadFile((dir_ / "back.dcm").c_str(), loaded).good());
  std::unique_ptr<DcmSegmentation> back(loaded);
  ASSERT_EQ(back->getNumberOfFrames(), 2U);
  DcmIODTypes::Frame* bits = DcmSegUtils::unpackBinaryFrame(back->getFrame(0), 120, 160);
  ASSERT_NE(bits, nullptr);
  cv::Mat frame(120, 160, CV_8U, bits->pixData);
  cv::Mat expected = lesion / 255;
  EXPECT_EQ(cv::countNonZero(frame != expected), 0);
  delete bits;
}

TEST_F(OrthancTest, RefusalsAreNamed) {
  const WrittenInstance w = WritePhoto(testing::TestPhoto("image/jpeg"), (dir_ / "a.dcm").string());
  PacsTarget wrong_ae = Target();
  wrong_ae.called_ae = "NOT-ORTHANC";
  try {
    StoreToPacs({w}, wrong_ae);
    ADD_FAILURE() << "a wrong called AE title was accepted";
  } catch (const Error& e) {
    EXPECT_EQ(e.code(), ErrorCode::kIo);
    EXPECT_NE(std::string(e.what()).find("association"), std::string::npos) << e.what();
  }
  PacsTarget nobody = Target();
  nobody.port = FreePort();
  EXPECT_THROW(StoreToPacs({w}, nobody), Error);
  EXPECT_EQ(json::parse(Get("/instances").body).size(), 0U);
}

}  // namespace
}  // namespace skintrack::dicom
