// SqliteRepository: annotations, their versions and assignments (migration 0008,
// docs/annotation.md). Every change appends: a version to an annotation, an assignment to a
// capture; each in one transaction with its audit entry.
#include <nlohmann/json.hpp>

#include "annotation_rules.h"
#include "skintrack/core/error.h"
#include "sqlite_repository.h"

namespace skintrack::storage {
namespace detail {
namespace {

using annotation::AnnotationState;

#define ANNOTATION_VERSION_COLS                                                        \
  "v.id, v.annotation_id, n.capture_id, n.author, n.author_role, v.version, v.state, " \
  "v.decision, v.note, v.content_sha256, v.content_size, v.actor, v.created_at "       \
  "FROM annotation_versions v JOIN annotations n ON n.id = v.annotation_id "
// The latest version of annotation n, through the UNIQUE (annotation_id, version) index.
#define LATEST_VERSION_OF_N \
  "(SELECT MAX(v2.version) FROM annotation_versions v2 WHERE v2.annotation_id = n.id)"

constexpr char kFindAnnotationHead[] =
    "SELECT n.id, v.version, v.id FROM annotations n JOIN annotation_versions v ON "
    "v.annotation_id = n.id WHERE n.capture_id = ? AND n.author = ? ORDER BY v.version DESC "
    "LIMIT 1";
constexpr char kInsertAnnotation[] =
    "INSERT INTO annotations (id, capture_id, author, author_role, created_at) "
    "VALUES (?, ?, ?, ?, ?)";
constexpr char kInsertAnnotationVersion[] =
    "INSERT INTO annotation_versions (id, annotation_id, version, state, decision, note, "
    "content_sha256, content_size, actor, created_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)";
constexpr char kLatestAnnotations[] =
    "SELECT " ANNOTATION_VERSION_COLS "WHERE n.capture_id = ? AND v.version = " LATEST_VERSION_OF_N
    " ORDER BY n.id";
constexpr char kAnnotationHistory[] =
    "SELECT " ANNOTATION_VERSION_COLS "WHERE v.annotation_id = ? ORDER BY v.version";
constexpr char kFindAnnotation[] = "SELECT " ANNOTATION_VERSION_COLS
                                   "WHERE n.capture_id = ? AND n.author = ? "
                                   "ORDER BY v.version DESC LIMIT 1";
constexpr char kFindAnnotationVersion[] = "SELECT " ANNOTATION_VERSION_COLS "WHERE v.id = ?";
constexpr char kAnnotatedCaptures[] =
    "SELECT DISTINCT capture_id FROM annotations WHERE capture_id > ? ORDER BY capture_id "
    "LIMIT ?";
constexpr char kAssignmentExists[] =
    "SELECT 1 FROM annotation_assignments WHERE capture_id = ? AND annotator = ?";
constexpr char kInsertAssignment[] =
    "INSERT INTO annotation_assignments (capture_id, annotator, assigned_by, assigned_at) "
    "VALUES (?, ?, ?, ?)";
#define ASSIGNMENT_COLS \
  "capture_id, annotator, assigned_by, assigned_at FROM annotation_assignments "
constexpr char kAssignmentsOfCapture[] =
    "SELECT " ASSIGNMENT_COLS "WHERE capture_id = ? ORDER BY assigned_at, annotator";
constexpr char kAssignmentsOfAnnotator[] =
    "SELECT " ASSIGNMENT_COLS "WHERE annotator = ? ORDER BY assigned_at, capture_id";
constexpr char kAssignmentOfBoth[] =
    "SELECT " ASSIGNMENT_COLS "WHERE capture_id = ? AND annotator = ?";
// Assigned, and the annotator's own annotation absent, a draft, or rejected in review.
constexpr char kAnnotationQueue[] =
    "SELECT s.capture_id FROM annotation_assignments s "
    "LEFT JOIN annotations n ON n.capture_id = s.capture_id AND n.author = s.annotator "
    "LEFT JOIN annotation_versions v ON v.annotation_id = n.id AND v.version = " LATEST_VERSION_OF_N
    " WHERE s.annotator = ?1 AND (n.id IS NULL OR v.state = 'draft' OR "
    "(v.state = 'reviewed' AND v.decision = 'rejected')) "
    "ORDER BY s.assigned_at, s.capture_id LIMIT ?2";
// Captures with an annotation whose latest version is submitted, by the oldest such submission
// (its version's time; the version id breaks ties in insertion order).
constexpr char kReviewQueue[] =
    "SELECT n.capture_id FROM annotations n "
    "JOIN annotation_versions v ON v.annotation_id = n.id AND v.version = " LATEST_VERSION_OF_N
    " WHERE v.state = 'submitted' GROUP BY n.capture_id "
    "ORDER BY MIN(v.created_at), MIN(v.id) LIMIT ?";

AnnotationVersion ReadAnnotationVersion(SQLite::Statement& st) {
  AnnotationVersion v;
  v.id = st.getColumn(0).getInt64();
  v.annotation_id = st.getColumn(1).getInt64();
  v.capture_id = st.getColumn(2).getInt64();
  v.author = st.getColumn(3).getString();
  v.author_role = ParseRole(st.getColumn(4).getString());
  v.version = st.getColumn(5).getInt();
  v.state = annotation::ParseAnnotationState(st.getColumn(6).getString());
  if (!st.getColumn(7).isNull()) {
    v.decision = annotation::ParseReviewDecision(st.getColumn(7).getString());
  }
  v.note = st.getColumn(8).getString();
  v.content.sha256 = st.getColumn(9).getString();
  v.content.size = st.getColumn(10).getInt64();
  v.actor = st.getColumn(11).getString();
  v.created_at = st.getColumn(12).getInt64();
  return v;
}

Assignment ReadAssignment(SQLite::Statement& st) {
  Assignment a;
  a.capture_id = st.getColumn(0).getInt64();
  a.annotator = st.getColumn(1).getString();
  a.assigned_by = st.getColumn(2).getString();
  a.assigned_at = st.getColumn(3).getInt64();
  return a;
}

// The annotation of (capture, author) and its latest version number, if it exists.
struct AnnotationHead {
  std::int64_t id = 0;
  int version = 0;
  std::int64_t version_id = 0;
};

std::optional<AnnotationHead> FindHead(Connection& c, std::int64_t capture_id,
                                       const std::string& author) {
  Stmt st(c.Prepare(kFindAnnotationHead));
  st->bind(1, capture_id);
  st->bind(2, author);
  if (!st->executeStep()) return std::nullopt;
  return AnnotationHead{st->getColumn(0).getInt64(), st->getColumn(1).getInt(),
                        st->getColumn(2).getInt64()};
}

// Refuses a change that does not follow the latest version (optimistic concurrency).
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

AnnotationVersion SqliteRepository::AppendAnnotationVersion(const NewAnnotationVersion& version,
                                                            const BlobRef& content,
                                                            const std::string& actor) {
  version.Check();
  CheckBlob(content);
  ValidateActor(actor);
  std::int64_t id = 0;
  Write([&](Connection& c) {
    RequireCapture(c, version.capture_id);
    const std::optional<AnnotationHead> head = FindHead(c, version.capture_id, version.author);
    CheckExpected(head, version);
    const TimeMs now = Now();
    std::int64_t annotation_id = 0;
    if (head) {
      annotation_id = head->id;
    } else {
      annotation_id = NextId(c, "annotations");
      Stmt st(c.Prepare(kInsertAnnotation));
      st->bind(1, annotation_id);
      st->bind(2, version.capture_id);
      st->bind(3, version.author);
      st->bind(4, RoleName(version.author_role));
      st->bind(5, now);
      st->exec();
    }
    const int number = (head ? head->version : 0) + 1;
    id = NextId(c, "annotation_versions");
    {
      Stmt st(c.Prepare(kInsertAnnotationVersion));
      st->bind(1, id);
      st->bind(2, annotation_id);
      st->bind(3, number);
      st->bind(4, annotation::AnnotationStateName(version.state));
      if (version.decision) {
        st->bind(5, annotation::ReviewDecisionName(*version.decision));
      } else {
        st->bind(5);
      }
      st->bind(6, version.note);
      st->bind(7, content.sha256);
      st->bind(8, content.size);
      st->bind(9, actor);
      st->bind(10, now);
      st->exec();
    }
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

std::vector<AnnotationVersion> SqliteRepository::LatestAnnotations(std::int64_t capture_id) {
  std::vector<AnnotationVersion> out;
  Read([&](Connection& c) {
    out.clear();
    Stmt st(c.Prepare(kLatestAnnotations));
    st->bind(1, capture_id);
    while (st->executeStep()) out.push_back(ReadAnnotationVersion(*st));
  });
  return out;
}

std::vector<AnnotationVersion> SqliteRepository::AnnotationHistory(std::int64_t annotation_id) {
  std::vector<AnnotationVersion> out;
  Read([&](Connection& c) {
    out.clear();
    Stmt st(c.Prepare(kAnnotationHistory));
    st->bind(1, annotation_id);
    while (st->executeStep()) out.push_back(ReadAnnotationVersion(*st));
  });
  return out;
}

std::optional<AnnotationVersion> SqliteRepository::FindAnnotation(std::int64_t capture_id,
                                                                  const std::string& author) {
  ValidateActor(author);
  std::optional<AnnotationVersion> out;
  Read([&](Connection& c) {
    out.reset();
    Stmt st(c.Prepare(kFindAnnotation));
    st->bind(1, capture_id);
    st->bind(2, author);
    if (st->executeStep()) out = ReadAnnotationVersion(*st);
  });
  return out;
}

std::optional<AnnotationVersion> SqliteRepository::FindAnnotationVersion(std::int64_t version_id) {
  std::optional<AnnotationVersion> out;
  Read([&](Connection& c) {
    out.reset();
    Stmt st(c.Prepare(kFindAnnotationVersion));
    st->bind(1, version_id);
    if (st->executeStep()) out = ReadAnnotationVersion(*st);
  });
  return out;
}

std::vector<std::int64_t> SqliteRepository::AnnotatedCaptures(std::int64_t after_capture_id,
                                                              int limit) {
  CheckListLimit(limit, "annotated captures");
  std::vector<std::int64_t> out;
  Read([&](Connection& c) {
    out.clear();
    Stmt st(c.Prepare(kAnnotatedCaptures));
    st->bind(1, after_capture_id);
    st->bind(2, limit);
    while (st->executeStep()) out.push_back(st->getColumn(0).getInt64());
  });
  return out;
}

bool SqliteRepository::AssignCapture(const NewAssignment& assignment, const std::string& actor) {
  assignment.Check();
  ValidateActor(actor);
  bool created = false;
  Write([&](Connection& c) {
    RequireCapture(c, assignment.capture_id);
    {
      Stmt st(c.Prepare(kAssignmentExists));
      st->bind(1, assignment.capture_id);
      st->bind(2, assignment.annotator);
      created = !st->executeStep();
    }
    if (!created) return;
    {
      Stmt st(c.Prepare(kInsertAssignment));
      st->bind(1, assignment.capture_id);
      st->bind(2, assignment.annotator);
      st->bind(3, actor);
      st->bind(4, Now());
      st->exec();
    }
    Audit(c, actor, "annotation.assign", "capture:" + std::to_string(assignment.capture_id), "", "",
          nlohmann::json{{"annotator", assignment.annotator}}.dump());
  });
  return created;
}

std::vector<Assignment> SqliteRepository::ListAssignments(std::optional<std::int64_t> capture_id,
                                                          const std::string& annotator) {
  if (!annotator.empty()) ValidateActor(annotator);
  if (!capture_id && annotator.empty()) {
    throw Error(ErrorCode::kInvalidArgument, "list assignments of a capture or of an annotator");
  }
  // One statement per case, so each uses its index (an "?1 IS NULL OR" filter would not).
  const char* sql = !capture_id         ? kAssignmentsOfAnnotator
                    : annotator.empty() ? kAssignmentsOfCapture
                                        : kAssignmentOfBoth;
  std::vector<Assignment> out;
  Read([&](Connection& c) {
    out.clear();
    Stmt st(c.Prepare(sql));
    int index = 1;
    if (capture_id) st->bind(index++, *capture_id);
    if (!annotator.empty()) st->bind(index, annotator);
    while (st->executeStep()) out.push_back(ReadAssignment(*st));
  });
  return out;
}

std::vector<std::int64_t> SqliteRepository::AnnotationQueue(const std::string& annotator,
                                                            int limit) {
  ValidateActor(annotator);
  CheckListLimit(limit, "annotation queue");
  std::vector<std::int64_t> out;
  Read([&](Connection& c) {
    out.clear();
    Stmt st(c.Prepare(kAnnotationQueue));
    st->bind(1, annotator);
    st->bind(2, limit);
    while (st->executeStep()) out.push_back(st->getColumn(0).getInt64());
  });
  return out;
}

std::vector<std::int64_t> SqliteRepository::ReviewQueue(int limit) {
  CheckListLimit(limit, "review queue");
  std::vector<std::int64_t> out;
  Read([&](Connection& c) {
    out.clear();
    Stmt st(c.Prepare(kReviewQueue));
    st->bind(1, limit);
    while (st->executeStep()) out.push_back(st->getColumn(0).getInt64());
  });
  return out;
}

}  // namespace detail
}  // namespace skintrack::storage
