// Lossless intake (issue 15), through the router without sockets: the stored photo is the upload
// without its metadata (byte for byte the plain encoding), its pixels are the upload's exactly,
// its EXIF orientation is a field of the capture applied wherever the pixels are decoded, retries
// and metadata-only variants map to one capture, damaged uploads are 400 with nothing stored, and
// a photo that passes intake but does not decode in full is marked failed with the reason.
#include <gtest/gtest.h>
#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>
#include <opencv2/imgcodecs.hpp>
#include <opencv2/imgproc.hpp>
#include <sstream>

#include "skintrack/core/oriented_image.h"
#include "skintrack/phantom/phantom.h"
#include "skintrack/pipeline/pipeline.h"
#include "skintrack/pipeline/pseudonym.h"
#include "skintrack/pipeline/results.h"
#include "skintrack/pipeline/workers.h"
#include "skintrack/service/image_metadata.h"
#include "skintrack/service/service.h"
#include "skintrack/storage/store.h"
#include "tagged_images.h"

namespace skintrack::service {
namespace {

using nlohmann::json;
using testing::EncodeImage;
using testing::TaggedJpeg;
using testing::TaggedPng;
using testing::Texture;

const pipeline::PseudonymKey kKey{pipeline::PseudonymKey::Scheme::kHmacSha256, "test-key"};

cv::Mat Decoded(const std::string& bytes, int flags = cv::IMREAD_COLOR) {
  const cv::Mat raw(1, static_cast<int>(bytes.size()), CV_8U, const_cast<char*>(bytes.data()));
  return cv::imdecode(raw, flags);
}

std::string ReadFile(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

// Standard output of a shell command (standard error discarded).
std::string RunCapture(const std::string& command) {
  std::string out;
  FILE* pipe = popen((command + " 2>/dev/null").c_str(), "r");  // NOLINT(cert-env33-c)
  if (pipe == nullptr) return "popen failed";
  char buf[4096];
  while (const size_t n = fread(buf, 1, sizeof buf, pipe)) out.append(buf, n);
  pclose(pipe);
  return out;
}

bool Identical(const cv::Mat& a, const cv::Mat& b) {
  return !a.empty() && a.size() == b.size() && a.type() == b.type() &&
         cv::norm(a, b, cv::NORM_INF) == 0;
}

class LosslessIntakeTest : public ::testing::Test {
 protected:
  void SetUp() override {
    store_ = storage::Store::OpenInMemory();
    context_.reset(new ApiContext{*store_, nullptr, &metrics_, IntakeLimits{}, 1.0, kKey,
                                  pipeline::PipelineOptions{}});
    AddApiRoutes(router_, *context_);
    storage::NewToken t;
    t.role = storage::Role::kAdmin;
    admin_ = store_->repository().CreateToken(t, "test").token;
    storage::PatientInfo p;
    p.id = "P1";
    store_->repository().CreatePatient(p, "test");
  }

  HttpResponse Call(const std::string& method, const std::string& path, const std::string& body,
                    const std::string& type, const std::string& query = "") {
    HttpRequest r;
    r.method = method;
    r.path = path;
    r.query = ParseQuery(query);
    r.headers["authorization"] = "Bearer " + admin_;
    if (!type.empty()) r.headers["content-type"] = type;
    r.body = body;
    return router_.Dispatch(r);
  }
  HttpResponse Push(const std::string& bytes, const std::string& type,
                    const std::string& when = "2026-01-01T09:00:00Z",
                    const std::string& site = "left-forearm") {
    return Call("POST", "/v1/patients/P1/sites/" + site + "/captures", bytes, type,
                "condition=psoriasis&captured_at=" + when);
  }
  json Capture(std::int64_t id) {
    return json::parse(Call("GET", "/v1/captures/" + std::to_string(id), "", "").body);
  }
  storage::Capture Stored(std::int64_t id) { return *store_->repository().FindCapture(id); }
  std::string Blob(std::int64_t id) { return store_->ReadBlob(Stored(id).blob.sha256); }
  std::int64_t CaptureCount() {
    const storage::QueueCounts q = store_->repository().CountQueue();
    return q.queued + q.processing + q.processed + q.failed;
  }

  std::unique_ptr<storage::Store> store_;
  Metrics metrics_;
  std::unique_ptr<ApiContext> context_;
  Router router_;
  std::string admin_;
};

void ExpectNoSecret(const std::string& stored) {
  for (const std::string& secret : testing::MetadataSecrets()) {
    EXPECT_EQ(stored.find(secret), std::string::npos) << secret << " survived";
  }
}

TEST_F(LosslessIntakeTest, JpegIsStoredWithoutItsMetadataAndWithTheUploadsPixels) {
  for (const int orientation : {1, 3, 6, 8}) {
    SCOPED_TRACE(orientation);
    const std::string plain =
        EncodeImage(Texture(160, 120, orientation), ".jpg", {cv::IMWRITE_JPEG_QUALITY, 90});
    const std::string upload =
        TaggedJpeg(plain, orientation, "clinic-comment " + std::to_string(orientation));
    ASSERT_NE(upload.find("SERIAL-0451"), std::string::npos);
    const HttpResponse r = Push(upload, "image/jpeg");
    ASSERT_EQ(r.status, 201) << r.body;
    const json j = json::parse(r.body);
    const std::int64_t id = j["id"].get<std::int64_t>();
    EXPECT_EQ(Blob(id), plain);  // every stored byte is the encoder's, none the metadata's
    ExpectNoSecret(Blob(id));
    EXPECT_EQ(j["orientation"], orientation);
    const bool turned = orientation >= 5;
    EXPECT_EQ(j["width"], turned ? 120 : 160);
    EXPECT_EQ(j["height"], turned ? 160 : 120);
    // OpenCV applies the upload's own EXIF orientation: the stored photo decodes to the same
    // pixels, exactly (no second JPEG generation).
    const cv::Mat shown = pipeline::DecodeStoredImage(*store_, Stored(id));
    EXPECT_TRUE(Identical(shown, Decoded(upload)));
    if (orientation != 1) {
      EXPECT_FALSE(Identical(shown, Decoded(plain)));  // the orientation was applied
    }
  }
}

TEST_F(LosslessIntakeTest, PngIsStoredWithoutItsTextExifAndTimeChunks) {
  const cv::Mat img = Texture(96, 64, 3);
  const std::string plain = EncodeImage(img, ".png");
  const std::string upload = TaggedPng(plain, 1);
  ASSERT_FALSE(Decoded(upload).empty());  // a valid PNG as libpng sees it
  const HttpResponse r = Push(upload, "image/png");
  ASSERT_EQ(r.status, 201) << r.body;
  const std::int64_t id = json::parse(r.body)["id"].get<std::int64_t>();
  EXPECT_EQ(Blob(id), plain);
  ExpectNoSecret(Blob(id));
  EXPECT_TRUE(Identical(pipeline::DecodeStoredImage(*store_, Stored(id)), img));
  EXPECT_TRUE(Identical(Decoded(Blob(id)), Decoded(upload)));
  // The orientation of a PNG's eXIf chunk is kept and applied too.
  const cv::Mat other = Texture(96, 64, 4);
  const HttpResponse turned =
      Push(TaggedPng(EncodeImage(other, ".png"), 3), "image/png", "2026-01-02T09:00:00Z");
  ASSERT_EQ(turned.status, 201) << turned.body;
  const std::int64_t turned_id = json::parse(turned.body)["id"].get<std::int64_t>();
  EXPECT_EQ(Stored(turned_id).orientation, 3);
  cv::Mat rotated;
  cv::rotate(other, rotated, cv::ROTATE_180);
  EXPECT_TRUE(Identical(pipeline::DecodeStoredImage(*store_, Stored(turned_id)), rotated));
}

// The photo route serves the stored bytes plus the orientation alone, which viewers apply.
TEST_F(LosslessIntakeTest, TheServedPhotoCarriesItsOrientationAndNoOtherMetadata) {
  for (const char* ext : {".jpg", ".png"}) {
    SCOPED_TRACE(ext);
    const bool jpeg = ext == std::string(".jpg");
    const std::string plain = EncodeImage(Texture(80, 60, jpeg ? 21 : 22), ext);
    const HttpResponse r =
        Push(jpeg ? TaggedJpeg(plain, 6) : TaggedPng(plain, 6), jpeg ? "image/jpeg" : "image/png",
             jpeg ? "2026-04-01T09:00:00Z" : "2026-04-02T09:00:00Z");
    ASSERT_EQ(r.status, 201) << r.body;
    const std::int64_t id = json::parse(r.body)["id"].get<std::int64_t>();
    const HttpResponse served =
        Call("GET", "/v1/captures/" + std::to_string(id) + "/image", "", "");
    ASSERT_EQ(served.status, 200);
    const cv::Mat shown = Decoded(served.body);  // OpenCV applies the served EXIF orientation
    EXPECT_EQ(shown.size(), cv::Size(60, 80));
    EXPECT_TRUE(Identical(shown, pipeline::DecodeStoredImage(*store_, Stored(id))));
    const StrippedImage again = StripMetadata(served.body);
    EXPECT_EQ(again.bytes, plain);  // nothing else was added
    EXPECT_EQ(again.exif_orientation, 6);
    ExpectNoSecret(
        std::string(served.body).replace(served.body.find(jpeg ? "Exif" : "eXIf"), 4, "...."));
  }
}

// The idempotency keys: the upload's hash (a device's retry of the same bytes, answered before
// any check) and the stored bytes' hash per patient and site (the same photo with other
// metadata). The same pixels with another orientation are another picture: 409.
TEST_F(LosslessIntakeTest, RetriesAndMetadataOnlyVariantsMapToOneCapture) {
  const std::string plain = EncodeImage(Texture(128, 96, 5), ".jpg");
  const std::string upload = TaggedJpeg(plain, 6, "first");
  const HttpResponse first = Push(upload, "image/jpeg");
  ASSERT_EQ(first.status, 201) << first.body;
  const auto id = json::parse(first.body)["id"].get<std::int64_t>();
  const HttpResponse retry = Push(upload, "image/jpeg");
  EXPECT_EQ(retry.status, 200) << retry.body;
  EXPECT_EQ(json::parse(retry.body)["id"], id);
  const HttpResponse variant = Push(TaggedJpeg(plain, 6, "edited on the phone"), "image/jpeg");
  EXPECT_EQ(variant.status, 200) << variant.body;
  EXPECT_EQ(json::parse(variant.body)["id"], id);
  const HttpResponse other_way_up = Push(TaggedJpeg(plain, 1, "rotated back"), "image/jpeg");
  EXPECT_EQ(other_way_up.status, 409) << other_way_up.body;
  EXPECT_EQ(json::parse(other_way_up.body)["error"]["field"], "orientation");
  EXPECT_EQ(CaptureCount(), 1);
}

std::uint32_t Be32At(const std::string& s, size_t at) {
  std::uint32_t v = 0;
  for (size_t k = 0; k < 4; ++k) v = (v << 8) | static_cast<unsigned char>(s[at + k]);
  return v;
}

size_t ChunkAt(const std::string& png, const std::string& type) {
  size_t at = 8;
  while (png.compare(at + 4, 4, type) != 0) at += 12 + Be32At(png, at);
  return at;
}

// Rebuilds `png` with IDAT data `raw` (filtered rows) compressed afresh: sound CRC and zlib.
std::string WithImageData(const std::string& png, const std::string& raw) {
  const size_t idat = ChunkAt(png, "IDAT");
  return png.substr(0, idat) + testing::PngChunk("IDAT", testing::Deflate(raw)) +
         png.substr(png.size() - 12);
}

TEST_F(LosslessIntakeTest, DamagedUploadsAre400AndNothingIsStored) {
  const std::string jpeg = TaggedJpeg(EncodeImage(Texture(320, 240), ".jpg"), 1);
  std::string corrupt_scan = jpeg;
  for (size_t i = jpeg.size() / 2; i < jpeg.size() / 2 + 200; ++i) corrupt_scan[i] ^= 0x5A;
  const std::string png = TaggedPng(EncodeImage(Texture(64, 48), ".png"), 1);
  std::string bad_crc = png;
  const size_t idat = ChunkAt(png, "IDAT");
  bad_crc[idat + 8 + Be32At(png, idat) / 2] ^= 0x11;
  // Sound CRC and zlib stream, but a row whose filter type is 7, and image data one row short.
  const std::string plain_png = EncodeImage(Texture(64, 48), ".png");
  constexpr std::size_t kRow = 1 + 64 * 3;  // filter byte + 64 RGB pixels
  std::string rows(48 * kRow, '\0');
  rows[5 * kRow] = 7;
  const std::string bad_filter = WithImageData(plain_png, rows);
  const std::string short_data = WithImageData(plain_png, std::string(47 * kRow, '\0'));
  const struct {
    const char* what;
    std::string bytes;
    const char* type;
    const char* says;
  } cases[] = {
      {"truncated, then EOI", jpeg.substr(0, jpeg.size() / 2) + "\xFF\xD9", "image/jpeg",
       "Corrupt JPEG data"},
      {"corrupt scan data", corrupt_scan, "image/jpeg", "damaged JPEG"},
      {"bad IDAT CRC", bad_crc, "image/png", "bad CRC of chunk IDAT"},
      {"bad filter byte", bad_filter, "image/png", "bad filter type 7"},
      {"short image data", short_data, "image/png", "fewer rows"},
  };
  for (const auto& c : cases) {
    SCOPED_TRACE(c.what);
    const HttpResponse r = Push(c.bytes, c.type);
    ASSERT_EQ(r.status, 400) << r.body;
    const json e = json::parse(r.body)["error"];
    EXPECT_EQ(e["code"], "image_decode_failed");
    EXPECT_NE(e["message"].get<std::string>().find(c.says), std::string::npos) << e["message"];
  }
  EXPECT_EQ(CaptureCount(), 0);
  EXPECT_EQ(store_->Check(false).stored_blobs, 0);
}

// Registration and segmentation see the photo the right way up: a follow-up stored as sideways
// pixels with EXIF orientation 6 registers to its upright baseline with an identity transform.
TEST_F(LosslessIntakeTest, TheOrientationIsAppliedWhereverPixelsAreDecoded) {
  phantom::PhantomOptions o;
  o.size = cv::Size(320, 240);
  o.visits = 1;
  o.seed = 11;
  o.new_lesions = false;
  const cv::Mat upright = phantom::GeneratePhantom(o).visits[0].image;
  cv::Mat sideways;  // what a sensor held at 90 degrees recorded; orientation 6 turns it back
  cv::rotate(upright, sideways, cv::ROTATE_90_COUNTERCLOCKWISE);
  const HttpResponse base = Push(EncodeImage(upright, ".jpg", {cv::IMWRITE_JPEG_QUALITY, 95}),
                                 "image/jpeg", "2026-01-01T09:00:00Z");
  const HttpResponse follow =
      Push(TaggedJpeg(EncodeImage(sideways, ".jpg", {cv::IMWRITE_JPEG_QUALITY, 95}), 6),
           "image/jpeg", "2026-02-01T09:00:00Z");
  ASSERT_EQ(base.status, 201) << base.body;
  ASSERT_EQ(follow.status, 201) << follow.body;
  const auto id = json::parse(follow.body)["id"].get<std::int64_t>();
  while (const auto item = store_->repository().ClaimWork("worker:test", 60000)) {
    pipeline::ProcessCapture(*store_, item->capture, pipeline::PipelineOptions{}, "worker:test");
    store_->repository().CompleteWork(item->capture.id, "worker:test");
  }
  const json c = Capture(id);
  ASSERT_EQ(c["status"], "processed") << c.dump();
  const json reg = c["results"]["to_baseline"]["payload"];
  EXPECT_EQ(reg["moving_size"], json::array({320, 240})) << reg.dump();
  const json& m = reg["matrix"];
  EXPECT_NEAR(m[0][0].get<double>(), 1.0, 0.03) << reg.dump();
  EXPECT_NEAR(m[0][1].get<double>(), 0.0, 0.03) << reg.dump();
  EXPECT_NEAR(m[0][2].get<double>(), 0.0, 3.0) << reg.dump();
  EXPECT_NEAR(m[1][2].get<double>(), 0.0, 3.0) << reg.dump();
  const auto mask = pipeline::LatestMask(*store_, id, pipeline::result::kLesionMask);
  ASSERT_TRUE(mask);
  EXPECT_EQ(mask->size(), cv::Size(320, 240));
  const HttpResponse overlay =
      Call("GET", "/v1/captures/" + std::to_string(id) + "/overlay.png", "", "");
  ASSERT_EQ(overlay.status, 200);
  EXPECT_EQ(Decoded(overlay.body).size(), cv::Size(320, 240));
}

// No upload found passes intake and then fails its full decode (the cheap checks cover what
// libjpeg and libpng refuse), so the photo is put in the store directly, as a disk fault or an
// older intake could leave it: the worker marks it failed, not retried, with the reason shown.
TEST_F(LosslessIntakeTest, APhotoThatDoesNotDecodeInFullIsMarkedFailedWithTheReason) {
  const std::string png = EncodeImage(Texture(64, 48), ".png");
  constexpr std::size_t kRow = 1 + 64 * 3;
  std::string rows(48 * kRow, '\0');
  rows[9 * kRow] = 9;  // a bad filter byte behind sound CRCs
  storage::NewCapture nc;
  nc.patient_id = "P1";
  nc.site = "scalp";
  nc.captured_at = 1'767'258'000'000;
  nc.media_type = "image/png";
  nc.width = 64;
  nc.height = 48;
  const std::int64_t id = store_->IngestCapture(nc, WithImageData(png, rows), "test").capture.id;
  pipeline::PipelineOptions options;
  options.workers = 1;
  pipeline::WorkerPool pool(*store_, options);
  pool.Start();
  pool.Notify();
  ASSERT_TRUE(pool.WaitFor(id, 30));
  pool.Stop();
  const json c = Capture(id);
  EXPECT_EQ(c["status"], "failed") << c.dump();
  EXPECT_EQ(c["attempts"], 1);
  const std::string error = c.value("last_error", "");
  EXPECT_NE(error.find("does not decode"), std::string::npos) << error;
  EXPECT_NE(error.find("capture " + std::to_string(id)), std::string::npos) << error;
}

// With Debian's exiftool installed (scripts/setup.sh), an independent reader of metadata finds
// none in the stored photo after exiftool itself wrote GPS, a serial number, a thumbnail, XMP,
// IPTC and a comment into the upload.
TEST_F(LosslessIntakeTest, ExiftoolFindsNoMetadataInTheStoredPhoto) {
  if (std::system("exiftool -ver >/dev/null 2>&1") != 0) {  // NOLINT(concurrency-mt-unsafe)
    GTEST_SKIP() << "exiftool not installed (apt-get install libimage-exiftool-perl)";
  }
  const std::filesystem::path tmp =
      std::filesystem::temp_directory_path() / ("skintrack-exiftool-" + std::to_string(::getpid()));
  std::filesystem::create_directories(tmp);
  struct Cleanup {
    std::filesystem::path p;
    ~Cleanup() {
      std::error_code ec;
      std::filesystem::remove_all(p, ec);
    }
  } cleanup{tmp};
  const std::string dir = tmp.string();
  const std::string thumb = dir + "/thumb.jpg";
  std::ofstream(thumb, std::ios::binary) << EncodeImage(Texture(40, 30), ".jpg");
  int n = 0;
  for (const char* ext : {".jpg", ".png"}) {
    SCOPED_TRACE(ext);
    const std::string path = dir + "/photo" + ext;
    const std::string plain = EncodeImage(Texture(128, 96, 9), ext);
    std::ofstream(path, std::ios::binary) << plain;
    std::string write =
        "exiftool -q -q -overwrite_original -GPSLatitude=52.37 -GPSLatitudeRef=N "
        "-GPSLongitude=4.89 -GPSLongitudeRef=E -SerialNumber=SN-0451 -Make=SkinCam "
        "-XMP-dc:Creator='Jane Doe' -IPTC:By-line='Jane Doe' -Comment='patient P1' "
        "-EXIF:Orientation#=6 '-ThumbnailImage<=";
    write.append(thumb).append("' ").append(path);
    ASSERT_EQ(std::system(write.c_str()), 0) << write;  // NOLINT(concurrency-mt-unsafe)
    const std::string upload = ReadFile(path);
    ASSERT_NE(upload, plain);
    const HttpResponse r = Push(upload, ext == std::string(".jpg") ? "image/jpeg" : "image/png",
                                "2026-03-0" + std::to_string(++n) + "T09:00:00Z");
    ASSERT_EQ(r.status, 201) << r.body;
    const std::int64_t id = json::parse(r.body)["id"].get<std::int64_t>();
    EXPECT_EQ(Stored(id).orientation, 6);
    const std::string stored_path = dir + "/stored" + ext;
    std::ofstream(stored_path, std::ios::binary) << Blob(id);
    const std::string listing = RunCapture(
        "exiftool -G -s -EXIF:all -GPS:all -XMP:all -IPTC:all -Comment -ThumbnailImage "
        "-SerialNumber -Make -PNG:TextualData " +
        stored_path);
    EXPECT_EQ(listing, "") << listing;
    const std::string before = RunCapture("exiftool -G -s -GPS:all " + path);
    EXPECT_NE(before.find("GPSLatitude"), std::string::npos) << before;  // the check can fail
    EXPECT_EQ(Blob(id), plain);
  }
}

}  // namespace
}  // namespace skintrack::service
