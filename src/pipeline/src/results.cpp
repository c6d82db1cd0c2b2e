#include "skintrack/pipeline/results.h"

#include <cmath>
#include <opencv2/imgcodecs.hpp>

#include "decoded_blobs.h"
#include "skintrack/core/error.h"
#include "skintrack/core/oriented_image.h"
#include "skintrack/storage/sha256.h"

namespace skintrack::pipeline {

storage::Result Append(storage::Store& store, std::int64_t capture_id, const ResultRecord& record,
                       const std::string& actor) {
  storage::NewResult r;
  r.capture_id = capture_id;
  r.kind = record.kind;
  r.name = record.name;
  r.source = record.source;
  r.algorithm = record.algorithm;
  r.algorithm_version = kPipelineVersion;
  if (record.value && std::isfinite(*record.value)) r.value = record.value;
  r.payload_json = record.payload.dump();
  r.inputs_json = record.inputs.dump();
  r.provenance_json = record.provenance.dump();
  if (record.blob) return store.AppendResult(r, std::string_view(*record.blob), actor);
  return store.AppendResult(r, std::nullopt, actor);
}

bool IsReviewedMask(const storage::Result& r) {
  return r.kind == storage::ResultKind::kMask && !r.blob_sha256.empty() &&
         (r.source == storage::ResultSource::kClinician ||
          r.source == storage::ResultSource::kConsensus);
}

namespace {

cv::Mat Decode(const std::string& bytes, int flags) {
  const cv::Mat raw(1, static_cast<int>(bytes.size()), CV_8U,
                    const_cast<char*>(bytes.data()));  // imdecode only reads
  return cv::imdecode(raw, flags);
}

std::string MaskKey(const std::string& sha256) { return sha256 + ":gray"; }

}  // namespace

cv::Mat DecodeStoredImage(storage::Store& store, const storage::Capture& capture) {
  const std::string key = capture.blob.sha256 + ":colour:" + std::to_string(capture.orientation);
  if (auto cached = detail::ProcessDecodedBlobs().Get(key)) return *cached;
  try {
    cv::Mat image =
        DecodeOriented(store.ReadBlob(capture.blob.sha256), capture.orientation, cv::IMREAD_COLOR);
    detail::ProcessDecodedBlobs().Put(key, image);
    return image;
  } catch (const Error& e) {
    if (e.code() != ErrorCode::kImageDecode) throw;
    throw Error(ErrorCode::kImageDecode,
                "stored photo of capture " + std::to_string(capture.id) + ": " + e.what());
  }
}

namespace {
bool IsBinaryMask(const cv::Mat& m) {
  if (m.type() != CV_8UC1) return false;
  for (int y = 0; y < m.rows; ++y) {
    const unsigned char* p = m.ptr<unsigned char>(y);
    for (int x = 0; x < m.cols; ++x) {
      if (p[x] != 0 && p[x] != 255) return false;
    }
  }
  return true;
}
}  // namespace

std::string EncodePng(const cv::Mat& mask) {
  std::vector<unsigned char> bytes;
  // A 0/255 mask is written as a 1-bit PNG (issue 15: 12 MP encodes in 11 ms instead of 24 and
  // decodes in 15 instead of 37, a quarter smaller); it decodes to the same 0/255 pixels.
  std::vector<int> params;
  if (IsBinaryMask(mask)) params = {cv::IMWRITE_PNG_BILEVEL, 1};
  if (!cv::imencode(".png", mask, bytes, params))
    throw Error(ErrorCode::kInternal, "PNG encoding failed");
  std::string png(bytes.begin(), bytes.end());
  // A mask is read back by later stages and by the site's follow-ups (LatestMask): its PNG is
  // lossless, so the pixels it will decode to are these.
  if (mask.type() == CV_8UC1)
    detail::ProcessDecodedBlobs().Put(MaskKey(storage::Sha256Hex(png)), mask);
  return png;
}

std::optional<storage::Result> LatestResult(storage::Store& store, std::int64_t capture_id,
                                            const std::string& name) {
  for (const storage::Result& r : store.repository().LatestResults(capture_id)) {
    if (r.name == name) return r;
  }
  return std::nullopt;
}

std::optional<storage::Result> LatestReviewedLesionMask(storage::Store& store,
                                                        std::int64_t capture_id) {
  auto latest = LatestResult(store, capture_id, result::kLesionMask);
  if (!latest || !IsReviewedMask(*latest)) return std::nullopt;
  return latest;
}

std::optional<StoredMask> LatestStoredMask(storage::Store& store, std::int64_t capture_id,
                                           const std::string& name) {
  for (const storage::Result& r : store.repository().LatestResults(capture_id)) {
    if (r.kind != storage::ResultKind::kMask || r.name != name || r.blob_sha256.empty()) continue;
    if (auto cached = detail::ProcessDecodedBlobs().Get(MaskKey(r.blob_sha256))) {
      return StoredMask{r.blob_sha256, *cached};
    }
    cv::Mat m = Decode(store.ReadBlob(r.blob_sha256), cv::IMREAD_GRAYSCALE);
    if (m.empty()) continue;
    detail::ProcessDecodedBlobs().Put(MaskKey(r.blob_sha256), m);
    return StoredMask{r.blob_sha256, m};
  }
  return std::nullopt;
}

std::optional<cv::Mat> LatestMask(storage::Store& store, std::int64_t capture_id,
                                  const std::string& name) {
  auto stored = LatestStoredMask(store, capture_id, name);
  if (!stored) return std::nullopt;
  return std::move(stored->mask);
}

}  // namespace skintrack::pipeline
