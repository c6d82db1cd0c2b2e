// `skintrack sites`: prints the body-site catalogue (what --site and the API accept).
#include <nlohmann/json.hpp>
#include <ostream>

#include "command.h"
#include "skintrack/core/body_sites.h"

namespace skintrack::cli {
namespace {

int RunSites(Args& args, std::ostream& out) {
  const bool json = args.Flag("json");
  args.CheckNoneLeft();
  nlohmann::json list = nlohmann::json::array();
  for (const BodySite& s : BodySiteCatalogue()) {
    if (json) {
      list.push_back({{"name", s.name},
                      {"pasi_region", PasiRegionName(s.pasi_region)},
                      {"vasi_region", VasiRegionName(s.vasi_region)},
                      {"bsa_percent", s.bsa_percent},
                      {"face", s.is_face}});
    } else {
      out << s.name << "\tPASI " << PasiRegionName(s.pasi_region) << "\tVASI "
          << VasiRegionName(s.vasi_region) << "\tBSA " << s.bsa_percent << " %\n";
    }
  }
  if (json) out << list.dump(2) << "\n";
  return 0;
}

const bool kRegistered =
    RegisterCommand({"sites",
                     "list the body-site catalogue (PASI / VASI region, BSA share)",
                     "usage: skintrack sites [--json]\n",
                     {"json"},
                     RunSites});

}  // namespace
}  // namespace skintrack::cli
