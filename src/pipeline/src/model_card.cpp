// `model evaluate`: the model card of a registered model, scored on the corrected masks of the
// captures it did not train on (recorded at training time), written as JSON and HTML.
#include <algorithm>
#include <cstdio>
#include <nlohmann/json.hpp>
#include <sstream>

#include "skintrack/core/error.h"
#include "skintrack/pipeline/model_training.h"
#include "skintrack/pipeline/time_format.h"

namespace skintrack::pipeline {

using nlohmann::json;

namespace {

json CardJson(const ModelCard& card) {
  json photos = json::array();
  for (std::size_t i = 0; i < card.scores.size(); ++i) {
    const scoring::PhotoScore& s = card.scores[i];
    photos.push_back({{"capture_id", card.capture_ids[i]},
                      {"dice", s.dice},
                      {"predicted_fraction", s.predicted_fraction},
                      {"truth_fraction", s.truth_fraction},
                      {"ita_degrees", s.ita},
                      {"ita_group", s.ita_group}});
  }
  json groups = json::array();
  for (const scoring::GroupSummary& g : card.summary) {
    groups.push_back({{"group", g.group},
                      {"photos", g.photos},
                      {"dice_mean", g.dice_mean},
                      {"dice_median", g.dice_median},
                      {"abs_share_error_points", g.abs_share_error_points}});
  }
  const RegisteredModel& m = card.model;
  return {{"model",
           {{"id", m.id},
            {"condition", ConditionName(m.condition)},
            {"images", m.images},
            {"trained_on", m.trained_on},
            {"held_out", m.held_out},
            {"seed", m.seed},
            {"created_at", FormatRfc3339(m.created_at)},
            {"created_by", m.created_by}}},
          {"evaluated_at", FormatRfc3339(storage::NowMs())},
          {"protocol",
           "Dice of the model's mask with the current clinician-corrected lesion mask of each "
           "held-out capture (never trained on), grouped by the ITA of the normal skin"},
          {"groups", groups},
          {"ita_gap", card.ita_gap ? json(*card.ita_gap) : json(nullptr)},
          {"photos", photos}};
}

std::string CardHtml(const ModelCard& card) {
  std::ostringstream h;
  char cell[160];
  h << "<!doctype html><html><head><meta charset=\"utf-8\"><title>Model card " << card.model.id
    << "</title><style>body{font-family:sans-serif;margin:2em}td,th{padding:4px 10px;"
       "border-bottom:1px solid #ddd;text-align:right}th:first-child,td:first-child{text-align:"
       "left}</style></head><body>\n<h1>Model card</h1>\n<p><b>"
    << card.model.id << "</b>: " << ConditionName(card.model.condition) << " lesions, trained on "
    << card.model.images << " clinician-corrected photos (captures";
  for (const std::int64_t id : card.model.trained_on) h << " " << id;
  h << ") by " << card.model.created_by << " at " << FormatRfc3339(card.model.created_at)
    << ", seed " << card.model.seed << ".</p>\n<h2>Held-out captures, per ITA group</h2>\n"
    << "<table><tr><th>group</th><th>photos</th><th>mean Dice</th><th>median Dice</th>"
       "<th>lesion share error (points)</th></tr>\n";
  for (const scoring::GroupSummary& g : card.summary) {
    std::snprintf(cell, sizeof cell, "<td>%d</td><td>%.3f</td><td>%.3f</td><td>%.1f</td>", g.photos,
                  g.dice_mean, g.dice_median, g.abs_share_error_points);
    h << "<tr><td>" << g.group << "</td>" << cell << "</tr>\n";
  }
  h << "</table>\n<p>Gap between the best and the worst ITA group (mean Dice, groups of 2+ "
       "photos): "
    << (card.ita_gap ? std::to_string(*card.ita_gap) : std::string("not enough groups"))
    << "</p>\n<h2>Per capture</h2>\n<table><tr><th>capture</th><th>Dice</th><th>predicted "
       "share</th><th>corrected share</th><th>ITA</th></tr>\n";
  for (std::size_t i = 0; i < card.scores.size(); ++i) {
    const scoring::PhotoScore& s = card.scores[i];
    std::snprintf(cell, sizeof cell,
                  "<td>%.3f</td><td>%.3f</td><td>%.3f</td><td>%.0f&deg; (%s)</td>", s.dice,
                  s.predicted_fraction, s.truth_fraction, s.ita, s.ita_group.c_str());
    h << "<tr><td>" << card.capture_ids[i] << "</td>" << cell << "</tr>\n";
  }
  h << "</table>\n</body></html>\n";
  return h.str();
}

}  // namespace

ModelCard EvaluateModel(storage::Repository& repository, const storage::BlobStore& blobs,
                        ModelRegistry& registry, const std::string& id) {
  const ModelRegistryState state = registry.Read();
  const RegisteredModel* entry = state.Find(id);
  if (!entry)
    throw Error(ErrorCode::kNotFound,
                "no model " + id + " in " + registry.registry_path().string());
  const auto model = std::make_shared<const scoring::LearnedModel>(registry.Load(id));
  const auto segmenter = scoring::MakeLearnedSegmenter(model);
  ModelCard card;
  card.model = *entry;
  // The held-out captures' current corrected masks (a capture erased or no longer corrected
  // since training is skipped).
  for (const CorrectedPhoto& p : CorrectedPhotos(repository, blobs, entry->condition)) {
    if (std::find(entry->held_out.begin(), entry->held_out.end(), p.capture_id) ==
        entry->held_out.end()) {
      continue;
    }
    const cv::Mat predicted = segmenter->Segment(p.image.bgr).lesion_mask;
    card.scores.push_back(scoring::ScorePhoto(p.image.name, p.image.bgr, predicted, p.image.mask,
                                              scoring::TargetOf(entry->condition)));
    card.capture_ids.push_back(p.capture_id);
  }
  if (card.scores.empty()) {
    throw Error(ErrorCode::kInvalidArgument,
                "model " + id + " has no held-out capture with a corrected mask to score");
  }
  card.summary = scoring::Summarise(card.scores);
  card.ita_gap = scoring::GroupGap(card.summary);
  const auto base = registry.dir() / (id + ".card");
  card.json_path = base.string() + ".json";
  card.html_path = base.string() + ".html";
  WriteFileAtomically(card.json_path, CardJson(card).dump(2));
  WriteFileAtomically(card.html_path, CardHtml(card));
  return card;
}

}  // namespace skintrack::pipeline
