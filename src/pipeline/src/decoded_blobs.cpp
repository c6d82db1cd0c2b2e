#include "decoded_blobs.h"

namespace skintrack::pipeline::detail {

std::optional<cv::Mat> DecodedBlobs::Get(const std::string& key) {
  std::optional<cv::Mat> image = cache_.Get(key);
  if (image) *image = image->clone();
  return image;
}

void DecodedBlobs::Put(const std::string& key, const cv::Mat& image) {
  if (image.empty()) return;
  cache_.Put(key, image.clone(), image.total() * image.elemSize());
}

DecodedBlobs& ProcessDecodedBlobs() {
  static DecodedBlobs cache(std::size_t{256} * 1024 * 1024);
  return cache;
}

}  // namespace skintrack::pipeline::detail
