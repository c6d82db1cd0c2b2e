// The inputs of a follow-up's registration that need none of its masks: its site's baseline
// prepared for registration (kept per process by content) and its own prepared side. Prepared on
// another thread while the follow-up is segmented (issue 15). Private to the pipeline.
#pragma once

#include <cstdint>
#include <memory>
#include <opencv2/core.hpp>

#include "skintrack/pipeline/pipeline.h"
#include "skintrack/registration/registration.h"
#include "skintrack/storage/store.h"

namespace skintrack::pipeline::detail {

// The site's baseline as the registration needs it: prepared (its grey working copy and SIFT
// features within its skin minus its lesions), and its masks for the change.
struct RegistrationBaseline {
  std::shared_ptr<const registration::PreparedBaseline> prepared;
  cv::Mat skin, lesion;
};

struct RegistrationSides {
  RegistrationBaseline baseline;
  std::shared_ptr<const registration::PreparedCapture> capture;
};

// The pipeline's registration options (the same for every capture).
registration::RegistrationOptions RegistrationOptionsOf(const PipelineOptions& options);

// Throws Error(kNotFound) when the baseline capture no longer exists.
RegistrationSides PrepareRegistration(storage::Store& store, std::int64_t baseline_id,
                                      const cv::Mat& image, const PipelineOptions& options);

}  // namespace skintrack::pipeline::detail
