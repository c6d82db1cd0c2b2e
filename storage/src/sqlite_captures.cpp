// SqliteRepository: patients, captures and the work queue.
#include <algorithm>
#include <nlohmann/json.hpp>

#include "skintrack/core/error.h"
#include "skintrack/storage/sha256.h"
#include "sqlite_repository.h"

namespace skintrack::storage {
namespace detail {

// --- patients ---
Patient SqliteRepository::CreatePatient(const PatientInfo& info, const std::string& actor) {
  info.Check();
  ValidateActor(actor);
  Write([&](Connection& c) {
    if (PatientKey(c, info.id)) {
      throw Error(ErrorCode::kAlreadyExists, "patient " + info.id + " already exists");
    }
    Stmt st(c.Prepare(kInsertPatient));
    st->bind(1, info.id);
    BindOptional(*st, 2, info.fitzpatrick);
    st->bind(3, info.age_band);
    st->bind(4, info.attributes_json);
    st->bind(5, Now());
    st->exec();
    Audit(c, actor, "patient.create", "patient:" + info.id, "", "", "{}");
  });
  return *FindPatient(info.id);
}

std::optional<Patient> SqliteRepository::FindPatient(const std::string& patient_id) {
  ValidateId(patient_id, "patient id");
  std::optional<Patient> out;
  Read([&](Connection& c) {
    Stmt st(c.Prepare(kFindPatient));
    st->bind(1, patient_id);
    if (st->executeStep()) out = ReadPatient(*st);
  });
  return out;
}

std::vector<Patient> SqliteRepository::ListPatients() {
  std::vector<Patient> out;
  Read([&](Connection& c) {
    Stmt st(c.Prepare(kListPatients));
    while (st->executeStep()) out.push_back(ReadPatient(*st));
  });
  return out;
}

// --- captures ---
IngestResult SqliteRepository::InsertCapture(const NewCapture& capture, const BlobRef& blob,
                                             const std::string& actor) {
  capture.Check();
  CheckBlob(blob);
  ValidateActor(actor);
  const std::int64_t site = SiteKey(capture.site);
  IngestResult out;
  Write([&](Connection& c) {
    const std::int64_t patient = RequirePatient(c, capture.patient_id);
    if (!capture.upload_sha256.empty()) {
      // Checked inside the write transaction: two concurrent pushes of one upload (which both
      // missed the caller's FindCaptureByUpload) store one capture, also across sites.
      Stmt st(c.Prepare(kFindCaptureByUpload));
      st->bind(1, patient);
      st->bind(2, capture.upload_sha256);
      if (st->executeStep()) {
        out.capture = ReadCapture(*st);
        out.created = false;
        return;
      }
    }
    {
      Stmt st(c.Prepare(kFindCaptureByBlob));
      st->bind(1, patient);
      st->bind(2, site);
      st->bind(3, blob.sha256);
      if (st->executeStep()) {
        out.capture = ReadCapture(*st);
        out.created = false;
        return;
      }
    }
    std::optional<std::int64_t> visit;
    const TimeMs now = Now();
    if (!capture.visit.empty()) {
      {
        Stmt st(c.Prepare(kInsertVisit));
        st->bind(1, patient);
        st->bind(2, capture.visit);
        st->bind(3, now);
        st->exec();
      }
      Stmt st(c.Prepare(kFindVisit));
      st->bind(1, patient);
      st->bind(2, capture.visit);
      if (!st->executeStep()) throw Error(ErrorCode::kInternal, "visit row vanished");
      visit = st->getColumn(0).getInt64();
    }
    const std::int64_t id = NextId(c, "captures");
    {
      Stmt st(c.Prepare(kInsertCapture));
      st->bind(1, patient);
      st->bind(2, site);
      st->bind(3, ConditionName(capture.condition));
      st->bind(4, capture.captured_at);
      st->bind(5, now);
      st->bind(6, capture.device);
      BindOptional(*st, 7, visit);
      st->bind(8, capture.media_type);
      st->bind(9, blob.sha256);
      st->bind(10, blob.size);
      st->bind(11, capture.width);
      st->bind(12, capture.height);
      st->bind(13, now);
      st->bind(14, id);
      if (capture.upload_sha256.empty()) {
        st->bind(15);  // NULL: not known (the unique index ignores NULLs)
      } else {
        st->bind(15, capture.upload_sha256);
      }
      st->bind(16, capture.orientation);
      st->exec();
    }
    Audit(c, actor, "capture.ingest", "capture:" + std::to_string(id), "", "blob:" + blob.sha256,
          nlohmann::json{{"patient", capture.patient_id}, {"site", capture.site}}.dump());
    out.capture = *LoadCapture(c, id);
    out.created = true;
  });
  return out;
}

std::optional<Capture> SqliteRepository::FindCapture(std::int64_t capture_id) {
  std::optional<Capture> out;
  Read([&](Connection& c) { out = LoadCapture(c, capture_id); });
  return out;
}

std::optional<Capture> SqliteRepository::FindCaptureByUpload(const std::string& patient_id,
                                                             const std::string& upload_sha256) {
  ValidateId(patient_id, "patient id");
  if (!IsSha256Hex(upload_sha256)) {
    throw Error(ErrorCode::kInvalidArgument, "upload hash must be 64 lower-case hex digits");
  }
  std::optional<Capture> out;
  Read([&](Connection& c) {
    const auto patient = PatientKey(c, patient_id);
    if (!patient) return;
    Stmt st(c.Prepare(kFindCaptureByUpload));
    st->bind(1, *patient);
    st->bind(2, upload_sha256);
    if (st->executeStep()) out = ReadCapture(*st);
  });
  return out;
}

// --- work queue ---
std::optional<WorkItem> SqliteRepository::ClaimWork(const std::string& worker, TimeMs lease_ms) {
  ValidateActor(worker);
  CheckLeaseLength(lease_ms);
  std::optional<WorkItem> out;
  Write([&](Connection& c) {
    const TimeMs now = Now();
    for (;;) {
      std::int64_t id = 0;
      int attempts = 0;
      for (const char* sql : {kNextQueued, kNextExpired}) {
        Stmt st(c.Prepare(sql));
        st->bind(1, now);
        if (st->executeStep()) {
          id = st->getColumn(0).getInt64();
          attempts = st->getColumn(1).getInt();
          break;
        }
      }
      if (id == 0) return;
      if (attempts >= options_.max_attempts) {
        // A capture whose processing keeps killing the worker must not loop forever.
        Stmt st(c.Prepare(kGiveUp));
        st->bind(1, "gave up after " + std::to_string(attempts) + " attempts");
        st->bind(2, id);
        st->exec();
        continue;
      }
      Stmt st(c.Prepare(kClaim));
      st->bind(1, worker);
      st->bind(2, now + lease_ms);
      st->bind(3, id);
      st->exec();
      out = WorkItem{*LoadCapture(c, id), now + lease_ms};
      return;
    }
  });
  return out;
}

void SqliteRepository::CompleteWork(std::int64_t capture_id, const std::string& worker) {
  ValidateActor(worker);
  Write([&](Connection& c) {
    CheckLease(c, capture_id, worker);
    Stmt st(c.Prepare(kComplete));
    st->bind(1, capture_id);
    st->exec();
  });
}

CaptureStatus SqliteRepository::FailWork(std::int64_t capture_id, const std::string& worker,
                                         const std::string& error, bool retryable) {
  ValidateActor(worker);
  const std::string message = SanitiseError(error);
  CaptureStatus status = CaptureStatus::kFailed;
  Write([&](Connection& c) {
    const int attempts = CheckLease(c, capture_id, worker);
    if (retryable && attempts < options_.max_attempts) {
      TimeMs delay = options_.retry_base_ms;
      for (int i = 1; i < attempts && delay < options_.retry_max_ms; ++i) delay *= 2;
      delay = std::min(delay, options_.retry_max_ms);
      Stmt st(c.Prepare(kRetry));
      st->bind(1, Now() + delay);
      st->bind(2, message);
      st->bind(3, capture_id);
      st->exec();
      status = CaptureStatus::kQueued;
    } else {
      Stmt st(c.Prepare(kGiveUp));
      st->bind(1, message);
      st->bind(2, capture_id);
      st->exec();
      status = CaptureStatus::kFailed;
    }
  });
  return status;
}

void SqliteRepository::ReleaseWork(std::int64_t capture_id, const std::string& worker,
                                   const std::string& error, TimeMs delay_ms) {
  ValidateActor(worker);
  if (delay_ms < 0 || delay_ms > TimeMs{24} * 3600 * 1000) {
    throw Error(ErrorCode::kInvalidArgument, "release delay must be 0 .. 24 h");
  }
  const std::string message = SanitiseError(error);
  Write([&](Connection& c) {
    CheckLease(c, capture_id, worker);
    Stmt st(c.Prepare(kRelease));
    st->bind(1, Now() + delay_ms);
    st->bind(2, message);
    st->bind(3, capture_id);
    st->exec();
  });
}

int SqliteRepository::RequeueProcessed(const std::vector<std::int64_t>& capture_ids,
                                       const std::string& reason, const std::string& actor) {
  ValidateActor(actor);
  int count = 0;
  Write([&](Connection& c) {
    count = 0;
    const TimeMs now = Now();
    for (const std::int64_t id : capture_ids) {
      Stmt st(c.Prepare(kRequeueProcessed));
      st->bind(1, now);
      st->bind(2, id);
      if (st->exec() == 0) continue;  // not processed (queued, in progress, failed or unknown)
      ++count;
      Audit(c, actor, "capture.requeue", "capture:" + std::to_string(id), "", "",
            nlohmann::json{{"reason", reason}}.dump());
    }
  });
  return count;
}

bool SqliteRepository::LeaseProcessed(std::int64_t capture_id, const std::string& worker,
                                      TimeMs lease_ms, const std::string& reason) {
  ValidateActor(worker);
  CheckLeaseLength(lease_ms);
  bool leased = false;
  Write([&](Connection& c) {
    Stmt st(c.Prepare(kLeaseProcessed));
    st->bind(1, worker);
    st->bind(2, Now() + lease_ms);
    st->bind(3, capture_id);
    leased = st->exec() > 0;
    if (!leased) return;
    Audit(c, worker, "capture.lease", "capture:" + std::to_string(capture_id), "", "",
          nlohmann::json{{"reason", reason}}.dump());
  });
  return leased;
}

TimeMs SqliteRepository::RenewLease(std::int64_t capture_id, const std::string& worker,
                                    TimeMs lease_ms) {
  ValidateActor(worker);
  CheckLeaseLength(lease_ms);
  TimeMs expiry = 0;
  Write([&](Connection& c) {
    // Still the holder even past the expiry, as long as no claim took the capture over.
    expiry = Now() + lease_ms;
    Stmt st(c.Prepare(kRenew));
    st->bind(1, expiry);
    st->bind(2, capture_id);
    st->bind(3, worker);
    if (st->exec() == 0) CheckLease(c, capture_id, worker);  // throws kNotFound / kConflict
  });
  return expiry;
}

// One process owns the data directory (its lock), so every capture in processing is this
// directory's earlier process's: all go back, whatever their owner.
int SqliteRepository::RequeueInterrupted(const std::string& /*own_worker_prefix*/) {
  int count = 0;
  Write([&](Connection& c) {
    Stmt st(c.Prepare(kRequeue));
    st->bind(1, Now());
    count = st->exec();
  });
  return count;
}

QueueCounts SqliteRepository::CountQueue() {
  QueueCounts counts;
  Read([&](Connection& c) {
    counts = {};
    Stmt st(c.Prepare(kCountQueue));
    while (st->executeStep()) {
      const std::int64_t n = st->getColumn(1).getInt64();
      switch (ParseCaptureStatus(st->getColumn(0).getString())) {
        case CaptureStatus::kQueued:
          counts.queued = n;
          break;
        case CaptureStatus::kProcessing:
          counts.processing = n;
          break;
        case CaptureStatus::kProcessed:
          counts.processed = n;
          break;
        case CaptureStatus::kFailed:
          counts.failed = n;
          break;
      }
    }
  });
  return counts;
}

std::optional<std::int64_t> SqliteRepository::PatientKey(Connection& c,
                                                         const std::string& patient_id) {
  Stmt st(c.Prepare(kFindPatientKey));
  st->bind(1, patient_id);
  if (!st->executeStep()) return std::nullopt;
  return st->getColumn(0).getInt64();
}

std::int64_t SqliteRepository::RequirePatient(Connection& c, const std::string& patient_id) {
  const auto key = PatientKey(c, patient_id);
  if (!key) throw Error(ErrorCode::kNotFound, "unknown patient " + patient_id);
  return *key;
}

// Returns the capture's patient key.
std::int64_t SqliteRepository::RequireCapture(Connection& c, std::int64_t capture_id) {
  Stmt st(c.Prepare(kCaptureExists));
  st->bind(1, capture_id);
  if (!st->executeStep()) {
    throw Error(ErrorCode::kNotFound, "unknown capture " + std::to_string(capture_id));
  }
  return st->getColumn(0).getInt64();
}

std::optional<Capture> SqliteRepository::LoadCapture(Connection& c, std::int64_t capture_id) {
  Stmt st(c.Prepare(kFindCapture));
  st->bind(1, capture_id);
  if (!st->executeStep()) return std::nullopt;
  return ReadCapture(*st);
}

// Returns the attempts so far. The caller must hold the lease of a capture being processed.
int SqliteRepository::CheckLease(Connection& c, std::int64_t capture_id,
                                 const std::string& worker) {
  Stmt st(c.Prepare(kLease));
  st->bind(1, capture_id);
  if (!st->executeStep()) {
    throw Error(ErrorCode::kNotFound, "unknown capture " + std::to_string(capture_id));
  }
  if (st->getColumn(0).getString() != "processing" || st->getColumn(1).getString() != worker) {
    throw Error(ErrorCode::kConflict, "capture " + std::to_string(capture_id) +
                                          " is not leased to " + worker +
                                          " (the lease expired or was never taken)");
  }
  return st->getColumn(2).getInt();
}

}  // namespace detail
}  // namespace skintrack::storage
