#include "skintrack/pipeline/annotation_agreement.h"

#include <map>

#include "skintrack/pipeline/annotations.h"
#include "skintrack/pipeline/results.h"

namespace skintrack::pipeline {

using nlohmann::json;

namespace {

// Numbers for a rating table: grades are their own value (ordinal alpha ranks them); nominal
// labels get a code per distinct text (only equality matters for them).
class Coder {
 public:
  double Code(const json& value) {
    if (value.is_number()) return value.get<double>();
    return static_cast<double>(
        codes_.emplace(value.get<std::string>(), codes_.size()).first->second);
  }

 private:
  std::map<std::string, std::size_t> codes_;
};

// One capture's counting annotations: which author (a column) gave which labels.
using CaptureLabels = std::vector<std::pair<std::size_t, annotation::ImageLabels>>;

struct Collected {
  std::vector<std::string> authors;  // columns, by name
  std::vector<CaptureLabels> captures;
};

Collected CollectLabels(storage::Store& store, const DatasetAgreementOptions& options,
                        DatasetAgreement& out) {
  std::vector<std::pair<std::string, annotation::ImageLabels>> flat;
  std::vector<std::size_t> capture_of;  // index into `flat` -> capture number
  std::map<std::string, std::size_t> columns;
  std::vector<double> dice;
  storage::Repository& repo = store.repository();
  std::int64_t after = 0;
  std::size_t capture_count = 0;
  for (;;) {
    const std::vector<std::int64_t> ids = repo.AnnotatedCaptures(after, 1000);
    if (ids.empty()) break;
    after = ids.back();
    for (std::int64_t id : ids) {
      const auto capture = repo.FindCapture(id);
      if (!capture || (options.condition && capture->condition != *options.condition)) continue;
      bool counted = false;
      for (const storage::AnnotationVersion& v : repo.LatestAnnotations(id)) {
        if (!CountsForConsensus(v)) continue;
        flat.emplace_back(v.author, LoadAnnotationContent(store, *capture, v).labels);
        capture_of.push_back(capture_count);
        columns.emplace(v.author, 0);
        counted = true;
      }
      if (counted) ++capture_count;
      for (const storage::Result& r : repo.LatestResults(id)) {
        if (r.kind == storage::ResultKind::kMeasurement && r.name == result::kAnnotationAgreement &&
            r.value) {
          dice.push_back(*r.value);
        }
      }
    }
  }
  Collected c;
  for (auto& [author, column] : columns) {
    column = c.authors.size();
    c.authors.push_back(author);
  }
  c.captures.resize(capture_count);
  for (std::size_t i = 0; i < flat.size(); ++i) {
    c.captures[capture_of[i]].emplace_back(columns.at(flat[i].first), flat[i].second);
  }
  out.captures = static_cast<int>(capture_count);
  out.lesion_dice_captures = static_cast<int>(dice.size());
  if (!dice.empty()) {
    double sum = 0;
    for (double d : dice) sum += d;
    out.lesion_pairwise_dice_mean = sum / static_cast<double>(dice.size());
  }
  return c;
}

LabelAgreement AgreeOn(LabelField field, const Collected& c) {
  LabelAgreement out;
  out.field = field;
  Coder coder;
  scoring::RatingTable table;
  for (const CaptureLabels& capture : c.captures) {
    std::vector<std::optional<double>> row(c.authors.size());
    int n = 0;
    for (const auto& [column, labels] : capture) {
      if (const auto value = LabelValue(labels, field)) {
        row[column] = coder.Code(*value);
        ++n;
      }
    }
    if (n < 2) continue;  // a label only one annotator gave cannot be agreed or disagreed on
    table.push_back(std::move(row));
    ++out.units;
    out.ratings += n;
  }
  if (table.empty()) return out;
  out.alpha = scoring::KrippendorffAlpha(table, MetricOf(field));
  const std::vector<std::optional<double>> agreement = scoring::AgreementWithOthers(table);
  for (std::size_t r = 0; r < c.authors.size(); ++r) {
    AnnotatorLabelAgreement a;
    a.author = c.authors[r];
    for (const auto& row : table) a.units += row[r] ? 1 : 0;
    if (a.units == 0) continue;
    a.agreement_with_others = agreement[r];
    out.per_annotator.push_back(a);
  }
  return out;
}

json OptionalJson(const std::optional<double>& v) { return v ? json(*v) : json(nullptr); }

}  // namespace

const char* LabelFieldName(LabelField f) noexcept {
  switch (f) {
    case LabelField::kDiagnosis:
      return "diagnosis";
    case LabelField::kSubtype:
      return "subtype";
    case LabelField::kErythema:
      return "erythema";
    case LabelField::kInduration:
      return "induration";
    case LabelField::kDesquamation:
      return "desquamation";
    case LabelField::kFitzpatrick:
      return "fitzpatrick";
    case LabelField::kMonk:
      return "monk";
    case LabelField::kImageQuality:
      return "image_quality";
  }
  return "?";
}

scoring::AlphaMetric MetricOf(LabelField f) noexcept {
  return f == LabelField::kDiagnosis || f == LabelField::kSubtype ? scoring::AlphaMetric::kNominal
                                                                  : scoring::AlphaMetric::kOrdinal;
}

std::optional<json> LabelValue(const annotation::ImageLabels& labels, LabelField f) {
  const auto grade = [](const std::optional<int>& v) {
    return v ? std::optional<json>(*v) : std::nullopt;
  };
  switch (f) {
    case LabelField::kDiagnosis:
      if (!labels.diagnosis) return std::nullopt;
      return json(ConditionName(*labels.diagnosis));
    case LabelField::kSubtype:
      if (labels.subtype.empty()) return std::nullopt;
      return json(labels.subtype);
    case LabelField::kErythema:
      return grade(labels.erythema);
    case LabelField::kInduration:
      return grade(labels.induration);
    case LabelField::kDesquamation:
      return grade(labels.desquamation);
    case LabelField::kFitzpatrick:
      return grade(labels.fitzpatrick);
    case LabelField::kMonk:
      return grade(labels.monk);
    case LabelField::kImageQuality:
      return grade(labels.image_quality);
  }
  return std::nullopt;
}

json CaptureLabelAgreementJson(const std::vector<std::string>& authors,
                               const std::vector<annotation::ImageLabels>& labels) {
  json out = json::object();
  for (LabelField field : kAllLabelFields) {
    std::vector<std::size_t> raters;
    std::vector<json> values;
    for (std::size_t i = 0; i < labels.size(); ++i) {
      if (const auto v = LabelValue(labels[i], field)) {
        raters.push_back(i);
        values.push_back(*v);
      }
    }
    if (raters.size() < 2) continue;
    Coder coder;
    scoring::RatingTable one_unit(1);
    for (const json& v : values) one_unit[0].emplace_back(coder.Code(v));
    const auto agreement = scoring::AgreementWithOthers(one_unit);
    json per_annotator = json::array();
    for (std::size_t k = 0; k < raters.size(); ++k) {
      per_annotator.push_back({{"author", authors.at(raters[k])},
                               {"value", values[k]},
                               {"agreement_with_others", OptionalJson(agreement[k])}});
    }
    out[LabelFieldName(field)] = {{"per_annotator", per_annotator}};
  }
  return out;
}

DatasetAgreement ComputeDatasetAgreement(storage::Store& store,
                                         const DatasetAgreementOptions& options) {
  DatasetAgreement out;
  const Collected c = CollectLabels(store, options, out);
  for (LabelField field : kAllLabelFields) out.labels.push_back(AgreeOn(field, c));
  return out;
}

json DatasetAgreementJson(const DatasetAgreement& a) {
  json labels = json::object();
  for (const LabelAgreement& l : a.labels) {
    json per_annotator = json::array();
    for (const AnnotatorLabelAgreement& p : l.per_annotator) {
      per_annotator.push_back({{"author", p.author},
                               {"units", p.units},
                               {"agreement_with_others", OptionalJson(p.agreement_with_others)}});
    }
    labels[LabelFieldName(l.field)] = {
        {"metric", MetricOf(l.field) == scoring::AlphaMetric::kNominal ? "nominal" : "ordinal"},
        {"alpha", OptionalJson(l.alpha)},
        {"units", l.units},
        {"ratings", l.ratings},
        {"per_annotator", per_annotator}};
  }
  return {{"captures", a.captures},
          {"labels", labels},
          {"lesion_pairwise_dice_mean", OptionalJson(a.lesion_pairwise_dice_mean)},
          {"lesion_dice_captures", a.lesion_dice_captures}};
}

}  // namespace skintrack::pipeline
