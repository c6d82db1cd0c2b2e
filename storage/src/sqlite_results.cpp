// SqliteRepository: results, assessments and the per-patient time series.
#include <nlohmann/json.hpp>
#include <unordered_map>

#include "skintrack/core/error.h"
#include "sqlite_repository.h"

namespace skintrack::storage {
namespace detail {

// --- results ---
Result SqliteRepository::AppendResult(const NewResult& result, const std::optional<BlobRef>& blob,
                                      const std::string& actor) {
  result.Check();
  if (blob) CheckBlob(*blob);
  ValidateActor(actor);
  std::int64_t id = 0;
  Write([&](Connection& c) {
    const std::int64_t patient = RequireCapture(c, result.capture_id);
    std::int64_t previous_id = 0;
    int version = 1;
    {
      Stmt st(c.Prepare(kLatestVersion));
      st->bind(1, result.capture_id);
      st->bind(2, ResultKindName(result.kind));
      st->bind(3, result.name);
      st->bind(4, patient);
      if (st->executeStep()) {
        previous_id = st->getColumn(0).getInt64();
        version = st->getColumn(1).getInt() + 1;
      }
    }
    {
      Stmt st(c.Prepare(kInsertResult));
      st->bind(1, result.capture_id);
      st->bind(2, ResultKindName(result.kind));
      st->bind(3, result.name);
      st->bind(4, version);
      st->bind(5, ResultSourceName(result.source));
      st->bind(6, result.algorithm);
      st->bind(7, result.algorithm_version);
      BindOptional(*st, 8, result.value);
      st->bind(9, result.payload_json);
      st->bind(10, result.inputs_json);
      st->bind(11, result.provenance_json);
      if (blob) {
        st->bind(12, blob->sha256);
        st->bind(13, blob->size);
      } else {
        st->bind(12);
        st->bind(13);
      }
      st->bind(14, actor);
      st->bind(15, Now());
      st->bind(16, patient);
      id = NextId(c, "results");
      st->bind(17, id);
      st->exec();
    }
    Audit(c, actor, "result.append",
          "capture:" + std::to_string(result.capture_id) + "/" + ResultKindName(result.kind) + "/" +
              result.name,
          previous_id ? "result:" + std::to_string(previous_id) : "",
          "result:" + std::to_string(id),
          nlohmann::json{{"version", version},
                         {"source", ResultSourceName(result.source)},
                         {"algorithm", result.algorithm + "@" + result.algorithm_version}}
              .dump());
  });
  return LoadResult(id);
}

std::vector<Result> SqliteRepository::ResultHistory(std::int64_t capture_id, ResultKind kind,
                                                    const std::string& name) {
  ValidateId(name, "result name");
  std::vector<Result> out;
  Read([&](Connection& c) {
    out.clear();
    Stmt st(c.Prepare(kResultHistory));
    st->bind(1, capture_id);
    st->bind(2, ResultKindName(kind));
    st->bind(3, name);
    while (st->executeStep()) out.push_back(ReadResult(*st));
  });
  return out;
}

std::vector<Result> SqliteRepository::LatestResults(std::int64_t capture_id) {
  std::vector<Result> out;
  Read([&](Connection& c) {
    out.clear();
    Stmt st(c.Prepare(kLatestResults));
    st->bind(1, capture_id);
    while (st->executeStep()) out.push_back(ReadResult(*st));
  });
  return out;
}

// --- assessments ---
Assessment SqliteRepository::AppendAssessment(const NewAssessment& assessment,
                                              const std::optional<BlobRef>& mask,
                                              const std::string& actor) {
  assessment.Check();
  if (mask) CheckBlob(*mask);
  ValidateActor(actor);
  std::int64_t id = 0;
  Write([&](Connection& c) {
    RequireCapture(c, assessment.capture_id);
    std::int64_t previous_id = 0;
    int version = 1;
    {
      Stmt st(c.Prepare(kLatestAssessment));
      st->bind(1, assessment.capture_id);
      if (st->executeStep()) {
        previous_id = st->getColumn(0).getInt64();
        version = st->getColumn(1).getInt() + 1;
      }
    }
    {
      Stmt st(c.Prepare(kInsertAssessment));
      st->bind(1, assessment.capture_id);
      st->bind(2, version);
      st->bind(3, assessment.grades_json);
      st->bind(4, assessment.note);
      if (mask) {
        st->bind(5, mask->sha256);
        st->bind(6, mask->size);
      } else {
        st->bind(5);
        st->bind(6);
      }
      st->bind(7, actor);
      st->bind(8, Now());
      id = NextId(c, "assessments");
      st->bind(9, id);
      st->exec();
    }
    Audit(c, actor, "assessment.append", "capture:" + std::to_string(assessment.capture_id),
          previous_id ? "assessment:" + std::to_string(previous_id) : "",
          "assessment:" + std::to_string(id), nlohmann::json{{"version", version}}.dump());
  });
  for (Assessment& a : AssessmentHistory(assessment.capture_id)) {
    if (a.id == id) return a;
  }
  throw Error(ErrorCode::kInternal, "appended assessment not found");
}

std::vector<Assessment> SqliteRepository::AssessmentHistory(std::int64_t capture_id) {
  std::vector<Assessment> out;
  Read([&](Connection& c) {
    out.clear();
    Stmt st(c.Prepare(kAssessmentCols));
    st->bind(1, capture_id);
    while (st->executeStep()) {
      Assessment a;
      a.id = st->getColumn(0).getInt64();
      a.capture_id = st->getColumn(1).getInt64();
      a.version = st->getColumn(2).getInt();
      a.grades_json = st->getColumn(3).getString();
      a.note = st->getColumn(4).getString();
      a.mask_sha256 = st->getColumn(5).getString();
      a.actor = st->getColumn(6).getString();
      a.created_at = st->getColumn(7).getInt64();
      out.push_back(std::move(a));
    }
  });
  return out;
}

// --- queries ---
std::vector<SeriesPoint> SqliteRepository::TimeSeries(const SeriesQuery& query) {
  query.Check();
  std::optional<std::int64_t> site;
  if (query.site) site = SiteKey(*query.site);
  std::vector<SeriesPoint> out;
  Read([&](Connection& c) {
    out.clear();
    const std::int64_t patient = RequirePatient(c, query.patient_id);
    ScanPatient(c, patient, query.patient_id, site, query.condition, query.from, query.to,
                [&](Capture&& capture) {
                  SeriesPoint point;
                  point.capture = std::move(capture);
                  out.push_back(std::move(point));
                });
    if (query.score_name.empty() || out.empty()) return;
    // One site is about a tenth of a patient's captures: look their scores up one by one
    // rather than scanning all of the patient's scores.
    if (query.site) {
      for (SeriesPoint& point : out) {
        Stmt st(c.Prepare(kCaptureScore));
        st->bind(1, patient);
        st->bind(2, point.capture.id);
        st->bind(3, query.score_name);
        st->bind(4, ResultKindName(query.score_kind));
        if (st->executeStep()) point.score = ReadResult(*st);
      }
      return;
    }
    std::unordered_map<std::int64_t, Result> scores =
        PatientScores(c, patient, query.score_kind, query.score_name);
    for (SeriesPoint& point : out) {
      auto it = scores.find(point.capture.id);
      if (it != scores.end()) point.score = std::move(it->second);
    }
  });
  return out;
}

// Reads an appended result back, for the fields the database assigned.
Result SqliteRepository::LoadResult(std::int64_t result_id) {
  std::optional<Result> out;
  Read([&](Connection& c) {
    Stmt st(c.Prepare(kFindResult));
    st->bind(1, result_id);
    if (st->executeStep()) out = ReadResult(*st);
  });
  if (!out) throw Error(ErrorCode::kInternal, "appended result not found");
  return *out;
}

// Latest version of result `kind`/`name` of each capture of the patient, by capture id.
std::unordered_map<std::int64_t, Result> SqliteRepository::PatientScores(Connection& c,
                                                                         std::int64_t patient,
                                                                         ResultKind kind,
                                                                         const std::string& name) {
  std::unordered_map<std::int64_t, Result> scores;
  Stmt st(c.Prepare(kPatientScores));
  st->bind(1, patient);
  st->bind(2, name);
  st->bind(3, ResultKindName(kind));
  while (st->executeStep()) {
    Result r = ReadResult(*st);
    const std::int64_t capture = r.capture_id;
    scores[capture] = std::move(r);  // key order: a later row is a later version
  }
  return scores;
}

// Calls `fn` for each capture of the patient matching the filters, oldest first.
void SqliteRepository::ScanPatient(Connection& c, std::int64_t patient,
                                   const std::string& patient_id, std::optional<std::int64_t> site,
                                   std::optional<Condition> condition, TimeMs from, TimeMs to,
                                   const std::function<void(Capture&&)>& fn) const {
  Stmt st(c.Prepare(kPatientCaptures));
  st->bind(1, patient);
  BindOptional(*st, 2, site);
  if (condition) {
    st->bind(3, ConditionName(*condition));
  } else {
    st->bind(3);
  }
  st->bind(4, from);
  st->bind(5, to);
  while (st->executeStep()) {
    Capture capture = ReadCapture(*st);  // columns 1 and 2 hold keys here: replace them
    capture.patient_id = patient_id;
    capture.site = SiteName(st->getColumn(2).getInt64());
    fn(std::move(capture));
  }
}

}  // namespace detail
}  // namespace skintrack::storage
