// SqliteRepository: access tokens, the audit log, erasure and blob references.
#include <nlohmann/json.hpp>

#include "skintrack/core/error.h"
#include "skintrack/storage/sha256.h"
#include "sqlite_repository.h"

namespace skintrack::storage {
namespace detail {

// --- tokens ---
CreatedToken SqliteRepository::CreateToken(const NewToken& token, const std::string& actor) {
  token.Check();
  ValidateActor(actor);
  const std::string id = RandomHex(8);
  const std::string secret = RandomHex(32);
  Write([&](Connection& c) {
    for (const std::string& p : token.patient_scope) RequirePatient(c, p);
    Stmt st(c.Prepare(kInsertToken));
    st->bind(1, id);
    st->bind(2, Sha256Hex(secret));
    st->bind(3, RoleName(token.role));
    st->bind(4, nlohmann::json(token.patient_scope).dump());
    st->bind(5, token.label);
    st->bind(6, Now());
    BindOptional(*st, 7, token.expires_at);
    st->exec();
    Audit(c, actor, "token.create", "token:" + id, "", "",
          nlohmann::json{{"role", RoleName(token.role)}, {"label", token.label}}.dump());
  });
  CreatedToken out;
  out.token = "stk_" + id + "_" + secret;
  Read([&](Connection& c) {
    Stmt st(c.Prepare(kFindToken));
    st->bind(1, id);
    if (!st->executeStep()) throw Error(ErrorCode::kInternal, "created token not found");
    out.info = ReadToken(*st);
  });
  return out;
}

std::optional<TokenInfo> SqliteRepository::VerifyToken(const std::string& token) {
  // "stk_" + 16 hex id + "_" + 64 hex secret
  if (token.size() != 85 || token.compare(0, 4, "stk_") != 0 || token[20] != '_') {
    return std::nullopt;
  }
  const std::string id = token.substr(4, 16);
  const std::string secret = token.substr(21);
  if (!IsLowerHex(id) || !IsLowerHex(secret)) return std::nullopt;
  std::optional<TokenInfo> out;
  std::string stored_hash;
  Read([&](Connection& c) {
    Stmt st(c.Prepare(kFindToken));
    st->bind(1, id);
    if (st->executeStep()) {
      out = ReadToken(*st);
      stored_hash = st->getColumn(7).getString();
    }
  });
  if (!out || !ConstantTimeEqual(Sha256Hex(secret), stored_hash)) return std::nullopt;
  const TimeMs now = Now();
  if (out->revoked_at || (out->expires_at && *out->expires_at <= now)) return std::nullopt;
  return out;
}

TokenInfo SqliteRepository::RevokeToken(const std::string& token_id, const std::string& actor) {
  if (token_id.size() != 16 || !IsLowerHex(token_id)) {
    throw Error(ErrorCode::kInvalidArgument, "a token id is 16 lower-case hex digits");
  }
  ValidateActor(actor);
  std::optional<TokenInfo> info;
  Write([&](Connection& c) {
    info.reset();
    {
      Stmt st(c.Prepare(kFindToken));
      st->bind(1, token_id);
      if (st->executeStep()) info = ReadToken(*st);
    }
    if (!info) throw Error(ErrorCode::kNotFound, "no token " + token_id);
    if (info->revoked_at) return;
    info->revoked_at = Now();
    Stmt st(c.Prepare(kRevokeToken));
    st->bind(1, *info->revoked_at);
    st->bind(2, token_id);
    st->exec();
    Audit(c, actor, "token.revoke", "token:" + token_id, "", "",
          nlohmann::json{{"role", RoleName(info->role)}}.dump());
  });
  return *info;
}

std::vector<TokenInfo> SqliteRepository::ListTokens() {
  std::vector<TokenInfo> out;
  Read([&](Connection& c) {
    out.clear();
    Stmt st(c.Prepare(kListTokens));
    while (st->executeStep()) out.push_back(ReadToken(*st));
  });
  return out;
}

// --- audit ---
void SqliteRepository::AppendAudit(const AuditEntry& entry) {
  ValidateActor(entry.actor);
  ValidateId(entry.action, "audit action");
  ValidateText(entry.object, "audit object", 256);
  ValidateText(entry.before, "audit before reference", 256);
  ValidateText(entry.after, "audit after reference", 256);
  const std::string details = entry.details_json.empty() ? "{}" : entry.details_json;
  ValidateJsonObject(details, "audit details");
  if (entry.object.empty()) throw Error(ErrorCode::kInvalidArgument, "audit object is empty");
  Write([&](Connection& c) {
    Audit(c, entry.actor, entry.action, entry.object, entry.before, entry.after, details);
  });
}

std::vector<AuditEntry> SqliteRepository::ListAudit(const AuditQuery& query) {
  query.Check();
  std::vector<AuditEntry> out;
  Read([&](Connection& c) {
    out.clear();
    Stmt st(c.Prepare(kListAudit));
    st->bind(1, query.object);
    st->bind(2, query.after_id);
    st->bind(3, query.limit);
    while (st->executeStep()) {
      AuditEntry e;
      e.id = st->getColumn(0).getInt64();
      e.at = st->getColumn(1).getInt64();
      e.actor = st->getColumn(2).getString();
      e.action = st->getColumn(3).getString();
      e.object = st->getColumn(4).getString();
      e.before = st->getColumn(5).getString();
      e.after = st->getColumn(6).getString();
      e.details_json = st->getColumn(7).getString();
      out.push_back(std::move(e));
    }
  });
  return out;
}

// --- erasure and blob references ---
std::vector<std::string> SqliteRepository::PatientBlobs(const std::string& patient_id) {
  ValidateId(patient_id, "patient id");
  std::vector<std::string> out;
  Read([&](Connection& c) {
    out.clear();
    const std::int64_t patient = RequirePatient(c, patient_id);
    Stmt st(c.Prepare(kPatientBlobs));
    st->bind(1, patient);
    while (st->executeStep()) out.push_back(st->getColumn(0).getString());
  });
  return out;
}

void SqliteRepository::ErasePatient(const std::string& patient_id, const std::string& actor) {
  ValidateId(patient_id, "patient id");
  ValidateActor(actor);
  Write([&](Connection& c) {
    const std::int64_t patient = RequirePatient(c, patient_id);
    const std::string key = std::to_string(patient);
    const std::string captures = "(SELECT id FROM captures WHERE patient_id = " + key + ")";
    c.db->exec("INSERT INTO erasure_guard (active) VALUES (1)");
    const int results = c.db->exec("DELETE FROM results WHERE patient_id = " + key);
    const int assessments = c.db->exec("DELETE FROM assessments WHERE capture_id IN " + captures);
    const std::string annotations =
        "(SELECT id FROM annotations WHERE capture_id IN " + captures + ")";
    const int annotation_versions =
        c.db->exec("DELETE FROM annotation_versions WHERE annotation_id IN " + annotations);
    const int annotation_rows =
        c.db->exec("DELETE FROM annotations WHERE capture_id IN " + captures);
    const int assignments =
        c.db->exec("DELETE FROM annotation_assignments WHERE capture_id IN " + captures);
    const int capture_rows = c.db->exec("DELETE FROM captures WHERE patient_id = " + key);
    c.db->exec("DELETE FROM visits WHERE patient_id = " + key);
    c.db->exec("DELETE FROM patients WHERE id = " + key);
    c.db->exec("DELETE FROM erasure_guard");
    Audit(c, actor, "patient.erase", "patient:" + patient_id, "", "",
          nlohmann::json{{"captures", capture_rows},
                         {"results", results},
                         {"assessments", assessments},
                         {"annotations", annotation_rows},
                         {"annotation_versions", annotation_versions},
                         {"annotation_assignments", assignments}}
              .dump());
  });
}

bool SqliteRepository::IsBlobReferenced(const std::string& sha256) {
  if (!IsSha256Hex(sha256)) throw Error(ErrorCode::kInvalidArgument, "invalid blob hash");
  bool referenced = false;
  Read([&](Connection& c) {
    Stmt st(c.Prepare(kBlobReferenced));
    st->bind(1, sha256);
    referenced = st->executeStep() && st->getColumn(0).getInt() != 0;
  });
  return referenced;
}

void SqliteRepository::ForEachBlobRef(const std::function<void(const BlobRef&)>& fn) {
  Read([&](Connection& c) {
    Stmt st(c.Prepare(kAllBlobRefs));
    while (st->executeStep()) {
      fn(BlobRef{st->getColumn(0).getString(), st->getColumn(1).getInt64()});
    }
  });
}

std::string SqliteRepository::IntegrityCheck() {
  std::string report;
  Read([&](Connection& c) {
    report.clear();
    SQLite::Statement st(*c.db, "PRAGMA integrity_check");
    while (st.executeStep()) {
      if (!report.empty()) report += "\n";
      report += st.getColumn(0).getString();
    }
  });
  return report;
}

// Nothing orders the ids here: SQLite has one writer, whose lock is held from the id's draw to the
// commit, so ids commit in id order and paging by id (ListAudit after_id) never skips one.
// PostgreSQL's writers run concurrently and take a lock for this (PgRepository::Audit).
void SqliteRepository::Audit(Connection& c, const std::string& actor, const std::string& action,
                             const std::string& object, const std::string& before,
                             const std::string& after, const std::string& details) {
  Stmt st(c.Prepare(kInsertAudit));
  st->bind(1, Now());
  st->bind(2, actor);
  st->bind(3, action);
  st->bind(4, object);
  st->bind(5, before);
  st->bind(6, after);
  st->bind(7, details);
  st->exec();
}

}  // namespace detail
}  // namespace skintrack::storage
