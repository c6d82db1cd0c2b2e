// The learned models of a data directory (docs/models.md): model files DIR/models/<id>.model, a
// registry DIR/models/registry.json (which models exist, what trained them, which one is active
// per condition, who and when) and the loaded active models that the pipeline segments with.
// Every write goes to a temporary file that is renamed, so a failure leaves the previous state.
#pragma once

#include <cstdint>
#include <filesystem>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <vector>

#include "skintrack/core/body_sites.h"
#include "skintrack/scoring/learned_segmenter.h"
#include "skintrack/storage/types.h"

namespace skintrack::pipeline {

// Writes `bytes` to a temporary file beside `path`, then renames it over `path`. Error(kIo).
void WriteFileAtomically(const std::filesystem::path& path, const std::string& bytes);

// One trained model as the registry records it.
struct RegisteredModel {
  std::string id;  // LearnedModelInfo::Id()
  Condition condition = Condition::kPsoriasis;
  std::string file;                      // relative to DIR/models
  int images = 0;                        // training photos
  std::vector<std::int64_t> trained_on;  // capture ids of the training photos
  std::vector<std::int64_t> held_out;    // capture ids kept out for `model evaluate`
  std::uint64_t seed = 1;
  storage::TimeMs created_at = 0;
  std::string created_by;
};

struct ModelRegistryState {
  std::vector<RegisteredModel> models;                       // in training order
  std::map<std::string, std::string> active;                 // condition name -> model id
  const RegisteredModel* Find(const std::string& id) const;  // nullptr when unknown
};

// The registry files of one data directory. Not synchronised across processes beyond the atomic
// rename: one trainer at a time (the CLI), any number of readers.
class ModelRegistry {
 public:
  explicit ModelRegistry(const std::filesystem::path& data_dir);
  const std::filesystem::path& dir() const { return dir_; }  // DIR/models
  std::filesystem::path registry_path() const { return dir_ / "registry.json"; }

  // The registry (empty when the directory has none). Throws Error(kInvalidArgument) naming the
  // file when it does not parse.
  ModelRegistryState Read() const;
  // Saves `model` as DIR/models/<id>.model and adds it to the registry. Throws
  // Error(kAlreadyExists) when the id is registered already (nothing written).
  RegisteredModel Add(const scoring::LearnedModel& model, RegisteredModel entry);
  // Makes `id` the active model of its condition. Throws Error(kNotFound) for an unknown id and
  // Error(kInvalidArgument) when it is not a model of `condition` (nothing written).
  void Activate(const std::string& id, Condition condition);
  // Loads a registered model file. Throws Error(kNotFound) for an unknown id, or as
  // LearnedModel::Load.
  scoring::LearnedModel Load(const std::string& id) const;

 private:
  void Write(const ModelRegistryState& state) const;
  std::filesystem::path dir_;
};

// The active models of a data directory as the pipeline uses them: loaded on first use and loaded
// again when the registry file's modification time changes (checked on every lookup, one stat), so
// a running server picks up `skintrack model activate` at its next segmentation. Thread-safe.
class ActiveModels {
 public:
  explicit ActiveModels(const std::filesystem::path& data_dir);
  // The active model of the condition, or null when none is active. A model that fails to load
  // is reported on stderr once and treated as absent (the classical segmenter is used).
  std::shared_ptr<const scoring::LearnedModel> For(Condition condition);

 private:
  void ReloadIfChanged();
  ModelRegistry registry_;
  std::mutex mutex_;
  std::optional<std::filesystem::file_time_type> loaded_mtime_;
  bool loaded_absent_ = false;
  std::map<Condition, std::shared_ptr<const scoring::LearnedModel>> models_;
};

}  // namespace skintrack::pipeline
