// The study id of a data directory (cohort.h): one line in the file `study-id`, set with
// `skintrack study --set-id`, read by every cohort export (CLI and API).
#include <cerrno>
#include <cstdio>
#include <filesystem>
#include <fstream>

#include "skintrack/core/error.h"
#include "skintrack/report/cohort.h"

namespace skintrack::report {

void CheckStudyId(const std::string& id) {
  bool ok = !id.empty() && id.size() <= 20;
  for (char c : id) {
    ok = ok && ((c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '-' || c == '_');
  }
  if (!ok) {
    throw Error(ErrorCode::kInvalidArgument,
                "study id must be 1-20 characters of A-Z, 0-9, '-' and '_', got '" + id + "'");
  }
}

std::string LoadStudyId(const std::string& data_dir) {
  const std::filesystem::path path = std::filesystem::path(data_dir) / kStudyIdFile;
  std::error_code ec;
  if (!std::filesystem::exists(path, ec)) return kDefaultStudyId;
  std::ifstream in(path);
  std::string line;
  if (!in || !std::getline(in, line)) {
    throw Error(ErrorCode::kIo, "cannot read " + path.string());
  }
  if (!line.empty() && line.back() == '\r') line.pop_back();
  CheckStudyId(line);
  return line;
}

void SaveStudyId(const std::string& data_dir, const std::string& id) {
  CheckStudyId(id);
  const std::filesystem::path path = std::filesystem::path(data_dir) / kStudyIdFile;
  const std::string tmp = path.string() + ".tmp";
  {
    std::ofstream out(tmp, std::ios::trunc);
    out << id << "\n";
    out.flush();
    if (!out) throw Error(FileErrorCode(errno), "cannot write " + tmp);
  }
  if (std::rename(tmp.c_str(), path.c_str()) != 0) {
    throw Error(FileErrorCode(errno), "cannot write " + path.string());
  }
}

}  // namespace skintrack::report
