// PgRepository: patients, captures and the work queue (leases with FOR NO KEY UPDATE SKIP
// LOCKED, so that several nodes claim different captures without waiting for each other).
#include <algorithm>
#include <nlohmann/json.hpp>

#include "pg_repository.h"
#include "skintrack/storage/sha256.h"

namespace skintrack::storage {
namespace detail {
namespace {

constexpr char kPatientCols[] =
    "SELECT pseudonym, fitzpatrick, age_band, attributes_json, created_at FROM patients ";

Patient ReadPatient(const PgResult& r, int row) {
  Patient p;
  p.info.id = r.Text(row, 0);
  if (!r.IsNull(row, 1)) p.info.fitzpatrick = static_cast<int>(r.Int(row, 1));
  p.info.age_band = r.Text(row, 2);
  p.info.attributes_json = r.Text(row, 3);
  p.created_at = r.Int(row, 4);
  return p;
}

// Worker error messages come from anywhere: keep them printable and bounded (as SQLite's).
// PostgreSQL TEXT also refuses NUL bytes, which this replaces too.
std::string SanitiseError(const std::string& error) {
  std::string out;
  for (char c : error.substr(0, kMaxTextLength)) {
    const auto u = static_cast<unsigned char>(c);
    out.push_back((u < 0x20 && c != '\n' && c != '\t') || u == 0x7f ? '?' : c);
  }
  return out;
}

void CheckBlob(const BlobRef& blob) {
  if (!IsSha256Hex(blob.sha256) || blob.size <= 0) {
    throw Error(ErrorCode::kInvalidArgument, "invalid blob reference");
  }
}

// The oldest due queued capture, else the oldest expired lease: locked, skipping the rows another
// node's claim holds right now (that node takes them).
constexpr char kNextQueued[] =
    "SELECT id, attempts FROM captures WHERE status = 'queued' AND next_attempt_at <= $1 "
    "ORDER BY next_attempt_at, id LIMIT 1 FOR NO KEY UPDATE SKIP LOCKED";
constexpr char kNextExpired[] =
    "SELECT id, attempts FROM captures WHERE status = 'processing' AND lease_expires_at < $1 "
    "ORDER BY lease_expires_at, id LIMIT 1 FOR NO KEY UPDATE SKIP LOCKED";
constexpr char kGiveUp[] =
    "UPDATE captures SET status = 'failed', lease_owner = NULL, lease_expires_at = NULL, "
    "last_error = $1 WHERE id = $2";

}  // namespace

// --- patients ---
Patient PgRepository::CreatePatient(const PatientInfo& info, const std::string& actor) {
  info.Check();
  ValidateActor(actor);
  Write([&](PgConnection& c) {
    if (PatientKey(c, info.id)) {
      throw Error(ErrorCode::kAlreadyExists, "patient " + info.id + " already exists");
    }
    c.Exec(
        "INSERT INTO patients (pseudonym, fitzpatrick, age_band, attributes_json, created_at) "
        "VALUES ($1, $2, $3, $4, $5)",
        Params()
            .Add(info.id)
            .Add(info.fitzpatrick)
            .Add(info.age_band)
            .Add(info.attributes_json)
            .Add(Now()));
    Audit(c, actor, "patient.create", "patient:" + info.id, "", "", "{}");
  });
  return *FindPatient(info.id);
}

std::optional<Patient> PgRepository::FindPatient(const std::string& patient_id) {
  ValidateId(patient_id, "patient id");
  std::optional<Patient> out;
  Read([&](PgConnection& c) {
    const PgResult r =
        c.Exec(std::string(kPatientCols) + "WHERE pseudonym = $1", Params().Add(patient_id));
    out.reset();
    if (r.rows() > 0) out = ReadPatient(r, 0);
  });
  return out;
}

std::vector<Patient> PgRepository::ListPatients() {
  std::vector<Patient> out;
  Read([&](PgConnection& c) {
    // COLLATE "C": byte order, as SQLite's default BINARY collation sorts.
    const PgResult r = c.Exec(std::string(kPatientCols) + "ORDER BY pseudonym COLLATE \"C\"");
    out.clear();
    for (int i = 0; i < r.rows(); ++i) out.push_back(ReadPatient(r, i));
  });
  return out;
}

// --- captures ---
IngestResult PgRepository::InsertCapture(const NewCapture& capture, const BlobRef& blob,
                                         const std::string& actor) {
  capture.Check();
  CheckBlob(blob);
  ValidateActor(actor);
  const std::int64_t site = SiteKey(capture.site);
  IngestResult out;
  Write([&](PgConnection& c) {
    // FOR KEY SHARE: an erasure of this patient waits for this insert (or this one sees none).
    const std::int64_t patient = RequirePatient(c, capture.patient_id, " FOR KEY SHARE");
    // A concurrent insert of the same upload or bytes makes this transaction's insert fail on
    // the unique index; the retry then finds that capture here.
    if (!capture.upload_sha256.empty()) {
      const PgResult r = c.Exec("SELECT " PG_CAPTURE_COLS PG_CAPTURE_FROM
                                "WHERE c.patient_id = $1 AND c.upload_sha256 = $2",
                                Params().Add(patient).Add(capture.upload_sha256));
      if (r.rows() > 0) {
        out = {ReadPgCapture(r, 0), false};
        return;
      }
    }
    {
      const PgResult r = c.Exec("SELECT " PG_CAPTURE_COLS PG_CAPTURE_FROM
                                "WHERE c.patient_id = $1 AND c.site_id = $2 AND "
                                "c.blob_sha256 = $3",
                                Params().Add(patient).Add(site).Add(blob.sha256));
      if (r.rows() > 0) {
        out = {ReadPgCapture(r, 0), false};
        return;
      }
    }
    const TimeMs now = Now();
    std::optional<std::int64_t> visit;
    if (!capture.visit.empty()) {
      // ON CONFLICT DO NOTHING waits for a concurrent insert of the same visit, then the SELECT
      // (a new statement, a new READ COMMITTED snapshot) sees its row.
      c.Exec(
          "INSERT INTO visits (patient_id, label, created_at) VALUES ($1, $2, $3) "
          "ON CONFLICT (patient_id, label) DO NOTHING",
          Params().Add(patient).Add(capture.visit).Add(now));
      const PgResult r = c.Exec("SELECT id FROM visits WHERE patient_id = $1 AND label = $2",
                                Params().Add(patient).Add(capture.visit));
      if (r.rows() == 0) throw Error(ErrorCode::kInternal, "visit row vanished");
      visit = r.Int(0, 0);
    }
    std::optional<std::string> upload;
    if (!capture.upload_sha256.empty()) upload = capture.upload_sha256;
    const PgResult inserted = c.Exec(
        "INSERT INTO captures (patient_id, site_id, condition, captured_at, received_at, device, "
        "visit_id, media_type, blob_sha256, byte_size, width, height, status, next_attempt_at, "
        "upload_sha256, orientation) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, "
        "'queued', $13, $14, $15) RETURNING id",
        Params()
            .Add(patient)
            .Add(site)
            .Add(ConditionName(capture.condition))
            .Add(capture.captured_at)
            .Add(now)
            .Add(capture.device)
            .Add(visit)
            .Add(capture.media_type)
            .Add(blob.sha256)
            .Add(blob.size)
            .Add(capture.width)
            .Add(capture.height)
            .Add(QueueNow(c))
            .Add(upload)
            .Add(capture.orientation));
    const std::int64_t id = inserted.Int(0, 0);
    out = {*LoadCapture(c, id), true};
    // Last: the audit order lock is held from here to the commit (PgRepository::Audit).
    Audit(c, actor, "capture.ingest", "capture:" + std::to_string(id), "", "blob:" + blob.sha256,
          nlohmann::json{{"patient", capture.patient_id}, {"site", capture.site}}.dump());
  });
  return out;
}

std::optional<Capture> PgRepository::FindCapture(std::int64_t capture_id) {
  std::optional<Capture> out;
  Read([&](PgConnection& c) { out = LoadCapture(c, capture_id); });
  return out;
}

std::optional<Capture> PgRepository::FindCaptureByUpload(const std::string& patient_id,
                                                         const std::string& upload_sha256) {
  ValidateId(patient_id, "patient id");
  if (!IsSha256Hex(upload_sha256)) {
    throw Error(ErrorCode::kInvalidArgument, "upload hash must be 64 lower-case hex digits");
  }
  std::optional<Capture> out;
  Read([&](PgConnection& c) {
    out.reset();
    const PgResult r = c.Exec("SELECT " PG_CAPTURE_COLS PG_CAPTURE_FROM
                              "WHERE p.pseudonym = $1 AND c.upload_sha256 = $2",
                              Params().Add(patient_id).Add(upload_sha256));
    if (r.rows() > 0) out = ReadPgCapture(r, 0);
  });
  return out;
}

// --- work queue ---
std::optional<WorkItem> PgRepository::ClaimWork(const std::string& worker, TimeMs lease_ms) {
  ValidateActor(worker);
  CheckLeaseLength(lease_ms);
  std::optional<WorkItem> out;
  Write([&](PgConnection& c) {
    out.reset();
    const TimeMs now = QueueNow(c);
    for (;;) {
      std::int64_t id = 0;
      int attempts = 0;
      for (const char* sql : {kNextQueued, kNextExpired}) {
        const PgResult r = c.Exec(sql, Params().Add(now));
        if (r.rows() > 0) {
          id = r.Int(0, 0);
          attempts = static_cast<int>(r.Int(0, 1));
          break;
        }
      }
      if (id == 0) return;
      if (attempts >= options_.max_attempts) {
        // A capture whose processing keeps killing its worker must not loop forever.
        c.Exec(kGiveUp,
               Params().Add("gave up after " + std::to_string(attempts) + " attempts").Add(id));
        continue;
      }
      c.Exec(
          "UPDATE captures SET status = 'processing', attempts = attempts + 1, lease_owner = $1, "
          "lease_expires_at = $2 WHERE id = $3",
          Params().Add(worker).Add(now + lease_ms).Add(id));
      out = WorkItem{*LoadCapture(c, id), now + lease_ms};
      return;
    }
  });
  return out;
}

void PgRepository::CompleteWork(std::int64_t capture_id, const std::string& worker) {
  ValidateActor(worker);
  Write([&](PgConnection& c) {
    CheckLease(c, capture_id, worker);
    c.Exec(
        "UPDATE captures SET status = 'processed', lease_owner = NULL, lease_expires_at = NULL, "
        "last_error = '' WHERE id = $1",
        Params().Add(capture_id));
  });
}

CaptureStatus PgRepository::FailWork(std::int64_t capture_id, const std::string& worker,
                                     const std::string& error, bool retryable) {
  ValidateActor(worker);
  const std::string message = SanitiseError(error);
  CaptureStatus status = CaptureStatus::kFailed;
  Write([&](PgConnection& c) {
    const int attempts = CheckLease(c, capture_id, worker);
    if (retryable && attempts < options_.max_attempts) {
      TimeMs delay = options_.retry_base_ms;
      for (int i = 1; i < attempts && delay < options_.retry_max_ms; ++i) delay *= 2;
      delay = std::min(delay, options_.retry_max_ms);
      c.Exec(
          "UPDATE captures SET status = 'queued', lease_owner = NULL, lease_expires_at = NULL, "
          "next_attempt_at = $1, last_error = $2 WHERE id = $3",
          Params().Add(QueueNow(c) + delay).Add(message).Add(capture_id));
      status = CaptureStatus::kQueued;
    } else {
      c.Exec(kGiveUp, Params().Add(message).Add(capture_id));
      status = CaptureStatus::kFailed;
    }
  });
  return status;
}

void PgRepository::ReleaseWork(std::int64_t capture_id, const std::string& worker,
                               const std::string& error, TimeMs delay_ms) {
  ValidateActor(worker);
  if (delay_ms < 0 || delay_ms > TimeMs{24} * 3600 * 1000) {
    throw Error(ErrorCode::kInvalidArgument, "release delay must be 0 .. 24 h");
  }
  const std::string message = SanitiseError(error);
  Write([&](PgConnection& c) {
    CheckLease(c, capture_id, worker);
    // The claim counted an attempt; a release gives it back.
    c.Exec(
        "UPDATE captures SET status = 'queued', attempts = GREATEST(attempts - 1, 0), "
        "lease_owner = NULL, lease_expires_at = NULL, next_attempt_at = $1, last_error = $2 "
        "WHERE id = $3",
        Params().Add(QueueNow(c) + delay_ms).Add(message).Add(capture_id));
  });
}

bool PgRepository::LeaseProcessed(std::int64_t capture_id, const std::string& worker,
                                  TimeMs lease_ms, const std::string& reason) {
  ValidateActor(worker);
  CheckLeaseLength(lease_ms);
  bool leased = false;
  Write([&](PgConnection& c) {
    // The WHERE is re-checked on the locked row: a capture claimed or requeued meanwhile is left
    // alone. The audit entry after the row lock (PgRepository::Audit).
    const PgResult r = c.Exec(
        "UPDATE captures SET status = 'processing', attempts = 0, lease_owner = $1, "
        "lease_expires_at = $2, last_error = '' WHERE id = $3 AND status = 'processed'",
        Params().Add(worker).Add(QueueNow(c) + lease_ms).Add(capture_id));
    leased = r.affected() > 0;
    if (!leased) return;
    Audit(c, worker, "capture.lease", "capture:" + std::to_string(capture_id), "", "",
          nlohmann::json{{"reason", reason}}.dump());
  });
  return leased;
}

TimeMs PgRepository::RenewLease(std::int64_t capture_id, const std::string& worker,
                                TimeMs lease_ms) {
  ValidateActor(worker);
  CheckLeaseLength(lease_ms);
  TimeMs expiry = 0;
  Write([&](PgConnection& c) {
    // The UPDATE locks the row: a claim of the expired lease either committed before (then the
    // owner differs and nothing changes) or waits and then sees a lease that has not expired.
    // Still the holder past the expiry, as long as no claim took the capture over.
    expiry = QueueNow(c) + lease_ms;
    const PgResult r = c.Exec(
        "UPDATE captures SET lease_expires_at = $1 WHERE id = $2 AND status = 'processing' AND "
        "lease_owner = $3",
        Params().Add(expiry).Add(capture_id).Add(worker));
    if (r.affected() == 0) CheckLease(c, capture_id, worker);  // throws kNotFound / kConflict
  });
  return expiry;
}

int PgRepository::RequeueProcessed(const std::vector<std::int64_t>& capture_ids,
                                   const std::string& reason, const std::string& actor) {
  ValidateActor(actor);
  int count = 0;
  Write([&](PgConnection& c) {
    const TimeMs now = QueueNow(c);
    std::vector<std::int64_t> requeued;
    for (const std::int64_t id : capture_ids) {
      // The WHERE is re-checked on the locked row: a capture claimed meanwhile is left alone.
      const PgResult r = c.Exec(
          "UPDATE captures SET status = 'queued', attempts = 0, lease_owner = NULL, "
          "lease_expires_at = NULL, next_attempt_at = $1, last_error = '' "
          "WHERE id = $2 AND status = 'processed'",
          Params().Add(now).Add(id));
      if (r.affected() > 0) requeued.push_back(id);
    }
    // The audit entries after every row lock: holding the audit order lock while waiting for a
    // capture row that another audited write holds would be a deadlock (PgRepository::Audit).
    for (const std::int64_t id : requeued) {
      Audit(c, actor, "capture.requeue", "capture:" + std::to_string(id), "", "",
            nlohmann::json{{"reason", reason}}.dump());
    }
    count = static_cast<int>(requeued.size());
  });
  return count;
}

// Several nodes share the queue, and a node's start says nothing about the others: only this
// node's own earlier leases (its workers' id prefix; the data directory lock makes its previous
// process dead) and leases that have run out by the database clock go back. A live node's lease
// is left to its heartbeat; a dead other node's capture is taken over once its lease expires.
int PgRepository::RequeueInterrupted(const std::string& own_worker_prefix) {
  int count = 0;
  Write([&](PgConnection& c) {
    const TimeMs now = QueueNow(c);
    // An empty prefix would match every owner: then only expiry counts.
    const PgResult r = c.Exec(
        "UPDATE captures SET status = 'queued', lease_owner = NULL, lease_expires_at = NULL, "
        "next_attempt_at = $1 WHERE status = 'processing' AND (lease_expires_at < $1 OR "
        "($2 <> '' AND left(lease_owner, length($2)) = $2))",
        Params().Add(now).Add(own_worker_prefix));
    count = static_cast<int>(r.affected());
  });
  return count;
}

QueueCounts PgRepository::CountQueue() {
  QueueCounts counts;
  Read([&](PgConnection& c) {
    counts = {};
    const PgResult r =
        c.Exec("SELECT status, SUM(n)::BIGINT FROM capture_status_counts GROUP BY status");
    for (int i = 0; i < r.rows(); ++i) {
      const std::int64_t n = r.Int(i, 1);
      switch (ParseCaptureStatus(r.Text(i, 0))) {
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

std::optional<std::int64_t> PgRepository::PatientKey(PgConnection& c, const std::string& patient_id,
                                                     const char* lock) {
  const PgResult r = c.Exec(std::string("SELECT id FROM patients WHERE pseudonym = $1") + lock,
                            Params().Add(patient_id));
  if (r.rows() == 0) return std::nullopt;
  return r.Int(0, 0);
}

std::int64_t PgRepository::RequirePatient(PgConnection& c, const std::string& patient_id,
                                          const char* lock) {
  const auto key = PatientKey(c, patient_id, lock);
  if (!key) throw Error(ErrorCode::kNotFound, "unknown patient " + patient_id);
  return *key;
}

std::int64_t PgRepository::RequireCapture(PgConnection& c, std::int64_t capture_id) {
  const PgResult r = c.Exec("SELECT patient_id FROM captures WHERE id = $1 FOR KEY SHARE",
                            Params().Add(capture_id));
  if (r.rows() == 0) {
    throw Error(ErrorCode::kNotFound, "unknown capture " + std::to_string(capture_id));
  }
  return r.Int(0, 0);
}

std::optional<Capture> PgRepository::LoadCapture(PgConnection& c, std::int64_t capture_id) {
  const PgResult r =
      c.Exec("SELECT " PG_CAPTURE_COLS PG_CAPTURE_FROM "WHERE c.id = $1", Params().Add(capture_id));
  if (r.rows() == 0) return std::nullopt;
  return ReadPgCapture(r, 0);
}

// Returns the attempts so far. The caller must hold the lease; the row stays locked until the
// caller's commit, so a concurrent claim of an expired lease cannot slip in between.
int PgRepository::CheckLease(PgConnection& c, std::int64_t capture_id, const std::string& worker) {
  const PgResult r = c.Exec(
      "SELECT status, COALESCE(lease_owner, ''), attempts FROM captures WHERE id = $1 "
      "FOR NO KEY UPDATE",
      Params().Add(capture_id));
  if (r.rows() == 0) {
    throw Error(ErrorCode::kNotFound, "unknown capture " + std::to_string(capture_id));
  }
  if (r.Text(0, 0) != "processing" || r.Text(0, 1) != worker) {
    throw Error(ErrorCode::kConflict, "capture " + std::to_string(capture_id) +
                                          " is not leased to " + worker +
                                          " (the lease expired or was never taken)");
  }
  return static_cast<int>(r.Int(0, 2));
}

}  // namespace detail
}  // namespace skintrack::storage
