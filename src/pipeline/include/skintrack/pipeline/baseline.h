// THE baseline rule, in one place: a site's baseline is the capture a clinician chose (PUT
// /v1/captures/{id}/baseline), else the earliest capture (by captured_at) of (patient, site,
// condition) that passes the quality gate. Every later capture of the series is registered to it,
// and its change, site area and the treatment response are measured against it.
#pragma once

#include <cstdint>
#include <optional>
#include <string>

#include "skintrack/core/body_sites.h"
#include "skintrack/pipeline/registration_json.h"
#include "skintrack/scoring/quality.h"
#include "skintrack/storage/store.h"

namespace skintrack::pipeline {

// The site's baseline capture id; std::nullopt when no capture passes the quality gate. Captures
// without a stored quality result are checked here. Throws skintrack::Error.
std::optional<std::int64_t> FindBaseline(storage::Store& store, const std::string& patient_id,
                                         const std::string& site, Condition condition,
                                         const scoring::QualityOptions& quality);

// After `baseline` became its site's baseline (a capture pushed late with an earlier
// captured_at, or a clinician's choice), puts back in the queue the series' processed captures
// whose stored registration points at another capture, so that the workers register them (and
// their change) again, to this baseline; and, when the baseline has a reviewed lesion mask, the
// follow-ups whose automated lesion mask was segmented without it (a process died between the
// mask and its requeue: ApplyReviewedMask). ProcessCapture calls it for a baseline. Returns how
// many were requeued.
int RequeueSeriesForBaseline(storage::Store& store, const storage::Capture& baseline,
                             const std::string& actor);

// Puts every processed capture of `baseline`'s series except the baseline back in the queue
// (audited `capture.requeue` with `reason`), e.g. when the baseline's corrected lesion mask, which
// their patient reference segmenter learns from, changed. Returns how many were requeued.
int RequeueFollowUps(storage::Store& store, const storage::Capture& baseline,
                     const std::string& reason, const std::string& actor);

// The capture's latest stored registration to its baseline, when it converged, with the sizes of
// the two captures. The baseline itself has an identity registration.
std::optional<BaselineRegistration> StoredRegistration(storage::Store& store,
                                                       const storage::Capture& capture);

}  // namespace skintrack::pipeline
