// Shared by the DICOM tests: a temporary .dcm path and dciodvfy (dicom3tools), the validator this
// project did not write.
#pragma once

#include <unistd.h>

#include <array>
#include <cstdint>
#include <cstdio>
#include <filesystem>
#include <memory>
#include <optional>
#include <string>

namespace skintrack::testing {

struct TempDcm {
  std::filesystem::path path = std::filesystem::temp_directory_path() /
                               ("skintrack-dicom-" + std::to_string(::getpid()) + "-" +
                                std::to_string(reinterpret_cast<std::uintptr_t>(this)) + ".dcm");
  ~TempDcm() { std::filesystem::remove(path); }
};

struct DciodvfyReport {
  std::string errors;    // the lines starting "Error"
  std::string warnings;  // the lines starting "Warning"
};

// dciodvfy's findings on `file`; nullopt when it is not installed.
inline std::optional<DciodvfyReport> Dciodvfy(const std::filesystem::path& file) {
  if (!std::filesystem::exists("/usr/bin/dciodvfy")) return std::nullopt;
  const std::string cmd = "/usr/bin/dciodvfy " + file.string() + " 2>&1";
  std::unique_ptr<FILE, int (*)(FILE*)> pipe(popen(cmd.c_str(), "r"), pclose);
  DciodvfyReport report;
  std::array<char, 512> line{};
  while (fgets(line.data(), line.size(), pipe.get()) != nullptr) {
    const std::string text = line.data();
    if (text.rfind("Error", 0) == 0) report.errors += text;
    if (text.rfind("Warning", 0) == 0) report.warnings += text;
  }
  return report;
}

}  // namespace skintrack::testing
