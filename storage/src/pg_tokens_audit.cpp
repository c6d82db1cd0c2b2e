// PgRepository: access tokens, the audit log, erasure, blob references and the integrity check.
#include <sys/random.h>

#include <algorithm>
#include <cerrno>
#include <nlohmann/json.hpp>

#include "pg_internal.h"
#include "pg_repository.h"
#include "skintrack/storage/sha256.h"

namespace skintrack::storage {
namespace detail {
namespace {

#define PG_TOKEN_COLS "id, role, scope_json, label, created_at, expires_at, revoked_at"

TokenInfo ReadToken(const PgResult& r, int row) {
  TokenInfo t;
  t.id = r.Text(row, 0);
  t.role = ParseRole(r.Text(row, 1));
  for (const auto& p : nlohmann::json::parse(r.Text(row, 2))) {
    t.patient_scope.push_back(p.get<std::string>());
  }
  t.label = r.Text(row, 3);
  t.created_at = r.Int(row, 4);
  t.expires_at = r.OptionalInt(row, 5);
  t.revoked_at = r.OptionalInt(row, 6);
  return t;
}

std::string RandomHex(std::size_t bytes) {
  std::string raw(bytes, '\0');
  std::size_t got = 0;
  while (got < bytes) {
    const ssize_t n = ::getrandom(raw.data() + got, bytes - got, 0);
    if (n < 0) {
      if (errno == EINTR) continue;
      throw Error(ErrorCode::kInternal, "getrandom failed");
    }
    got += static_cast<std::size_t>(n);
  }
  static const char kHex[] = "0123456789abcdef";
  std::string hex;
  for (char c : raw) {
    const auto u = static_cast<unsigned char>(c);
    hex.push_back(kHex[u >> 4]);
    hex.push_back(kHex[u & 15]);
  }
  return hex;
}

bool IsLowerHex(std::string_view s) {
  return std::all_of(s.begin(), s.end(),
                     [](char c) { return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f'); });
}

bool ConstantTimeEqual(const std::string& a, const std::string& b) {
  if (a.size() != b.size()) return false;
  unsigned char diff = 0;
  for (std::size_t i = 0; i < a.size(); ++i) diff |= static_cast<unsigned char>(a[i] ^ b[i]);
  return diff == 0;
}

// The triggers of migrations-pg/0001 and 0003 that carry the append-only rules: the integrity check
// reports any that is missing or disabled (ALTER TABLE ... DISABLE TRIGGER).
constexpr const char* kRuleTriggers[] = {
    "captures_facts_immutable",
    "captures_delete_only_in_erasure",
    "audit_no_update",
    "audit_no_delete",
    "audit_no_truncate",
    "results_no_update",
    "results_delete_only_in_erasure",
    "assessments_no_update",
    "assessments_delete_only_in_erasure",
    "tokens_only_revocation_changes",
    "tokens_no_delete",
    "annotations_no_update",
    "annotations_delete_only_in_erasure",
    "annotation_versions_no_update",
    "annotation_versions_delete_only_in_erasure",
    "annotation_versions_in_sequence",
    "annotation_assignments_no_update",
    "annotation_assignments_delete_only_in_erasure",
    "captures_count",
    "shared_settings_immutable",
    "shared_settings_no_truncate",
};

}  // namespace

// --- tokens ---
CreatedToken PgRepository::CreateToken(const NewToken& token, const std::string& actor) {
  token.Check();
  ValidateActor(actor);
  const std::string id = RandomHex(8);
  const std::string secret = RandomHex(32);
  CreatedToken out;
  out.token = "stk_" + id + "_" + secret;
  Write([&](PgConnection& c) {
    for (const std::string& p : token.patient_scope) RequirePatient(c, p, " FOR KEY SHARE");
    const PgResult r = c.Exec(
        "INSERT INTO tokens (id, secret_sha256, role, scope_json, label, created_at, expires_at) "
        "VALUES ($1, $2, $3, $4, $5, $6, $7) RETURNING " PG_TOKEN_COLS,
        Params()
            .Add(id)
            .Add(Sha256Hex(secret))
            .Add(RoleName(token.role))
            .Add(nlohmann::json(token.patient_scope).dump())
            .Add(token.label)
            .Add(Now())
            .Add(token.expires_at));
    out.info = ReadToken(r, 0);
    Audit(c, actor, "token.create", "token:" + id, "", "",
          nlohmann::json{{"role", RoleName(token.role)}, {"label", token.label}}.dump());
  });
  return out;
}

std::optional<TokenInfo> PgRepository::VerifyToken(const std::string& token) {
  // "stk_" + 16 hex id + "_" + 64 hex secret
  if (token.size() != 85 || token.compare(0, 4, "stk_") != 0 || token[20] != '_') {
    return std::nullopt;
  }
  const std::string id = token.substr(4, 16);
  const std::string secret = token.substr(21);
  if (!IsLowerHex(id) || !IsLowerHex(secret)) return std::nullopt;
  std::optional<TokenInfo> out;
  std::string stored_hash;
  Read([&](PgConnection& c) {
    out.reset();
    const PgResult r = c.Exec("SELECT " PG_TOKEN_COLS ", secret_sha256 FROM tokens WHERE id = $1",
                              Params().Add(id));
    if (r.rows() > 0) {
      out = ReadToken(r, 0);
      stored_hash = r.Text(0, 7);
    }
  });
  if (!out || !ConstantTimeEqual(Sha256Hex(secret), stored_hash)) return std::nullopt;
  if (out->revoked_at || (out->expires_at && *out->expires_at <= Now())) return std::nullopt;
  return out;
}

TokenInfo PgRepository::RevokeToken(const std::string& token_id, const std::string& actor) {
  if (token_id.size() != 16 || !IsLowerHex(token_id)) {
    throw Error(ErrorCode::kInvalidArgument, "a token id is 16 lower-case hex digits");
  }
  ValidateActor(actor);
  std::optional<TokenInfo> info;
  Write([&](PgConnection& c) {
    info.reset();
    // Locked: two concurrent revocations write one audit entry, the second returns the first.
    const PgResult r = c.Exec("SELECT " PG_TOKEN_COLS " FROM tokens WHERE id = $1 FOR UPDATE",
                              Params().Add(token_id));
    if (r.rows() == 0) throw Error(ErrorCode::kNotFound, "no token " + token_id);
    info = ReadToken(r, 0);
    if (info->revoked_at) return;
    info->revoked_at = Now();
    c.Exec("UPDATE tokens SET revoked_at = $1 WHERE id = $2",
           Params().Add(*info->revoked_at).Add(token_id));
    Audit(c, actor, "token.revoke", "token:" + token_id, "", "",
          nlohmann::json{{"role", RoleName(info->role)}}.dump());
  });
  return *info;
}

std::vector<TokenInfo> PgRepository::ListTokens() {
  std::vector<TokenInfo> out;
  Read([&](PgConnection& c) {
    out.clear();
    const PgResult r =
        c.Exec("SELECT " PG_TOKEN_COLS " FROM tokens ORDER BY created_at, id COLLATE \"C\"");
    for (int i = 0; i < r.rows(); ++i) out.push_back(ReadToken(r, i));
  });
  return out;
}

// --- audit ---
void PgRepository::AppendAudit(const AuditEntry& entry) {
  ValidateActor(entry.actor);
  ValidateId(entry.action, "audit action");
  ValidateText(entry.object, "audit object", 256);
  ValidateText(entry.before, "audit before reference", 256);
  ValidateText(entry.after, "audit after reference", 256);
  const std::string details = entry.details_json.empty() ? "{}" : entry.details_json;
  ValidateJsonObject(details, "audit details");
  if (entry.object.empty()) throw Error(ErrorCode::kInvalidArgument, "audit object is empty");
  Write([&](PgConnection& c) {
    Audit(c, entry.actor, entry.action, entry.object, entry.before, entry.after, details);
  });
}

// Paging by id is complete: the audit order lock, taken exclusive here, waits for the audited
// commits in flight, and the page's statement then takes its snapshot (READ COMMITTED: a new one
// per statement, after the lock) where every id below one it sees is visible or rolled back
// (PgRepository::Audit).
std::vector<AuditEntry> PgRepository::ListAudit(const AuditQuery& query) {
  query.Check();
  std::vector<AuditEntry> out;
  Transaction("BEGIN ISOLATION LEVEL READ COMMITTED READ ONLY", [&](PgConnection& c) {
    out.clear();
    c.Exec("SELECT pg_advisory_xact_lock($1)", Params().Add(internal::kAuditOrderLockKey));
    const PgResult r = c.Exec(
        "SELECT id, at, actor, action, object, before_ref, after_ref, details_json FROM audit_log "
        "WHERE ($1 = '' OR object = $1) AND id > $2 ORDER BY id LIMIT $3",
        Params().Add(query.object).Add(query.after_id).Add(query.limit));
    for (int i = 0; i < r.rows(); ++i) {
      AuditEntry e;
      e.id = r.Int(i, 0);
      e.at = r.Int(i, 1);
      e.actor = r.Text(i, 2);
      e.action = r.Text(i, 3);
      e.object = r.Text(i, 4);
      e.before = r.Text(i, 5);
      e.after = r.Text(i, 6);
      e.details_json = r.Text(i, 7);
      out.push_back(std::move(e));
    }
  });
  return out;
}

// --- erasure and blob references ---
std::vector<std::string> PgRepository::PatientBlobs(const std::string& patient_id) {
  ValidateId(patient_id, "patient id");
  std::vector<std::string> out;
  Read([&](PgConnection& c) {
    out.clear();
    const std::int64_t patient = RequirePatient(c, patient_id);
    const PgResult r = c.Exec(
        "SELECT blob_sha256 FROM captures WHERE patient_id = $1 UNION "
        "SELECT blob_sha256 FROM results WHERE patient_id = $1 AND blob_sha256 IS NOT NULL UNION "
        "SELECT a.mask_sha256 FROM assessments a JOIN captures c ON c.id = a.capture_id "
        "WHERE c.patient_id = $1 AND a.mask_sha256 IS NOT NULL UNION "
        "SELECT v.content_sha256 FROM annotation_versions v JOIN annotations n ON "
        "n.id = v.annotation_id JOIN captures c ON c.id = n.capture_id WHERE c.patient_id = $1",
        Params().Add(patient));
    for (int i = 0; i < r.rows(); ++i) out.push_back(r.Text(i, 0));
  });
  return out;
}

void PgRepository::ErasePatient(const std::string& patient_id, const std::string& actor) {
  ValidateId(patient_id, "patient id");
  ValidateActor(actor);
  Write([&](PgConnection& c) {
    // FOR UPDATE: inserts for this patient (which lock it FOR KEY SHARE) wait for the erasure,
    // then find the patient gone.
    const std::int64_t patient = RequirePatient(c, patient_id, " FOR UPDATE");
    c.Exec("SET LOCAL skintrack.erasure = 'on'");
    const Params key = Params().Add(patient);
    constexpr char kCaptures[] = "(SELECT id FROM captures WHERE patient_id = $1)";
    auto count = [&](const std::string& sql) { return c.Exec(sql, key).affected(); };
    const auto results = count("DELETE FROM results WHERE patient_id = $1");
    const auto assessments =
        count(std::string("DELETE FROM assessments WHERE capture_id IN ") + kCaptures);
    const auto annotation_versions =
        count(std::string("DELETE FROM annotation_versions WHERE annotation_id IN (SELECT id FROM "
                          "annotations WHERE capture_id IN ") +
              kCaptures + ")");
    const auto annotation_rows =
        count(std::string("DELETE FROM annotations WHERE capture_id IN ") + kCaptures);
    const auto assignments =
        count(std::string("DELETE FROM annotation_assignments WHERE capture_id IN ") + kCaptures);
    const auto capture_rows = count("DELETE FROM captures WHERE patient_id = $1");
    count("DELETE FROM visits WHERE patient_id = $1");
    count("DELETE FROM patients WHERE id = $1");
    c.Exec("SET LOCAL skintrack.erasure = 'off'");
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

bool PgRepository::IsBlobReferenced(const std::string& sha256) {
  if (!IsSha256Hex(sha256)) throw Error(ErrorCode::kInvalidArgument, "invalid blob hash");
  bool referenced = false;
  Read([&](PgConnection& c) {
    const PgResult r = c.Exec(
        "SELECT EXISTS (SELECT 1 FROM captures WHERE blob_sha256 = $1) OR "
        "EXISTS (SELECT 1 FROM results WHERE blob_sha256 = $1) OR "
        "EXISTS (SELECT 1 FROM assessments WHERE mask_sha256 = $1) OR "
        "EXISTS (SELECT 1 FROM annotation_versions WHERE content_sha256 = $1)",
        Params().Add(sha256));
    referenced = r.Text(0, 0) == "t";
  });
  return referenced;
}

void PgRepository::ForEachBlobRef(const std::function<void(const BlobRef&)>& fn) {
  std::vector<BlobRef> refs;
  Read([&](PgConnection& c) {
    refs.clear();
    const PgResult r = c.Exec(
        "SELECT sha, MAX(size) FROM (SELECT blob_sha256 AS sha, byte_size AS size FROM captures "
        "UNION ALL SELECT blob_sha256, blob_size FROM results WHERE blob_sha256 IS NOT NULL "
        "UNION ALL SELECT mask_sha256, mask_size FROM assessments WHERE mask_sha256 IS NOT NULL "
        "UNION ALL SELECT content_sha256, content_size FROM annotation_versions) refs "
        "GROUP BY sha");
    for (int i = 0; i < r.rows(); ++i) refs.push_back(BlobRef{r.Text(i, 0), r.Int(i, 1)});
  });
  // Outside the transaction: `fn` may take long (it reads blobs) and must not hold a connection.
  for (const BlobRef& ref : refs) fn(ref);
}

// PostgreSQL checksums its pages itself (and pg_amcheck checks indexes, run by the operator);
// this checks what is skintrack's: the append-only triggers are present and enabled, and the
// queue counters agree with the captures.
std::string PgRepository::IntegrityCheck() {
  std::vector<std::string> problems;
  Read([&](PgConnection& c) {
    problems.clear();
    for (const char* name : kRuleTriggers) {
      const PgResult r =
          c.Exec("SELECT tgenabled FROM pg_trigger WHERE tgname = $1 AND NOT tgisinternal",
                 Params().Add(name));
      if (r.rows() == 0) {
        problems.push_back(std::string("trigger ") + name + " is missing");
      } else if (r.Text(0, 0) == "D") {
        problems.push_back(std::string("trigger ") + name + " is disabled");
      }
    }
    const PgResult counts = c.Exec(
        "SELECT s.status, COALESCE(k.n, 0), COALESCE(a.n, 0) FROM "
        "(VALUES ('queued'), ('processing'), ('processed'), ('failed')) s(status) "
        "LEFT JOIN (SELECT status, SUM(n) AS n FROM capture_status_counts GROUP BY status) k "
        "ON k.status = s.status LEFT JOIN (SELECT status, COUNT(*) AS n FROM captures GROUP BY "
        "status) a ON a.status = s.status");
    for (int i = 0; i < counts.rows(); ++i) {
      if (counts.Int(i, 1) != counts.Int(i, 2)) {
        problems.push_back("queue count of " + counts.Text(i, 0) + " is " + counts.Text(i, 1) +
                           ", the captures say " + counts.Text(i, 2));
      }
    }
  });
  if (problems.empty()) return "ok";
  std::string report;
  for (const std::string& p : problems) report += (report.empty() ? "" : "\n") + p;
  return report;
}

}  // namespace detail
}  // namespace skintrack::storage
