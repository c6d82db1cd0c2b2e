// `skintrack patient add|list`: manage patients of a data directory (server stopped).
#include <ostream>

#include "command.h"
#include "data_dir.h"
#include "skintrack/core/error.h"
#include "skintrack/storage/store.h"

namespace skintrack::cli {
namespace {

constexpr char kUsage[] =
    R"(usage: skintrack patient add --data-dir DIR [--database URL] --id ID [--fitzpatrick 1..6]
                              [--age-band BAND]
       skintrack patient list --data-dir DIR [--database URL]

Patients are identified by a pseudonymous id ([A-Za-z0-9._-], 1..64 characters): never a name or
a record number. Works while a server runs on the directory (or use POST /v1/patients).
--database URL: the patients of that PostgreSQL database (as `serve --database`).
--config FILE: data-dir and database from a node's configuration file (the one `serve --config`
reads; its other serve keys are ignored here), also SKINTRACK_CONFIG, SKINTRACK_DATA_DIR and
SKINTRACK_DATABASE. The command line wins.
)";

int RunPatient(Args& args, std::ostream& out) {
  const auto& pos = args.positional();
  if (pos.size() != 1 || (pos[0] != "add" && pos[0] != "list")) {
    throw Error(ErrorCode::kInvalidArgument, "expected `skintrack patient add|list ...`");
  }
  ShareNodeConfigFile(args);
  const std::string dir = args.Require("data-dir");
  const std::string database = DatabaseOption(args);
  if (pos[0] == "list") {
    args.CheckNoneLeft();
    if (!database.empty()) {  // listing creates no schema in a database given by mistake
      for (const storage::Patient& p : OpenExistingMetadata(dir, database)->ListPatients()) {
        out << p.info.id << "\n";
      }
      return 0;
    }
    auto access = OpenMetadata(dir, database);
    for (const storage::Patient& p : access.get().ListPatients()) out << p.info.id << "\n";
    return 0;
  }
  storage::PatientInfo info;
  info.id = args.Require("id");
  if (args.Get("fitzpatrick")) {
    info.fitzpatrick = static_cast<int>(args.GetInt("fitzpatrick", 0, 1, 6));
  }
  info.age_band = args.Get("age-band").value_or("");
  args.CheckNoneLeft();
  info.Check();
  auto access = OpenMetadata(dir, database);
  access.get().CreatePatient(info, "cli");
  out << "added patient " << info.id << "\n";
  return 0;
}

const bool kRegistered = RegisterCommand({"patient",
                                          "add or list patients of a data directory",
                                          kUsage,
                                          {},
                                          RunPatient,
                                          /*config_layers=*/true});

}  // namespace
}  // namespace skintrack::cli
