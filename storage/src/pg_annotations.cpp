// PgRepository: annotations, their versions and assignments (docs/annotation.md). Every change
// appends, in one transaction with its audit entry; appends to one annotation are serialised by a
// lock on its row, so expected_version is checked against the latest committed version.
#include <nlohmann/json.hpp>

#include "annotation_rules.h"
#include "pg_repository.h"
#include "skintrack/storage/sha256.h"

namespace skintrack::storage {
namespace detail {
namespace {

using annotation::AnnotationState;

#define PG_ANNOTATION_VERSION_COLS                                                     \
  "v.id, v.annotation_id, n.capture_id, n.author, n.author_role, v.version, v.state, " \
  "v.decision, v.note, v.content_sha256, v.content_size, v.actor, v.created_at "       \
  "FROM annotation_versions v JOIN annotations n ON n.id = v.annotation_id "
#define PG_LATEST_VERSION_OF_N \
  "(SELECT MAX(v2.version) FROM annotation_versions v2 WHERE v2.annotation_id = n.id)"
#define PG_ASSIGNMENT_COLS \
  "SELECT capture_id, annotator, assigned_by, assigned_at FROM annotation_assignments "

AnnotationVersion ReadVersion(const PgResult& r, int row) {
  AnnotationVersion v;
  v.id = r.Int(row, 0);
  v.annotation_id = r.Int(row, 1);
  v.capture_id = r.Int(row, 2);
  v.author = r.Text(row, 3);
  v.author_role = ParseRole(r.Text(row, 4));
  v.version = static_cast<int>(r.Int(row, 5));
  v.state = annotation::ParseAnnotationState(r.Text(row, 6));
  if (!r.IsNull(row, 7)) v.decision = annotation::ParseReviewDecision(r.Text(row, 7));
  v.note = r.Text(row, 8);
  v.content.sha256 = r.Text(row, 9);
  v.content.size = r.Int(row, 10);
  v.actor = r.Text(row, 11);
  v.created_at = r.Int(row, 12);
  return v;
}

Assignment ReadAssignment(const PgResult& r, int row) {
  return Assignment{r.Int(row, 0), r.Text(row, 1), r.Text(row, 2), r.Int(row, 3)};
}

struct AnnotationHead {
  std::int64_t id = 0;
  int version = 0;
  std::int64_t version_id = 0;
};

// The annotation of (capture, author), locked until the commit, and its latest version.
std::optional<AnnotationHead> LockHead(PgConnection& c, std::int64_t capture_id,
                                       const std::string& author) {
  const PgResult n =
      c.Exec("SELECT id FROM annotations WHERE capture_id = $1 AND author = $2 FOR UPDATE",
             Params().Add(capture_id).Add(author));
  if (n.rows() == 0) return std::nullopt;
  // A new statement after the lock: READ COMMITTED sees a version committed while we waited.
  const PgResult v = c.Exec(
      "SELECT version, id FROM annotation_versions WHERE annotation_id = $1 ORDER BY version DESC "
      "LIMIT 1",
      Params().Add(n.Int(0, 0)));
  if (v.rows() == 0) throw Error(ErrorCode::kInternal, "annotation without a version");
  return AnnotationHead{n.Int(0, 0), static_cast<int>(v.Int(0, 0)), v.Int(0, 1)};
}

void CheckExpected(const std::optional<AnnotationHead>& head, const NewAnnotationVersion& v) {
  const int latest = head ? head->version : 0;
  if (v.expected_version == latest) return;
  if (!head) {
    throw Error(ErrorCode::kConflict, "the annotation of capture " + std::to_string(v.capture_id) +
                                          " by " + v.author + " does not exist (expected version " +
                                          std::to_string(v.expected_version) + ")");
  }
  throw Error(ErrorCode::kConflict, "annotation " + std::to_string(head->id) + " is at version " +
                                        std::to_string(latest) + ", not " +
                                        std::to_string(v.expected_version) +
                                        ": reload it and apply the change again");
}

}  // namespace

AnnotationVersion PgRepository::AppendAnnotationVersion(const NewAnnotationVersion& version,
                                                        const BlobRef& content,
                                                        const std::string& actor) {
  version.Check();
  if (!IsSha256Hex(content.sha256) || content.size <= 0) {
    throw Error(ErrorCode::kInvalidArgument, "invalid blob reference");
  }
  ValidateActor(actor);
  std::int64_t id = 0;
  Write([&](PgConnection& c) {
    RequireCapture(c, version.capture_id);
    const std::optional<AnnotationHead> head = LockHead(c, version.capture_id, version.author);
    CheckExpected(head, version);
    const TimeMs now = Now();
    std::int64_t annotation_id = 0;
    if (head) {
      annotation_id = head->id;
    } else {
      // Two concurrent first versions: UNIQUE (capture_id, author) refuses the second, whose
      // retry finds the annotation at version 1 and reports the conflict.
      const PgResult r = c.Exec(
          "INSERT INTO annotations (capture_id, author, author_role, created_at) "
          "VALUES ($1, $2, $3, $4) RETURNING id",
          Params()
              .Add(version.capture_id)
              .Add(version.author)
              .Add(RoleName(version.author_role))
              .Add(now));
      annotation_id = r.Int(0, 0);
    }
    const int number = (head ? head->version : 0) + 1;
    Params p;
    p.Add(annotation_id).Add(number).Add(annotation::AnnotationStateName(version.state));
    if (version.decision) {
      p.Add(annotation::ReviewDecisionName(*version.decision));
    } else {
      p.Null();
    }
    p.Add(version.note).Add(content.sha256).Add(content.size).Add(actor).Add(now);
    const PgResult r = c.Exec(
        "INSERT INTO annotation_versions (annotation_id, version, state, decision, note, "
        "content_sha256, content_size, actor, created_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, "
        "$9) RETURNING id",
        p);
    id = r.Int(0, 0);
    nlohmann::json details = {{"capture_id", version.capture_id},
                              {"author", version.author},
                              {"version", number},
                              {"state", annotation::AnnotationStateName(version.state)}};
    if (version.decision) details["decision"] = annotation::ReviewDecisionName(*version.decision);
    Audit(c, actor, AnnotationAuditAction(version.state),
          "annotation:" + std::to_string(annotation_id),
          head ? "annotation_version:" + std::to_string(head->version_id) : "",
          "annotation_version:" + std::to_string(id), details.dump());
  });
  std::optional<AnnotationVersion> stored = FindAnnotationVersion(id);
  if (!stored) throw Error(ErrorCode::kInternal, "appended annotation version not found");
  return *stored;
}

std::vector<AnnotationVersion> PgRepository::LatestAnnotations(std::int64_t capture_id) {
  std::vector<AnnotationVersion> out;
  Read([&](PgConnection& c) {
    out.clear();
    const PgResult r =
        c.Exec("SELECT " PG_ANNOTATION_VERSION_COLS
               "WHERE n.capture_id = $1 AND v.version = " PG_LATEST_VERSION_OF_N " ORDER BY n.id",
               Params().Add(capture_id));
    for (int i = 0; i < r.rows(); ++i) out.push_back(ReadVersion(r, i));
  });
  return out;
}

std::vector<AnnotationVersion> PgRepository::AnnotationHistory(std::int64_t annotation_id) {
  std::vector<AnnotationVersion> out;
  Read([&](PgConnection& c) {
    out.clear();
    const PgResult r =
        c.Exec("SELECT " PG_ANNOTATION_VERSION_COLS "WHERE v.annotation_id = $1 ORDER BY v.version",
               Params().Add(annotation_id));
    for (int i = 0; i < r.rows(); ++i) out.push_back(ReadVersion(r, i));
  });
  return out;
}

std::optional<AnnotationVersion> PgRepository::FindAnnotation(std::int64_t capture_id,
                                                              const std::string& author) {
  ValidateActor(author);
  std::optional<AnnotationVersion> out;
  Read([&](PgConnection& c) {
    out.reset();
    const PgResult r = c.Exec("SELECT " PG_ANNOTATION_VERSION_COLS
                              "WHERE n.capture_id = $1 AND n.author = $2 "
                              "ORDER BY v.version DESC LIMIT 1",
                              Params().Add(capture_id).Add(author));
    if (r.rows() > 0) out = ReadVersion(r, 0);
  });
  return out;
}

std::optional<AnnotationVersion> PgRepository::FindAnnotationVersion(std::int64_t version_id) {
  std::optional<AnnotationVersion> out;
  Read([&](PgConnection& c) {
    out.reset();
    const PgResult r =
        c.Exec("SELECT " PG_ANNOTATION_VERSION_COLS "WHERE v.id = $1", Params().Add(version_id));
    if (r.rows() > 0) out = ReadVersion(r, 0);
  });
  return out;
}

std::vector<std::int64_t> PgRepository::AnnotatedCaptures(std::int64_t after_capture_id,
                                                          int limit) {
  CheckListLimit(limit, "annotated captures");
  std::vector<std::int64_t> out;
  Read([&](PgConnection& c) {
    out.clear();
    const PgResult r = c.Exec(
        "SELECT DISTINCT capture_id FROM annotations WHERE capture_id > $1 ORDER BY capture_id "
        "LIMIT $2",
        Params().Add(after_capture_id).Add(limit));
    for (int i = 0; i < r.rows(); ++i) out.push_back(r.Int(i, 0));
  });
  return out;
}

bool PgRepository::AssignCapture(const NewAssignment& assignment, const std::string& actor) {
  assignment.Check();
  ValidateActor(actor);
  bool created = false;
  Write([&](PgConnection& c) {
    RequireCapture(c, assignment.capture_id);
    // ON CONFLICT DO NOTHING: of two concurrent assignments one inserts, the other waits for it
    // and inserts nothing (and writes no audit entry).
    const PgResult r = c.Exec(
        "INSERT INTO annotation_assignments (capture_id, annotator, assigned_by, assigned_at) "
        "VALUES ($1, $2, $3, $4) ON CONFLICT (capture_id, annotator) DO NOTHING",
        Params().Add(assignment.capture_id).Add(assignment.annotator).Add(actor).Add(Now()));
    created = r.affected() == 1;
    if (!created) return;
    Audit(c, actor, "annotation.assign", "capture:" + std::to_string(assignment.capture_id), "", "",
          nlohmann::json{{"annotator", assignment.annotator}}.dump());
  });
  return created;
}

std::vector<Assignment> PgRepository::ListAssignments(std::optional<std::int64_t> capture_id,
                                                      const std::string& annotator) {
  if (!annotator.empty()) ValidateActor(annotator);
  if (!capture_id && annotator.empty()) {
    throw Error(ErrorCode::kInvalidArgument, "list assignments of a capture or of an annotator");
  }
  std::string sql;
  Params p;
  if (!capture_id) {
    sql = PG_ASSIGNMENT_COLS "WHERE annotator = $1 ORDER BY assigned_at, capture_id";
    p.Add(annotator);
  } else if (annotator.empty()) {
    sql = PG_ASSIGNMENT_COLS "WHERE capture_id = $1 ORDER BY assigned_at, annotator COLLATE \"C\"";
    p.Add(*capture_id);
  } else {
    sql = PG_ASSIGNMENT_COLS "WHERE capture_id = $1 AND annotator = $2";
    p.Add(*capture_id).Add(annotator);
  }
  std::vector<Assignment> out;
  Read([&](PgConnection& c) {
    out.clear();
    const PgResult r = c.Exec(sql, p);
    for (int i = 0; i < r.rows(); ++i) out.push_back(ReadAssignment(r, i));
  });
  return out;
}

std::vector<std::int64_t> PgRepository::AnnotationQueue(const std::string& annotator, int limit) {
  ValidateActor(annotator);
  CheckListLimit(limit, "annotation queue");
  std::vector<std::int64_t> out;
  Read([&](PgConnection& c) {
    out.clear();
    const PgResult r = c.Exec(
        "SELECT s.capture_id FROM annotation_assignments s "
        "LEFT JOIN annotations n ON n.capture_id = s.capture_id AND n.author = s.annotator "
        "LEFT JOIN annotation_versions v ON v.annotation_id = n.id AND "
        "v.version = " PG_LATEST_VERSION_OF_N
        " WHERE s.annotator = $1 AND (n.id IS NULL OR v.state = 'draft' OR "
        "(v.state = 'reviewed' AND v.decision = 'rejected')) "
        "ORDER BY s.assigned_at, s.capture_id LIMIT $2",
        Params().Add(annotator).Add(limit));
    for (int i = 0; i < r.rows(); ++i) out.push_back(r.Int(i, 0));
  });
  return out;
}

std::vector<std::int64_t> PgRepository::ReviewQueue(int limit) {
  CheckListLimit(limit, "review queue");
  std::vector<std::int64_t> out;
  Read([&](PgConnection& c) {
    out.clear();
    // As SQLite's: captures with an annotation whose latest version is submitted, by the oldest
    // such submission (its version's time; the version id breaks ties in insertion order).
    const PgResult r = c.Exec(
        "SELECT n.capture_id FROM annotations n "
        "JOIN annotation_versions v ON v.annotation_id = n.id AND "
        "v.version = " PG_LATEST_VERSION_OF_N
        " WHERE v.state = 'submitted' GROUP BY n.capture_id "
        "ORDER BY MIN(v.created_at), MIN(v.id) LIMIT $1",
        Params().Add(limit));
    for (int i = 0; i < r.rows(); ++i) out.push_back(r.Int(i, 0));
  });
  return out;
}

}  // namespace detail
}  // namespace skintrack::storage
