#include "decoded_blobs.h"

namespace skintrack::pipeline::detail {

std::optional<cv::Mat> DecodedBlobs::Get(const std::string& key) {
  std::lock_guard<std::mutex> lock(mutex_);
  const auto it = index_.find(key);
  if (it == index_.end()) return std::nullopt;
  order_.splice(order_.begin(), order_, it->second);
  return it->second->image.clone();
}

void DecodedBlobs::Put(const std::string& key, const cv::Mat& image) {
  const std::size_t size = image.total() * image.elemSize();
  if (image.empty() || size > budget_) return;
  cv::Mat copy = image.clone();
  std::lock_guard<std::mutex> lock(mutex_);
  if (index_.count(key) > 0) return;  // the same bytes decode to the same pixels
  order_.push_front(Entry{key, std::move(copy)});
  index_[key] = order_.begin();
  bytes_ += size;
  while (bytes_ > budget_) {
    const Entry& last = order_.back();
    bytes_ -= last.image.total() * last.image.elemSize();
    index_.erase(last.key);
    order_.pop_back();
  }
}

DecodedBlobs& ProcessDecodedBlobs() {
  static DecodedBlobs cache(std::size_t{256} * 1024 * 1024);
  return cache;
}

}  // namespace skintrack::pipeline::detail
