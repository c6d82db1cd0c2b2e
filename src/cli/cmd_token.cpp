// `skintrack token create|list|revoke`: bearer tokens for the API.
#include <nlohmann/json.hpp>
#include <ostream>

#include "command.h"
#include "data_dir.h"
#include "skintrack/core/error.h"
#include "skintrack/pipeline/time_format.h"
#include "skintrack/storage/store.h"

namespace skintrack::cli {
namespace {

using nlohmann::json;

constexpr char kUsage[] =
    R"(usage: skintrack token create --data-dir DIR [--database URL] --role ROLE [--patient P]...
                              [--label TEXT]
       skintrack token list --data-dir DIR [--database URL] [--json]
       skintrack token revoke ID --data-dir DIR [--database URL]

  create  creates an API token and prints it once, alone on the last line (only its hash is
          stored). Roles: admin, clinician, coordinator, device. A device token must be scoped to
          the patient it pushes for (--patient P; for several patients use POST /v1/tokens with
          "patients": [...]).
  list    every token's id, role, status (active, revoked, expired), creation time, label and
          patients; never a secret (only hashes are stored, and those are not shown either)
  revoke  revokes token ID (the 16 hex digits after "stk_"); a running server refuses it from its
          next request on. Audited as token.revoke by "cli"; revoking twice changes nothing.
All work while a server runs on the directory; POST /v1/tokens, GET /v1/tokens and
DELETE /v1/tokens/{id} with an admin token do the same over HTTP.

  --database URL  the tokens of that PostgreSQL database (postgresql://user@host:port/db, as
                  `serve --database`): a token created there works on every node of the cluster
  --config FILE   take data-dir and database from a node's configuration file (the one `serve
                  --config` reads; its other serve keys are ignored here), also SKINTRACK_CONFIG;
                  SKINTRACK_DATA_DIR and SKINTRACK_DATABASE too. The command line wins.
)";

std::string Status(const storage::TokenInfo& t) {
  if (t.revoked_at) return "revoked";
  if (t.expires_at && *t.expires_at <= storage::NowMs()) return "expired";
  return "active";
}

int Create(Args& args, const std::string& dir, const std::string& database, std::ostream& out) {
  storage::NewToken t;
  t.role = storage::ParseRole(args.Require("role"));
  if (auto p = args.Get("patient")) t.patient_scope.push_back(*p);
  t.label = args.Get("label").value_or("");
  args.CheckNoneLeft();
  if (!t.patient_scope.empty() && t.role != storage::Role::kDevice) {
    throw Error(ErrorCode::kInvalidArgument, "--patient scopes device tokens only");
  }
  auto access = OpenMetadata(dir, database);
  const storage::CreatedToken created = access.get().CreateToken(t, "cli");
  out << "created " << storage::RoleName(created.info.role) << " token " << created.info.id
      << (t.patient_scope.empty() ? "" : " for patient " + t.patient_scope.front())
      << "; it is shown only now:\n"
      << created.token << "\n";
  return 0;
}

int List(Args& args, const std::string& dir, const std::string& database, std::ostream& out) {
  const bool as_json = args.Flag("json");
  args.CheckNoneLeft();
  // Error(kNotFound) without a database: listing must not create a data directory.
  const auto repository = OpenExistingMetadata(dir, database);
  json list = json::array();
  for (const storage::TokenInfo& t : repository->ListTokens()) {
    json j = {{"id", t.id},          {"role", storage::RoleName(t.role)},
              {"status", Status(t)}, {"created_at", pipeline::FormatRfc3339(t.created_at)},
              {"label", t.label},    {"patients", t.patient_scope}};
    if (as_json) {
      list.push_back(j);
      continue;
    }
    // The label is quoted as JSON: it may hold tabs or line breaks.
    out << t.id << "  " << j["role"].get<std::string>() << "  " << j["status"].get<std::string>()
        << "  " << j["created_at"].get<std::string>() << "  label " << j["label"].dump();
    if (!t.patient_scope.empty()) out << "  patients " << j["patients"].dump();
    out << "\n";
  }
  if (as_json) out << list.dump(2) << "\n";
  return 0;
}

int Revoke(Args& args, const std::string& dir, const std::string& database, std::ostream& out) {
  if (args.positional().size() != 2) {
    throw Error(ErrorCode::kInvalidArgument, "expected `skintrack token revoke ID --data-dir DIR`");
  }
  args.CheckNoneLeft();
  const auto repository = OpenExistingMetadata(dir, database);
  const storage::TokenInfo t = repository->RevokeToken(args.positional()[1], "cli");
  out << "revoked " << storage::RoleName(t.role) << " token " << t.id << " at "
      << pipeline::FormatRfc3339(*t.revoked_at) << "\n";
  return 0;
}

int RunToken(Args& args, std::ostream& out) {
  const auto& pos = args.positional();
  const std::string what = pos.empty() ? "" : pos[0];
  if (what != "create" && what != "list" && what != "revoke") {
    throw Error(ErrorCode::kInvalidArgument, "expected `skintrack token create|list|revoke ...`");
  }
  if (what != "revoke" && pos.size() != 1) {
    throw Error(ErrorCode::kInvalidArgument, "unexpected argument '" + pos[1] + "'");
  }
  ShareNodeConfigFile(args);
  const std::string dir = args.Require("data-dir");
  const std::string database = DatabaseOption(args);
  if (what == "create") return Create(args, dir, database, out);
  if (what == "list") return List(args, dir, database, out);
  return Revoke(args, dir, database, out);
}

const bool kRegistered = RegisterCommand({"token",
                                          "create, list and revoke API tokens",
                                          kUsage,
                                          {"json"},
                                          RunToken,
                                          /*config_layers=*/true});

}  // namespace
}  // namespace skintrack::cli
