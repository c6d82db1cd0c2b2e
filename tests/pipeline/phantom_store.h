// Test helpers: phantom series stored in a Store and processed as the workers would, and a
// clinician's corrected mask appended as the API does (PUT /v1/captures/{id}/mask).
#pragma once

#include <gtest/gtest.h>

#include <opencv2/imgcodecs.hpp>
#include <string>
#include <vector>

#include "skintrack/phantom/phantom.h"
#include "skintrack/pipeline/pipeline.h"
#include "skintrack/pipeline/results.h"
#include "skintrack/storage/store.h"

namespace skintrack::pipeline::testing {

inline phantom::Series SmallSeries(std::uint64_t seed, int visits, cv::Size size = {400, 300},
                                   int fitzpatrick = 3) {
  phantom::PhantomOptions o;
  o.size = size;
  o.visits = visits;
  o.seed = seed;
  o.fitzpatrick = fitzpatrick;
  o.max_rotation_deg = 10;
  o.new_lesions = false;
  return phantom::GeneratePhantom(o);
}

// Stores every visit of `s` for (patient, site), one day apart; returns the capture ids.
inline std::vector<std::int64_t> StoreSeries(storage::Store& store, const std::string& patient,
                                             const std::string& site, const phantom::Series& s) {
  if (!store.repository().FindPatient(patient)) {
    storage::PatientInfo info;
    info.id = patient;
    store.repository().CreatePatient(info, "test");
  }
  std::vector<std::int64_t> ids;
  for (std::size_t k = 0; k < s.visits.size(); ++k) {
    std::vector<unsigned char> png;
    cv::imencode(".png", s.visits[k].image, png);
    storage::NewCapture c;
    c.patient_id = patient;
    c.site = site;
    c.captured_at = 1767225600000 + static_cast<std::int64_t>(k) * 86400000;
    c.width = s.visits[k].image.cols;
    c.height = s.visits[k].image.rows;
    ids.push_back(
        store
            .IngestCapture(
                c, std::string_view(reinterpret_cast<const char*>(png.data()), png.size()), "test")
            .capture.id);
  }
  return ids;
}

// Processes every queued capture, as the workers do. Returns how many.
inline int DrainQueue(storage::Store& store, const PipelineOptions& options) {
  int n = 0;
  while (const auto item = store.repository().ClaimWork("worker:test", 60000)) {
    BaselineAsRead as_read;
    ProcessCapture(store, item->capture, options, "worker:test", &as_read);
    store.repository().CompleteWork(item->capture.id, "worker:test");
    RequeueIfBaselineChanged(store, item->capture, options, as_read, "worker:test");
    ++n;
  }
  return n;
}

// A clinician's corrected lesion mask, stored as PUT /v1/captures/{id}/mask stores it.
inline void AppendCorrectedMask(storage::Store& store, std::int64_t capture_id,
                                const cv::Mat& mask) {
  ResultRecord r;
  r.kind = storage::ResultKind::kMask;
  r.name = result::kLesionMask;
  r.source = storage::ResultSource::kClinician;
  r.algorithm = "clinician-mask";
  r.blob = EncodePng(mask);
  Append(store, capture_id, r, "clinician:test");
}

inline double Dice(const cv::Mat& a, const cv::Mat& b) {
  const double sum = cv::countNonZero(a) + cv::countNonZero(b);
  return sum > 0 ? 2.0 * cv::countNonZero(a & b) / sum : 1.0;
}

}  // namespace skintrack::pipeline::testing
