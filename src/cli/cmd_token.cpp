// `skintrack token create`: a bearer token for the API, printed once.
#include <ostream>

#include "command.h"
#include "data_dir.h"
#include "skintrack/core/error.h"
#include "skintrack/storage/store.h"

namespace skintrack::cli {
namespace {

constexpr char kUsage[] =
    R"(usage: skintrack token create --data-dir DIR --role ROLE [--patient P]... [--label TEXT]

Creates an API token and prints it once, alone on the last line (only its hash is stored).
Roles: admin, clinician, coordinator, device. A device token must be scoped to the patient it
pushes for (--patient P; for several patients use POST /v1/tokens with "patients": [...]).
Works while a server runs on the directory; POST /v1/tokens with an admin token does the same
over HTTP.
)";

int RunToken(Args& args, std::ostream& out) {
  if (args.positional().size() != 1 || args.positional()[0] != "create") {
    throw Error(ErrorCode::kInvalidArgument, "expected `skintrack token create ...`");
  }
  const std::string dir = args.Require("data-dir");
  storage::NewToken t;
  t.role = storage::ParseRole(args.Require("role"));
  if (auto p = args.Get("patient")) t.patient_scope.push_back(*p);
  t.label = args.Get("label").value_or("");
  args.CheckNoneLeft();
  if (!t.patient_scope.empty() && t.role != storage::Role::kDevice) {
    throw Error(ErrorCode::kInvalidArgument, "--patient scopes device tokens only");
  }
  auto access = OpenMetadata(dir);
  const storage::CreatedToken created = access.get().CreateToken(t, "cli");
  out << "created " << storage::RoleName(created.info.role) << " token " << created.info.id
      << (t.patient_scope.empty() ? "" : " for patient " + t.patient_scope.front())
      << "; it is shown only now:\n"
      << created.token << "\n";
  return 0;
}

const bool kRegistered = RegisterCommand(
    {"token", "create API tokens (admin, clinician, coordinator, device)", kUsage, {}, RunToken});

}  // namespace
}  // namespace skintrack::cli
