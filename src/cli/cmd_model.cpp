// `skintrack model train|list|activate|evaluate|rescore`: the learned models of a data directory
// (the registry and the loop live in src/pipeline: models.h, model_training.h; docs/models.md).
#include <nlohmann/json.hpp>
#include <ostream>

#include "command.h"
#include "skintrack/core/error.h"
#include "skintrack/pipeline/model_training.h"
#include "skintrack/pipeline/time_format.h"
#include "skintrack/storage/blob_store.h"
#include "skintrack/storage/store.h"

namespace skintrack::cli {
namespace {

using nlohmann::json;

constexpr char kUsage[] =
    R"(usage: skintrack model train --data-dir DIR --condition C [--seed S] [--json]
       skintrack model list --data-dir DIR [--json]
       skintrack model activate ID --data-dir DIR [--condition C]
       skintrack model evaluate ID --data-dir DIR [--json]
       skintrack model rescore --data-dir DIR (--all | [--patient P] [--site S] [--condition C])

The learned segmenter of a data directory, trained from the clinician-corrected lesion masks
stored there (docs/models.md). Models are DIR/models/<id>.model, listed in DIR/models/registry.json.
  train     trains a model of the condition (psoriasis | vitiligo) on the corrected masks, holding
            out 20 % of them (at least one from 3 on) for `evaluate`; registered, not active
  list      id, condition, training photos, created, active
  activate  makes ID the active model of its condition; a running server picks it up at its next
            segmentation (it checks the registry's modification time); requeues nothing
  evaluate  Dice on the held-out corrected masks per ITA group: DIR/models/<id>.card.json + .html
  rescore   puts the chosen processed captures back in the durable queue: the workers segment and
            score them again (active model, patient references) as new versions; earlier ones stay
All of these work while a server runs on DIR (they read the database and the blobs; their writes
are the registry files and audit entries).
)";

struct DataDir {
  std::unique_ptr<storage::Repository> repository;
  std::unique_ptr<storage::BlobStore> blobs;
  pipeline::ModelRegistry registry;
};

DataDir Open(const std::string& dir) {
  auto repository = storage::OpenDataDirRepository(dir);  // Error(kNotFound) without a database
  return {std::move(repository), storage::OpenFileBlobStore(dir + "/blobs"),
          pipeline::ModelRegistry(dir)};
}

std::string Positional(Args& args, const char* what) {
  if (args.positional().size() != 2) {
    throw Error(ErrorCode::kInvalidArgument,
                std::string("expected `skintrack model ") + what + " ID --data-dir DIR`");
  }
  return args.positional()[1];
}

int Train(Args& args, std::ostream& out) {
  const std::string dir = args.Require("data-dir");
  pipeline::ModelTrainRequest request;
  request.condition = ParseCondition(args.Require("condition"));
  request.seed = static_cast<std::uint64_t>(args.GetInt("seed", 1, 0, 1LL << 62));
  request.actor = "cli";
  const bool as_json = args.Flag("json");
  args.CheckNoneLeft();
  DataDir d = Open(dir);
  const pipeline::ModelTrainOutcome o =
      pipeline::TrainModel(*d.repository, *d.blobs, d.registry, request);
  if (as_json) {
    out << json{{"id", o.model.id},
                {"condition", ConditionName(o.model.condition)},
                {"images", o.model.images},
                {"trained_on", o.model.trained_on},
                {"held_out", o.model.held_out},
                {"train_seconds", o.train_seconds},
                {"file", (d.registry.dir() / o.model.file).string()}}
               .dump(2)
        << "\n";
  } else {
    out << "trained " << o.model.id << " on " << o.model.images << " corrected photos ("
        << o.model.held_out.size() << " held out) in " << o.train_seconds << " s; not active: "
        << "skintrack model activate " << o.model.id << " --data-dir " << dir << "\n";
  }
  return 0;
}

int List(Args& args, std::ostream& out) {
  const std::string dir = args.Require("data-dir");
  const bool as_json = args.Flag("json");
  args.CheckNoneLeft();
  const pipeline::ModelRegistryState state = pipeline::ModelRegistry(dir).Read();
  json list = json::array();
  for (const pipeline::RegisteredModel& m : state.models) {
    const auto active = state.active.find(ConditionName(m.condition));
    const bool is_active = active != state.active.end() && active->second == m.id;
    list.push_back({{"id", m.id},
                    {"condition", ConditionName(m.condition)},
                    {"images", m.images},
                    {"created_at", pipeline::FormatRfc3339(m.created_at)},
                    {"created_by", m.created_by},
                    {"active", is_active}});
    if (!as_json) {
      out << (is_active ? "* " : "  ") << m.id << "  " << ConditionName(m.condition) << "  "
          << m.images << " images  " << pipeline::FormatRfc3339(m.created_at) << "\n";
    }
  }
  if (as_json) out << list.dump(2) << "\n";
  if (!as_json && state.models.empty()) out << "no models in " << dir << "\n";
  return 0;
}

int Activate(Args& args, std::ostream& out) {
  const std::string id = Positional(args, "activate");
  const std::string dir = args.Require("data-dir");
  const auto condition = args.Get("condition");
  args.CheckNoneLeft();
  DataDir d = Open(dir);
  const pipeline::ModelRegistryState state = d.registry.Read();
  const pipeline::RegisteredModel* m = state.Find(id);
  if (!m) throw Error(ErrorCode::kNotFound, "no model " + id + " in " + dir);
  pipeline::ActivateModel(*d.repository, d.registry, id,
                          condition ? ParseCondition(*condition) : m->condition, "cli");
  out << "active " << ConditionName(m->condition) << " model: " << id
      << " (nothing requeued; `skintrack model rescore` re-segments stored captures)\n";
  return 0;
}

int Evaluate(Args& args, std::ostream& out) {
  const std::string id = Positional(args, "evaluate");
  const std::string dir = args.Require("data-dir");
  const bool as_json = args.Flag("json");
  args.CheckNoneLeft();
  DataDir d = Open(dir);
  const pipeline::ModelCard card = pipeline::EvaluateModel(*d.repository, *d.blobs, d.registry, id);
  if (as_json) {
    json groups = json::array();
    for (const auto& g : card.summary) {
      groups.push_back({{"group", g.group}, {"photos", g.photos}, {"dice_mean", g.dice_mean}});
    }
    out << json{{"id", id},
                {"groups", groups},
                {"ita_gap", card.ita_gap ? json(*card.ita_gap) : json(nullptr)},
                {"card_json", card.json_path},
                {"card_html", card.html_path}}
               .dump(2)
        << "\n";
    return 0;
  }
  for (const auto& g : card.summary) {
    out << "  " << g.group << ": " << g.photos << " held-out photos, mean Dice " << g.dice_mean
        << "\n";
  }
  out << "model card: " << card.json_path << ", " << card.html_path << "\n";
  return 0;
}

int Rescore(Args& args, std::ostream& out) {
  const std::string dir = args.Require("data-dir");
  pipeline::RescoreSelection selection;
  selection.all = args.Flag("all");
  selection.patient_id = args.Get("patient");
  selection.site = args.Get("site");
  if (auto c = args.Get("condition")) selection.condition = ParseCondition(*c);
  args.CheckNoneLeft();
  selection.Check();
  auto repository = storage::OpenDataDirRepository(dir);
  const int n = pipeline::RequeueForRescore(*repository, selection, "model rescore", "cli");
  out << "requeued " << n << " processed captures; the workers of `skintrack serve` on " << dir
      << " segment and score them again as new versions\n";
  return 0;
}

int RunModel(Args& args, std::ostream& out) {
  const std::string what = args.positional().empty() ? "" : args.positional()[0];
  if (what == "train") return Train(args, out);
  if (what == "list") return List(args, out);
  if (what == "activate") return Activate(args, out);
  if (what == "evaluate") return Evaluate(args, out);
  if (what == "rescore") return Rescore(args, out);
  throw Error(ErrorCode::kInvalidArgument,
              "expected `skintrack model train|list|activate|evaluate|rescore ...`");
}

const bool kRegistered = RegisterCommand({"model",
                                          "train, list, activate, evaluate the models of a data "
                                          "directory; rescore captures through the queue",
                                          kUsage,
                                          {"json", "all"},
                                          RunModel});

}  // namespace
}  // namespace skintrack::cli
