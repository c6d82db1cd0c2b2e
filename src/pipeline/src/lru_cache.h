// A thread-safe least-recently-used cache bounded by the bytes of what it holds: the home of the
// pipeline's process-wide caches of immutable things derived from stored blobs (decoded pixels,
// prepared baselines). Private to the pipeline.
#pragma once

#include <cstddef>
#include <list>
#include <mutex>
#include <optional>
#include <string>
#include <unordered_map>
#include <utility>

namespace skintrack::pipeline::detail {

// `Value` is copied out by Get (a cv::Mat header, a shared_ptr): callers that need their own
// pixels copy them. A key names its contents for ever (a content hash), so the first Put wins.
template <typename Value>
class LruByBytes {
 public:
  explicit LruByBytes(std::size_t budget_bytes) : budget_(budget_bytes) {}

  std::optional<Value> Get(const std::string& key) {
    std::lock_guard<std::mutex> lock(mutex_);
    const auto it = index_.find(key);
    if (it == index_.end()) return std::nullopt;
    order_.splice(order_.begin(), order_, it->second);
    return it->second->value;
  }

  // Values larger than the whole budget are not kept.
  void Put(const std::string& key, Value value, std::size_t bytes) {
    if (bytes > budget_) return;
    std::lock_guard<std::mutex> lock(mutex_);
    if (index_.count(key) > 0) return;
    order_.push_front(Entry{key, std::move(value), bytes});
    index_[key] = order_.begin();
    bytes_ += bytes;
    while (bytes_ > budget_) {
      const Entry& last = order_.back();
      bytes_ -= last.bytes;
      index_.erase(last.key);
      order_.pop_back();
    }
  }

 private:
  struct Entry {
    std::string key;
    Value value;
    std::size_t bytes;
  };
  std::mutex mutex_;
  std::size_t budget_;
  std::size_t bytes_ = 0;
  std::list<Entry> order_;  // most recently used first
  std::unordered_map<std::string, typename std::list<Entry>::iterator> index_;
};

}  // namespace skintrack::pipeline::detail
