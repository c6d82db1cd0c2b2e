// Processing of stored captures: quality gate, registration to the site's baseline, segmentation,
// measurements, scores and change against the baseline. Every output is appended to storage as a
// new result version (never overwritten), with the algorithm version and what it was computed
// from. The worker pool takes captures from the durable queue in storage, so a restart resumes
// unfinished work.
#pragma once

#include <atomic>
#include <condition_variable>
#include <cstdint>
#include <functional>
#include <mutex>
#include <opencv2/core.hpp>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "skintrack/core/body_sites.h"

namespace skintrack::storage {
class Store;
struct Capture;
}  // namespace skintrack::storage

namespace skintrack::service {

// Version of the processing pipeline (which steps, which defaults); stored with its results.
inline constexpr const char* kPipelineVersion = "1.0.0";  // skintrack pipeline

struct QualityOptions {
  double min_sharpness = 12.0;      // variance of the Laplacian of the grey image at 800 px
  double min_mean_grey = 35.0;      // too dark below
  double max_mean_grey = 235.0;     // washed out above
  double max_clipped = 0.25;        // share of pixels at 0-3 or 252-255
  double min_skin_fraction = 0.05;  // share of the image that is skin
};

struct QualityReport {
  bool passed = false;
  std::vector<std::string> reasons;  // empty when passed
  double sharpness = 0, mean_grey = 0, clipped = 0, skin_fraction = 0;
};

// The quality gate of a decoded capture (CV_8UC3). Pure; thread-safe.
QualityReport CheckQuality(const cv::Mat& bgr, const QualityOptions& options = {});

struct PipelineOptions {
  int workers = 2;  // processing threads
  std::int64_t lease_ms = 10 * 60 * 1000;
  int registration_threads = 1;  // ITK threads per registration (workers x this <= cores)
  QualityOptions quality;
  void Check() const;  // throws Error(kInvalidArgument)
};

// Processes one capture end to end and stores its results. Throws skintrack::Error when the
// capture cannot be processed (the caller records the failure in the queue). When the capture
// is its site's baseline, the captures registered to another one are requeued
// (RequeueSeriesForBaseline); returns how many.
int ProcessCapture(storage::Store& store, const storage::Capture& capture,
                   const PipelineOptions& options, const std::string& actor);

// The site's baseline: the capture a clinician chose (PUT .../baseline), else the earliest
// capture (by captured_at) of (patient, site, condition) that passes the quality gate.
// std::nullopt when none does.
std::optional<std::int64_t> FindBaseline(storage::Store& store, const std::string& patient_id,
                                         const std::string& site, Condition condition,
                                         const QualityOptions& quality);

// After `baseline` became its site's baseline (a capture pushed late with an earlier
// captured_at, or a clinician's choice), puts back in the queue the series' processed captures
// whose stored registration points at another capture, so that the workers register them (and
// their change) again, to this baseline. ProcessCapture calls it for a baseline. Returns how
// many were requeued.
int RequeueSeriesForBaseline(storage::Store& store, const storage::Capture& baseline,
                             const std::string& actor);

// Counters exported at /metrics.
struct PipelineStats {
  std::atomic<std::int64_t> processed{0}, failed{0};
  std::atomic<std::int64_t> processing_micros{0};  // total processing time
};

class WorkerPool {
 public:
  WorkerPool(storage::Store& store, PipelineOptions options);
  ~WorkerPool();  // Stop()s
  WorkerPool(const WorkerPool&) = delete;
  WorkerPool& operator=(const WorkerPool&) = delete;

  void Start();
  // Lets the workers finish the capture each is processing, then joins them. Queued captures stay
  // queued in storage for the next start.
  void Stop();
  // Wakes idle workers (a capture was just queued).
  void Notify();
  // Blocks until the capture is processed or failed, or `timeout_s` passes; returns whether it
  // finished.
  bool WaitFor(std::int64_t capture_id, double timeout_s);

  const PipelineStats& stats() const { return stats_; }

 private:
  void Run(int index);

  storage::Store& store_;
  PipelineOptions options_;
  std::vector<std::thread> threads_;
  std::mutex mutex_;
  std::condition_variable wake_, done_;
  bool stopping_ = false;
  std::uint64_t generation_ = 0;  // bumped on every completion, for WaitFor
  PipelineStats stats_;
};

}  // namespace skintrack::service
