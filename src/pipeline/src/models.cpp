#include "skintrack/pipeline/models.h"

#include <fstream>
#include <iostream>
#include <nlohmann/json.hpp>
#include <sstream>
#include <system_error>

#include "skintrack/core/error.h"

namespace skintrack::pipeline {

namespace fs = std::filesystem;
using nlohmann::json;

namespace {

json EntryJson(const RegisteredModel& m) {
  return {{"id", m.id},
          {"condition", ConditionName(m.condition)},
          {"file", m.file},
          {"images", m.images},
          {"trained_on", m.trained_on},
          {"held_out", m.held_out},
          {"seed", m.seed},
          {"created_at", m.created_at},
          {"created_by", m.created_by}};
}

RegisteredModel EntryFrom(const json& j) {
  RegisteredModel m;
  m.id = j.at("id").get<std::string>();
  m.condition = ParseCondition(j.at("condition").get<std::string>());
  m.file = j.at("file").get<std::string>();
  m.images = j.at("images").get<int>();
  m.trained_on = j.at("trained_on").get<std::vector<std::int64_t>>();
  m.held_out = j.at("held_out").get<std::vector<std::int64_t>>();
  m.seed = j.at("seed").get<std::uint64_t>();
  m.created_at = j.at("created_at").get<storage::TimeMs>();
  m.created_by = j.at("created_by").get<std::string>();
  return m;
}

}  // namespace

void WriteFileAtomically(const fs::path& path, const std::string& bytes) {
  const fs::path tmp = path.string() + ".tmp";
  {
    std::ofstream out(tmp, std::ios::binary | std::ios::trunc);
    out << bytes;
    out.flush();
    if (!out) throw Error(ErrorCode::kIo, "cannot write " + tmp.string());
  }
  std::error_code ec;
  fs::rename(tmp, path, ec);
  if (ec) {
    fs::remove(tmp, ec);
    throw Error(ErrorCode::kIo, "cannot rename " + tmp.string() + " to " + path.string());
  }
}

const RegisteredModel* ModelRegistryState::Find(const std::string& id) const {
  for (const RegisteredModel& m : models) {
    if (m.id == id) return &m;
  }
  return nullptr;
}

ModelRegistry::ModelRegistry(const fs::path& data_dir) : dir_(data_dir / "models") {}

ModelRegistryState ModelRegistry::Read() const {
  ModelRegistryState state;
  std::ifstream in(registry_path(), std::ios::binary);
  if (!in) return state;  // no model trained yet
  std::stringstream text;
  text << in.rdbuf();
  try {
    const json j = json::parse(text.str());
    for (const json& m : j.at("models")) state.models.push_back(EntryFrom(m));
    for (const auto& [condition, id] : j.at("active").items()) {
      state.active[condition] = id.get<std::string>();
    }
  } catch (const json::exception& e) {
    throw Error(ErrorCode::kInvalidArgument,
                registry_path().string() + " is not a model registry: " + e.what());
  }
  return state;
}

void ModelRegistry::Write(const ModelRegistryState& state) const {
  json models = json::array();
  for (const RegisteredModel& m : state.models) models.push_back(EntryJson(m));
  WriteFileAtomically(registry_path(), json{{"models", models}, {"active", state.active}}.dump(2));
}

RegisteredModel ModelRegistry::Add(const scoring::LearnedModel& model, RegisteredModel entry) {
  ModelRegistryState state = Read();
  entry.id = model.info().Id();
  if (state.Find(entry.id)) {
    throw Error(ErrorCode::kAlreadyExists,
                "model " + entry.id +
                    " is registered already (the same model: same training set, seed and build)");
  }
  entry.file = entry.id + ".model";
  std::error_code ec;
  fs::create_directories(dir_, ec);
  if (ec) throw Error(ErrorCode::kIo, "cannot create " + dir_.string());
  model.Save((dir_ / entry.file).string());
  state.models.push_back(entry);
  try {
    Write(state);
  } catch (...) {
    fs::remove(dir_ / entry.file, ec);  // an unregistered model file would be an orphan
    throw;
  }
  return entry;
}

void ModelRegistry::Activate(const std::string& id, Condition condition) {
  ModelRegistryState state = Read();
  const RegisteredModel* m = state.Find(id);
  if (!m) throw Error(ErrorCode::kNotFound, "no model " + id + " in " + registry_path().string());
  if (m->condition != condition) {
    throw Error(ErrorCode::kInvalidArgument, "model " + id + " is a " +
                                                 ConditionName(m->condition) + " model, not " +
                                                 ConditionName(condition));
  }
  state.active[ConditionName(condition)] = id;
  Write(state);
}

scoring::LearnedModel ModelRegistry::Load(const std::string& id) const {
  const ModelRegistryState state = Read();
  const RegisteredModel* m = state.Find(id);
  if (!m) throw Error(ErrorCode::kNotFound, "no model " + id + " in " + registry_path().string());
  return scoring::LearnedModel::Load((dir_ / m->file).string(), scoring::TargetOf(m->condition));
}

ActiveModels::ActiveModels(const fs::path& data_dir) : registry_(data_dir) {}

void ActiveModels::ReloadIfChanged() {
  std::error_code ec;
  const auto mtime = fs::last_write_time(registry_.registry_path(), ec);
  if (ec) {  // no registry: no active model
    if (!loaded_absent_) models_.clear();
    loaded_absent_ = true;
    loaded_mtime_.reset();
    return;
  }
  if (loaded_mtime_ && *loaded_mtime_ == mtime) return;
  loaded_absent_ = false;
  loaded_mtime_ = mtime;
  models_.clear();
  try {
    const ModelRegistryState state = registry_.Read();
    for (const auto& [condition, id] : state.active) {
      models_[ParseCondition(condition)] =
          std::make_shared<const scoring::LearnedModel>(registry_.Load(id));
    }
  } catch (const std::exception& e) {
    std::cerr << "skintrack: active models not loaded, classical segmenter in use: " << e.what()
              << "\n";
  }
}

std::shared_ptr<const scoring::LearnedModel> ActiveModels::For(Condition condition) {
  const std::lock_guard<std::mutex> lock(mutex_);
  ReloadIfChanged();
  const auto it = models_.find(condition);
  return it == models_.end() ? nullptr : it->second;
}

}  // namespace skintrack::pipeline
