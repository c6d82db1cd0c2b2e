// PgRepository: results, assessments and the per-patient time series.
#include <nlohmann/json.hpp>
#include <unordered_map>

#include "pg_repository.h"
#include "skintrack/storage/sha256.h"

namespace skintrack::storage {
namespace detail {
namespace {

void CheckOptionalBlob(const std::optional<BlobRef>& blob) {
  if (blob && (!IsSha256Hex(blob->sha256) || blob->size <= 0)) {
    throw Error(ErrorCode::kInvalidArgument, "invalid blob reference");
  }
}

// Results are keyed (patient_id, capture_id, kind, name, version): reads by capture go through
// the capture's patient so that they use that key.
#define PG_PATIENT_OF_CAPTURE "(SELECT patient_id FROM captures WHERE id = $1)"

}  // namespace

// --- results ---
Result PgRepository::AppendResult(const NewResult& result, const std::optional<BlobRef>& blob,
                                  const std::string& actor) {
  result.Check();
  CheckOptionalBlob(blob);
  ValidateActor(actor);
  std::optional<Result> stored;
  Write([&](PgConnection& c) {
    const std::int64_t patient = RequireCapture(c, result.capture_id);
    std::int64_t previous_id = 0;
    int version = 1;
    {
      const PgResult r = c.Exec(
          "SELECT id, version FROM results WHERE patient_id = $1 AND capture_id = $2 AND "
          "kind = $3 AND name = $4 ORDER BY version DESC LIMIT 1",
          Params()
              .Add(patient)
              .Add(result.capture_id)
              .Add(ResultKindName(result.kind))
              .Add(result.name));
      if (r.rows() > 0) {
        previous_id = r.Int(0, 0);
        version = static_cast<int>(r.Int(0, 1)) + 1;
      }
    }
    // Two concurrent appends both computing this version: the primary key refuses the second,
    // whose transaction is retried and computes the next one.
    Params p;
    p.Add(patient)
        .Add(result.capture_id)
        .Add(ResultKindName(result.kind))
        .Add(result.name)
        .Add(version)
        .Add(ResultSourceName(result.source))
        .Add(result.algorithm)
        .Add(result.algorithm_version)
        .Add(result.value)
        .Add(result.payload_json)
        .Add(result.inputs_json)
        .Add(result.provenance_json);
    if (blob) {
      p.Add(blob->sha256).Add(blob->size);
    } else {
      p.Null().Null();
    }
    p.Add(actor).Add(Now());
    const PgResult r = c.Exec(
        "INSERT INTO results AS r (patient_id, capture_id, kind, name, version, source, "
        "algorithm, algorithm_version, value, payload_json, inputs_json, provenance_json, "
        "blob_sha256, blob_size, actor, created_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, "
        "$10, $11, $12, $13, $14, $15, $16) RETURNING " PG_RESULT_COLS,
        p);
    stored = ReadPgResult(r, 0);
    Audit(c, actor, "result.append",
          "capture:" + std::to_string(result.capture_id) + "/" + ResultKindName(result.kind) + "/" +
              result.name,
          previous_id ? "result:" + std::to_string(previous_id) : "",
          "result:" + std::to_string(stored->id),
          nlohmann::json{{"version", version},
                         {"source", ResultSourceName(result.source)},
                         {"algorithm", result.algorithm + "@" + result.algorithm_version}}
              .dump());
  });
  return *stored;
}

std::vector<Result> PgRepository::ResultHistory(std::int64_t capture_id, ResultKind kind,
                                                const std::string& name) {
  ValidateId(name, "result name");
  std::vector<Result> out;
  Read([&](PgConnection& c) {
    out.clear();
    const PgResult r = c.Exec("SELECT " PG_RESULT_COLS
                              " FROM results r WHERE r.patient_id = " PG_PATIENT_OF_CAPTURE
                              " AND r.capture_id = $1 AND r.kind = $2 AND r.name = $3 "
                              "ORDER BY r.version",
                              Params().Add(capture_id).Add(ResultKindName(kind)).Add(name));
    for (int i = 0; i < r.rows(); ++i) out.push_back(ReadPgResult(r, i));
  });
  return out;
}

std::vector<Result> PgRepository::LatestResults(std::int64_t capture_id) {
  std::vector<Result> out;
  Read([&](PgConnection& c) {
    out.clear();
    // DISTINCT ON keeps the first row of each (kind, name) in the ORDER BY: the latest version.
    // COLLATE "C": byte order, as SQLite sorts.
    const PgResult r =
        c.Exec("SELECT * FROM (SELECT DISTINCT ON (r.kind, r.name) " PG_RESULT_COLS
               " FROM results r WHERE r.patient_id = " PG_PATIENT_OF_CAPTURE
               " AND r.capture_id = $1 ORDER BY r.kind, r.name, r.version DESC) latest "
               "ORDER BY kind COLLATE \"C\", name COLLATE \"C\"",
               Params().Add(capture_id));
    for (int i = 0; i < r.rows(); ++i) out.push_back(ReadPgResult(r, i));
  });
  return out;
}

// --- assessments ---
Assessment PgRepository::AppendAssessment(const NewAssessment& assessment,
                                          const std::optional<BlobRef>& mask,
                                          const std::string& actor) {
  assessment.Check();
  CheckOptionalBlob(mask);
  ValidateActor(actor);
  Assessment out;
  Write([&](PgConnection& c) {
    RequireCapture(c, assessment.capture_id);
    std::int64_t previous_id = 0;
    int version = 1;
    {
      const PgResult r = c.Exec(
          "SELECT id, version FROM assessments WHERE capture_id = $1 ORDER BY version DESC "
          "LIMIT 1",
          Params().Add(assessment.capture_id));
      if (r.rows() > 0) {
        previous_id = r.Int(0, 0);
        version = static_cast<int>(r.Int(0, 1)) + 1;
      }
    }
    Params p;
    p.Add(assessment.capture_id).Add(version).Add(assessment.grades_json).Add(assessment.note);
    if (mask) {
      p.Add(mask->sha256).Add(mask->size);
    } else {
      p.Null().Null();
    }
    const TimeMs now = Now();
    p.Add(actor).Add(now);
    const PgResult r = c.Exec(
        "INSERT INTO assessments (capture_id, version, grades_json, note, mask_sha256, "
        "mask_size, actor, created_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8) RETURNING id",
        p);
    out.id = r.Int(0, 0);
    out.capture_id = assessment.capture_id;
    out.version = version;
    out.grades_json = assessment.grades_json;
    out.note = assessment.note;
    out.mask_sha256 = mask ? mask->sha256 : "";
    out.actor = actor;
    out.created_at = now;
    Audit(c, actor, "assessment.append", "capture:" + std::to_string(assessment.capture_id),
          previous_id ? "assessment:" + std::to_string(previous_id) : "",
          "assessment:" + std::to_string(out.id), nlohmann::json{{"version", version}}.dump());
  });
  return out;
}

std::vector<Assessment> PgRepository::AssessmentHistory(std::int64_t capture_id) {
  std::vector<Assessment> out;
  Read([&](PgConnection& c) {
    out.clear();
    const PgResult r = c.Exec(
        "SELECT id, capture_id, version, grades_json, note, COALESCE(mask_sha256, ''), actor, "
        "created_at FROM assessments WHERE capture_id = $1 ORDER BY version",
        Params().Add(capture_id));
    for (int i = 0; i < r.rows(); ++i) {
      Assessment a;
      a.id = r.Int(i, 0);
      a.capture_id = r.Int(i, 1);
      a.version = static_cast<int>(r.Int(i, 2));
      a.grades_json = r.Text(i, 3);
      a.note = r.Text(i, 4);
      a.mask_sha256 = r.Text(i, 5);
      a.actor = r.Text(i, 6);
      a.created_at = r.Int(i, 7);
      out.push_back(std::move(a));
    }
  });
  return out;
}

// --- queries ---
namespace {

// "{id,id,...}": the series' capture ids as a PostgreSQL array literal (text parameters).
std::string CaptureIdArray(const std::vector<SeriesPoint>& points) {
  std::string text = "{";
  for (const SeriesPoint& p : points) {
    if (text.size() > 1) text += ',';
    text += std::to_string(p.capture.id);
  }
  return text + "}";
}

}  // namespace

// Two statements in one snapshot: the patient's captures through the (patient_id, captured_at,
// id) index, and the latest version of the score of each of them (DISTINCT ON over the results'
// patient-first primary key), merged here.
std::vector<SeriesPoint> PgRepository::TimeSeries(const SeriesQuery& query) {
  query.Check();
  std::optional<std::int64_t> site;
  if (query.site) site = SiteKey(*query.site);
  std::optional<std::string> condition;
  if (query.condition) condition = ConditionName(*query.condition);
  std::vector<SeriesPoint> out;
  Read([&](PgConnection& c) {
    out.clear();
    const std::int64_t patient = RequirePatient(c, query.patient_id);
    const PgResult captures = c.Exec(
        "SELECT c.id, c.patient_id, c.site_id, c.condition, c.captured_at, c.received_at, "
        "c.device, COALESCE(v.label, ''), c.media_type, c.blob_sha256, c.byte_size, c.width, "
        "c.height, c.status, c.attempts, c.last_error, c.orientation FROM captures c LEFT JOIN "
        "visits v ON "
        "v.id = c.visit_id WHERE c.patient_id = $1 AND ($2::BIGINT IS NULL OR c.site_id = $2) "
        "AND ($3::TEXT IS NULL OR c.condition = $3) AND c.captured_at BETWEEN $4 AND $5 "
        "ORDER BY c.captured_at, c.id",
        Params().Add(patient).Add(site).Add(condition).Add(query.from).Add(query.to));
    for (int i = 0; i < captures.rows(); ++i) {
      SeriesPoint point;
      point.capture = ReadPgCapture(captures, i);  // columns 1 and 2 hold keys: replace them
      point.capture.patient_id = query.patient_id;
      point.capture.site = SiteName(captures.Int(i, 2));
      out.push_back(std::move(point));
    }
    if (query.score_name.empty() || out.empty()) return;
    // With a site (a tenth of a patient's captures, and what the pipeline asks for several
    // times per capture) only those captures' results: the primary key's (patient, capture,
    // kind, name) prefix per capture instead of every capture of the patient.
    std::optional<std::string> only;
    if (query.site) only = CaptureIdArray(out);
    const PgResult scores =
        c.Exec("SELECT DISTINCT ON (r.capture_id) " PG_RESULT_COLS
               " FROM results r WHERE r.patient_id = $1 AND r.kind = $3 AND r.name = $2 "
               "AND ($4::BIGINT[] IS NULL OR r.capture_id = ANY ($4::BIGINT[])) "
               "ORDER BY r.capture_id, r.version DESC",
               Params()
                   .Add(patient)
                   .Add(query.score_name)
                   .Add(std::string(ResultKindName(query.score_kind)))
                   .Add(only));
    std::unordered_map<std::int64_t, int> row_of;
    for (int i = 0; i < scores.rows(); ++i) row_of[scores.Int(i, 1)] = i;
    for (SeriesPoint& point : out) {
      auto it = row_of.find(point.capture.id);
      if (it != row_of.end()) point.score = ReadPgResult(scores, it->second);
    }
  });
  return out;
}

}  // namespace detail
}  // namespace skintrack::storage
