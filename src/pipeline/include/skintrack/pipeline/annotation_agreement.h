// Agreement of annotators on image-level labels (docs/annotation.md, "Agreement of labels across
// a dataset"): per capture, each annotator's value and agreement with the others (stored with a
// consensus); per dataset, Krippendorff's alpha per label and each annotator's agreement with the
// others, over every capture's annotations that count for a consensus (CountsForConsensus).
// The statistics are scoring/agreement.h's; this file arranges annotations into rating tables.
#pragma once

#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <vector>

#include "skintrack/annotation/annotation.h"
#include "skintrack/scoring/agreement.h"
#include "skintrack/storage/store.h"

namespace skintrack::pipeline {

// The labels agreement is computed on (locations, a set of tags, are not one value and are left
// out), in this order.
enum class LabelField {
  kDiagnosis,
  kSubtype,
  kErythema,
  kInduration,
  kDesquamation,
  kFitzpatrick,
  kMonk,
  kImageQuality
};
inline constexpr LabelField kAllLabelFields[] = {
    LabelField::kDiagnosis,  LabelField::kSubtype,      LabelField::kErythema,
    LabelField::kInduration, LabelField::kDesquamation, LabelField::kFitzpatrick,
    LabelField::kMonk,       LabelField::kImageQuality};

// "diagnosis", "subtype", "erythema", ... as in the annotation document's labels.
const char* LabelFieldName(LabelField f) noexcept;
// kNominal for diagnosis and subtype (categories), kOrdinal for the rest (grades and scales whose
// steps are ranks, not equal distances).
scoring::AlphaMetric MetricOf(LabelField f) noexcept;
// The label's value as it appears in the document ("psoriasis", "plaque", 2), or nullopt when the
// annotator did not set it.
std::optional<nlohmann::json> LabelValue(const annotation::ImageLabels& labels, LabelField f);

// One capture's labels by several annotators (`authors[i]` gave `labels[i]`): for each label set
// by at least 2 of them, {"<label>": {"per_annotator": [{"author", "value",
// "agreement_with_others"}]}} listing those who set it; agreement_with_others is the share of the
// others who gave the same value (scoring::AgreementWithOthers on this one capture).
nlohmann::json CaptureLabelAgreementJson(const std::vector<std::string>& authors,
                                         const std::vector<annotation::ImageLabels>& labels);

struct AnnotatorLabelAgreement {
  std::string author;
  int units = 0;  // captures the author labelled together with at least one other annotator
  std::optional<double> agreement_with_others;  // nullopt when units is 0
};

struct LabelAgreement {
  LabelField field = LabelField::kDiagnosis;
  int units = 0;    // captures where at least 2 annotators set the label (what alpha uses)
  int ratings = 0;  // the values given on those captures
  std::optional<double> alpha;  // Krippendorff's alpha; nullopt when units is 0
  // The authors who set the label on at least one of those captures, by name.
  std::vector<AnnotatorLabelAgreement> per_annotator;
};

struct DatasetAgreementOptions {
  std::optional<Condition> condition;  // only captures of that condition
};

struct DatasetAgreement {
  int captures = 0;  // annotated captures with at least one annotation that counts
  std::vector<LabelAgreement> labels;  // kAllLabelFields order
  // The mean over captures of the stored annotation_agreement result's pairwise lesion Dice (the
  // latest per capture), and how many captures have one; nullopt when none has.
  std::optional<double> lesion_pairwise_dice_mean;
  int lesion_dice_captures = 0;
};

// Reads every annotated capture (Repository::AnnotatedCaptures), the latest version of each of
// its annotations that counts for a consensus, decoded (LoadAnnotationContent), and the stored
// agreement results. Writes nothing.
DatasetAgreement ComputeDatasetAgreement(storage::Store& store,
                                         const DatasetAgreementOptions& options);

nlohmann::json DatasetAgreementJson(const DatasetAgreement& a);

}  // namespace skintrack::pipeline
