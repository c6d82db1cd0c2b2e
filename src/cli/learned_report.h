// Reports of the learned segmenter's figures, shared by `skintrack train` and `skintrack eval`:
// per-photo rows and per-ITA-group summaries as JSON or as a text table. Header-only: the CLI
// globs its cmd_*.cpp files, and these few functions need no translation unit of their own.
#pragma once

#include <cstdio>
#include <nlohmann/json.hpp>
#include <ostream>
#include <vector>

#include "skintrack/core/error.h"
#include "skintrack/scoring/learned_dataset.h"
#include "skintrack/scoring/learned_eval.h"

namespace skintrack::cli {

// One annotated set: IMAGES with a MASKS folder or with a DermX-style ANNOTATORS folder (then
// each photo keeps its annotators' masks for the human bar). `prefix` names the options in errors.
inline void LoadAnnotatedSet(const std::string& images, const std::optional<std::string>& masks,
                             const std::optional<std::string>& annotators,
                             scoring::LearnedTarget target, const std::string& prefix,
                             std::vector<scoring::AnnotatedPhoto>& out, bool binarise) {
  if (masks.has_value() == annotators.has_value()) {
    throw Error(ErrorCode::kInvalidArgument,
                "give exactly one of --" + prefix + "masks and --" + prefix + "annotators");
  }
  if (masks) {
    for (auto& im : scoring::LoadMaskFolder(images, *masks, binarise)) {
      scoring::AnnotatedPhoto p;
      p.image = std::move(im);
      out.push_back(std::move(p));
    }
    return;
  }
  for (auto& p : scoring::LoadAnnotatorFolder(images, *annotators, target))
    out.push_back(std::move(p));
}

inline nlohmann::json ScoresJson(const std::vector<scoring::PhotoScore>& scores) {
  nlohmann::json list = nlohmann::json::array();
  for (const auto& s : scores) {
    nlohmann::json j = {{"image", s.name},
                        {"dice", s.dice},
                        {"predicted_fraction", s.predicted_fraction},
                        {"truth_fraction", s.truth_fraction},
                        {"share_error_points", 100.0 * (s.predicted_fraction - s.truth_fraction)},
                        {"ita_degrees", s.ita},
                        {"ita_group", s.ita_group}};
    if (s.human) j["human_dice"] = *s.human;
    list.push_back(j);
  }
  return list;
}

inline nlohmann::json SummaryJson(const std::vector<scoring::GroupSummary>& summary) {
  nlohmann::json j = {{"groups", nlohmann::json::array()}};
  for (const auto& g : summary) {
    nlohmann::json r = {{"group", g.group},
                        {"photos", g.photos},
                        {"dice_mean", g.dice_mean},
                        {"dice_median", g.dice_median},
                        {"abs_share_error_points", g.abs_share_error_points}};
    if (g.human_mean) r["human_dice_mean"] = *g.human_mean;
    j["groups"].push_back(r);
  }
  const auto gap = scoring::GroupGap(summary);
  j["ita_gap"] = gap ? nlohmann::json(*gap) : nlohmann::json(nullptr);
  j["ita_gap_note"] = "best minus worst mean Dice over ITA groups with at least 2 photos";
  return j;
}

inline void PrintScores(const std::vector<scoring::PhotoScore>& scores,
                        const std::vector<scoring::GroupSummary>& summary, std::ostream& out) {
  char line[512];
  out << "image\tita\tgroup\tdice\tpred_%\ttruth_%\thuman\n";
  for (const auto& s : scores) {
    std::snprintf(line, sizeof line, "%s\t%.1f\t%s\t%.3f\t%.1f\t%.1f\t%s\n", s.name.c_str(), s.ita,
                  s.ita_group.c_str(), s.dice, 100 * s.predicted_fraction, 100 * s.truth_fraction,
                  s.human ? std::to_string(*s.human).substr(0, 5).c_str() : "-");
    out << line;
  }
  for (const auto& g : summary) {
    std::snprintf(line, sizeof line,
                  "%-14s n=%-3d dice mean %.3f median %.3f | |share err| %.1f pts", g.group.c_str(),
                  g.photos, g.dice_mean, g.dice_median, g.abs_share_error_points);
    out << line;
    if (g.human_mean) {
      std::snprintf(line, sizeof line, " | human bar %.3f", *g.human_mean);
      out << line;
    }
    out << "\n";
  }
  const auto gap = scoring::GroupGap(summary);
  if (gap) {
    std::snprintf(line, sizeof line, "ITA gap (groups with >= 2 photos): %.3f\n", *gap);
    out << line;
  } else {
    out << "ITA gap: fewer than two groups with >= 2 photos\n";
  }
}

}  // namespace skintrack::cli
