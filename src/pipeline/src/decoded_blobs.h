// Decoded pixels of stored blobs, kept by content hash (issue 15). Processing a follow-up reads
// its site baseline's photo and masks, and reads the baseline's masks again in each stage
// (registration, change, site area): up to seven full-resolution PNG / JPEG decodes of the same
// immutable bytes per capture. A blob's hash names its bytes for ever, so its decode can be kept.
// Private to the pipeline.
#pragma once

#include <cstddef>
#include <opencv2/core.hpp>
#include <optional>
#include <string>

#include "lru_cache.h"

namespace skintrack::pipeline::detail {

// Least recently used first out, bounded by the bytes of the images it holds. Thread-safe. Get
// and Put copy the pixels (a caller that draws on its image must not change the cached one);
// the copy costs a few ms where the decode costs tens to hundreds.
class DecodedBlobs {
 public:
  explicit DecodedBlobs(std::size_t budget_bytes) : cache_(budget_bytes) {}
  // `key`: the blob's SHA-256 and how it was decoded (gray, colour + orientation).
  std::optional<cv::Mat> Get(const std::string& key);
  void Put(const std::string& key, const cv::Mat& image);

 private:
  LruByBytes<cv::Mat> cache_;
};

// The process's cache: 256 MB, about four 12 MP photos and their masks (two workers' sites).
DecodedBlobs& ProcessDecodedBlobs();

}  // namespace skintrack::pipeline::detail
