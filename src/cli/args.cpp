#include "args.h"

#include <cctype>
#include <cerrno>
#include <cmath>
#include <cstdlib>
#include <fstream>

#include "skintrack/core/error.h"

namespace skintrack::cli {

Args::Args(const std::vector<std::string>& argv, const std::set<std::string>& flags) {
  for (const std::string& a : argv) {
    if (a == "--help" || a == "-h") {
      help_requested_ = true;
      return;
    }
  }
  for (size_t i = 0; i < argv.size(); ++i) {
    const std::string& a = argv[i];
    if (a.size() > 2 && a.compare(0, 2, "--") == 0) {
      std::string name = a.substr(2);
      const size_t eq = name.find('=');
      if (eq != std::string::npos) {
        options_.emplace_back(name.substr(0, eq), name.substr(eq + 1));
      } else if (flags.count(name) != 0) {
        flags_given_.insert(name);
      } else {
        if (i + 1 >= argv.size()) {
          throw Error(ErrorCode::kInvalidArgument, "option --" + name + " needs a value");
        }
        options_.emplace_back(name, argv[++i]);
      }
    } else {
      positional_.push_back(a);
    }
  }
}

namespace {

std::string Trim(const std::string& text) {
  const char* space = " \t\r\n";
  const size_t first = text.find_first_not_of(space);
  if (first == std::string::npos) return "";
  return text.substr(first, text.find_last_not_of(space) - first + 1);
}

// Option names as the command line spells them after "--": what a file key must look like.
bool IsOptionName(const std::string& key) {
  if (key.empty() || key.front() == '-') return false;
  for (const char c : key) {
    if (!(std::islower(static_cast<unsigned char>(c)) ||
          std::isdigit(static_cast<unsigned char>(c)) || c == '-')) {
      return false;
    }
  }
  return true;
}

bool ParseBool(const std::string& text, const std::string& what) {
  std::string t;
  for (const char c : text)
    t.push_back(static_cast<char>(std::tolower(static_cast<unsigned char>(c))));
  if (t == "true" || t == "yes" || t == "on" || t == "1") return true;
  if (t == "false" || t == "no" || t == "off" || t == "0") return false;
  throw Error(ErrorCode::kInvalidArgument,
              what + " must be true or false (yes/no, on/off, 1/0), got '" + text + "'");
}

}  // namespace

std::string EnvironmentName(const std::string& name) {
  std::string out = "SKINTRACK_";
  for (const char c : name) {
    out.push_back(c == '-' ? '_' : static_cast<char>(std::toupper(static_cast<unsigned char>(c))));
  }
  return out;
}

void Args::UseConfigLayers(const std::map<std::string, std::string>& environment) {
  layered_ = true;
  environment_ = environment;
  // An empty variable counts as unset (systemd's `Environment=SKINTRACK_PORT=` clears a setting).
  for (auto it = environment_.begin(); it != environment_.end();) {
    it = it->second.empty() ? environment_.erase(it) : std::next(it);
  }
  std::optional<std::string> path;
  used_.insert("config");
  for (const auto& [key, v] : options_) {
    if (key != "config") continue;
    if (path) throw Error(ErrorCode::kInvalidArgument, "option --config given twice");
    path = v;
  }
  const std::string env_name = EnvironmentName("config");
  if (!path && environment_.count(env_name) != 0) path = environment_.at(env_name);
  environment_.erase(env_name);
  if (path) ReadConfigFile(*path);
}

void Args::ReadConfigFile(const std::string& path) {
  std::ifstream in(path);
  if (!in) throw Error(ErrorCode::kIo, "cannot read the configuration file " + path);
  std::string line;
  for (int number = 1; std::getline(in, line); ++number) {
    if (number == 1 && line.compare(0, 3, "\xEF\xBB\xBF") == 0) line.erase(0, 3);  // a BOM
    AddConfigLine(Trim(line), path + ":" + std::to_string(number));
  }
}

void Args::AddConfigLine(const std::string& text, const std::string& origin) {
  if (text.empty() || text.front() == '#') return;
  const size_t eq = text.find('=');
  if (eq == std::string::npos) {
    throw Error(ErrorCode::kInvalidArgument,
                origin + ": expected `key = value` (or a # comment), got '" + text + "'");
  }
  const std::string key = Trim(text.substr(0, eq));
  const std::string value = Trim(text.substr(eq + 1));
  if (!IsOptionName(key)) {
    throw Error(ErrorCode::kInvalidArgument,
                origin + ": '" + key +
                    "' is not an option name (lower-case long option names without --, e.g. "
                    "data-dir)");
  }
  if (value.empty()) {
    throw Error(ErrorCode::kInvalidArgument, origin + ": " + key + " has no value");
  }
  const auto [it, inserted] = file_.emplace(key, FileEntry{value, origin});
  if (!inserted) {
    throw Error(ErrorCode::kInvalidArgument,
                origin + ": " + key + " given twice (first at " + it->second.origin + ")");
  }
}

std::optional<std::string> Args::Get(const std::string& name) {
  auto v = GetWithOrigin(name);
  if (!v) return std::nullopt;
  return v->text;
}

std::optional<OptionValue> Args::GetWithOrigin(const std::string& name) {
  used_.insert(name);
  std::optional<OptionValue> value;
  for (const auto& [key, v] : options_) {
    if (key != name) continue;
    if (value) throw Error(ErrorCode::kInvalidArgument, "option --" + name + " given twice");
    value = OptionValue{v, "--" + name};
  }
  if (!value && layered_) {
    if (auto env = environment_.find(EnvironmentName(name)); env != environment_.end()) {
      value = OptionValue{env->second, env->first};
    } else if (auto file = file_.find(name); file != file_.end()) {
      value = OptionValue{file->second.value, file->second.origin};
    }
  }
  if (value) resolved_[name] = *value;
  return value;
}

std::string Args::Require(const std::string& name) {
  auto v = Get(name);
  if (!v) throw Error(ErrorCode::kInvalidArgument, "missing required option --" + name);
  return *v;
}

bool Args::Flag(const std::string& name) {
  used_.insert(name);
  if (flags_given_.count(name) != 0) {
    resolved_[name] = OptionValue{"true", "--" + name};
    return true;
  }
  // `--name=false` on the command line overrides a `name = true` of the file or environment.
  const auto v = GetWithOrigin(name);
  return v && ParseBool(v->text, v->origin);
}

long long Args::GetInt(const std::string& name, long long fallback, long long lo, long long hi) {
  const auto v = GetWithOrigin(name);
  if (!v) return fallback;
  const long long x = ParseInt(v->text, v->origin);
  if (x < lo || x > hi) {
    throw Error(ErrorCode::kInvalidArgument, v->origin + " must be between " + std::to_string(lo) +
                                                 " and " + std::to_string(hi) + ", got " + v->text);
  }
  return x;
}

double Args::GetDouble(const std::string& name, double fallback, double lo, double hi) {
  const auto v = GetWithOrigin(name);
  if (!v) return fallback;
  const double x = ParseDouble(v->text, v->origin);
  if (x < lo || x > hi) {
    throw Error(ErrorCode::kInvalidArgument, v->origin + " must be between " + std::to_string(lo) +
                                                 " and " + std::to_string(hi) + ", got " + v->text);
  }
  return x;
}

void Args::CheckNoneLeft() const {
  for (const auto& [key, v] : options_) {
    if (used_.count(key) == 0) throw Error(ErrorCode::kInvalidArgument, "unknown option --" + key);
  }
  for (const auto& f : flags_given_) {
    if (used_.count(f) == 0) throw Error(ErrorCode::kInvalidArgument, "unknown option --" + f);
  }
  // Unused SKINTRACK_* variables are not errors: the environment is shared with other programs
  // and commands. The file is this command's own.
  for (const auto& [key, entry] : file_) {
    if (used_.count(key) == 0 && tolerated_file_keys_.count(key) == 0) {
      throw Error(ErrorCode::kInvalidArgument, "unknown key '" + key + "' at " + entry.origin +
                                                   " (not an option of this command)");
    }
  }
}

long long ParseInt(const std::string& text, const std::string& what) {
  errno = 0;
  char* end = nullptr;
  const long long x = std::strtoll(text.c_str(), &end, 10);
  if (text.empty() || end != text.c_str() + text.size() || errno == ERANGE) {
    throw Error(ErrorCode::kInvalidArgument, what + " must be a whole number, got '" + text + "'");
  }
  return x;
}

double ParseDouble(const std::string& text, const std::string& what) {
  errno = 0;
  char* end = nullptr;
  const double x = std::strtod(text.c_str(), &end);
  if (text.empty() || end != text.c_str() + text.size() || errno == ERANGE || !std::isfinite(x)) {
    throw Error(ErrorCode::kInvalidArgument, what + " must be a number, got '" + text + "'");
  }
  return x;
}

}  // namespace skintrack::cli
