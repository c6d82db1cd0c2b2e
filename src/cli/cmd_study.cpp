// `skintrack study`: the data directory's study id (STUDYID of the cohort exports, cohort.h).
// A file of the data directory, not a database row: it is read by the exports of the CLI and of a
// running server alike, and setting it does not need the server stopped.
#include <ostream>

#include "command.h"
#include "skintrack/report/cohort.h"

namespace skintrack::cli {
namespace {

constexpr char kUsage[] =
    R"(usage: skintrack study --data-dir DIR [--set-id ID]

Prints the data directory's study id, the STUDYID column of the cohort CSV and the RS dataset
(default SKINTRACK when never set). --set-id ID stores it in DIR/study-id: 1-20 characters of
A-Z, 0-9, '-' and '_'. `skintrack export --study-id ID` overrides it for one export.
)";

int RunStudy(Args& args, std::ostream& out) {
  const std::string dir = args.Require("data-dir");
  const auto id = args.Get("set-id");
  args.CheckNoneLeft();
  if (id) report::SaveStudyId(dir, *id);
  out << report::LoadStudyId(dir) << "\n";
  return 0;
}

const bool kRegistered = RegisterCommand(
    {"study", "show or set the study id (STUDYID) of the exports", kUsage, {}, RunStudy});

}  // namespace
}  // namespace skintrack::cli
