// A small cohort for the export tests: phantom captures stored with visit labels and processed as
// the workers would. P1 has psoriasis on the left forearm at baseline, week-2, week-8 and week-12
// (labels whose text order, week-12 < week-2 < week-8, is not their visit order); P2 has vitiligo
// on the face at screening, baseline and week-4.
#pragma once

#include <gtest/gtest.h>

#include <opencv2/imgcodecs.hpp>
#include <string>
#include <vector>

#include "skintrack/phantom/phantom.h"
#include "skintrack/pipeline/pipeline.h"
#include "skintrack/pipeline/pseudonym.h"
#include "skintrack/storage/store.h"

namespace skintrack::report::testing {

inline const pipeline::PseudonymKey kKey{pipeline::PseudonymKey::Scheme::kHmacSha256, "test-key"};
inline constexpr std::int64_t kDay = 86400000;
inline constexpr std::int64_t kStart = 1767258000000;  // 2026-01-01T09:00:00Z

inline void StoreVisits(storage::Store& store, const std::string& patient, const std::string& site,
                        Condition condition, const std::vector<std::string>& labels,
                        const std::vector<int>& days, std::uint64_t seed) {
  if (!store.repository().FindPatient(patient)) {
    storage::PatientInfo info;
    info.id = patient;
    store.repository().CreatePatient(info, "test");
  }
  phantom::PhantomOptions o;
  o.size = cv::Size(320, 240);
  o.visits = static_cast<int>(labels.size());
  o.seed = seed;
  o.condition = condition;
  o.max_rotation_deg = 5;
  o.new_lesions = false;
  const phantom::Series s = phantom::GeneratePhantom(o);
  for (size_t k = 0; k < labels.size(); ++k) {
    std::vector<unsigned char> png;
    cv::imencode(".png", s.visits[k].image, png);
    storage::NewCapture c;
    c.patient_id = patient;
    c.site = site;
    c.condition = condition;
    c.visit = labels[k];
    c.captured_at = kStart + days[k] * kDay;
    c.width = s.visits[k].image.cols;
    c.height = s.visits[k].image.rows;
    store.IngestCapture(c, std::string_view(reinterpret_cast<const char*>(png.data()), png.size()),
                        "test");
  }
}

inline void Drain(storage::Store& store) {
  while (const auto item = store.repository().ClaimWork("worker:test", 60000)) {
    pipeline::ProcessCapture(store, item->capture, pipeline::PipelineOptions{}, "worker:test");
    store.repository().CompleteWork(item->capture.id, "worker:test");
  }
}

// The cohort above in an in-memory store.
inline std::unique_ptr<storage::Store> CohortStore() {
  auto store = storage::Store::OpenInMemory();
  StoreVisits(*store, "P1", "left-forearm", Condition::kPsoriasis,
              {"baseline", "week-2", "week-8", "week-12"}, {0, 14, 56, 84}, 11);
  StoreVisits(*store, "P2", "face", Condition::kVitiligo, {"screening", "baseline", "week-4"},
              {-7, 0, 28}, 12);
  Drain(*store);
  return store;
}

// RFC 4180, strictly: every record ends with "\n", fields are plain or fully quoted, and a quote
// inside a plain field or after a closing quote is an error (ADD_FAILURE, empty result).
inline std::vector<std::vector<std::string>> ParseCsvStrict(const std::string& text) {
  std::vector<std::vector<std::string>> rows;
  std::vector<std::string> row(1);
  bool quoted = false, was_quoted = false;
  for (size_t i = 0; i < text.size(); ++i) {
    const char c = text[i];
    if (quoted) {
      if (c != '"') {
        row.back().push_back(c);
      } else if (i + 1 < text.size() && text[i + 1] == '"') {
        row.back().push_back('"');
        ++i;
      } else {
        quoted = false;
        was_quoted = true;
      }
    } else if (c == ',') {
      row.emplace_back();
      was_quoted = false;
    } else if (c == '\n') {
      rows.push_back(std::move(row));
      row.assign(1, "");
      was_quoted = false;
    } else if (c == '"' && row.back().empty() && !was_quoted) {
      quoted = true;
    } else if (c == '"' || c == '\r' || was_quoted) {
      ADD_FAILURE() << "malformed CSV at byte " << i;
      return {};
    } else {
      row.back().push_back(c);
    }
  }
  if (quoted || row.size() != 1 || !row[0].empty()) {
    ADD_FAILURE() << "CSV does not end with a complete record";
    return {};
  }
  for (const auto& r : rows) {
    if (r.size() != rows[0].size()) {
      ADD_FAILURE() << "a record has " << r.size() << " fields, the header " << rows[0].size();
      return {};
    }
  }
  return rows;
}

// The records of a parsed CSV as maps from the header's names.
inline std::vector<std::map<std::string, std::string>> Records(
    const std::vector<std::vector<std::string>>& rows) {
  std::vector<std::map<std::string, std::string>> out;
  for (size_t i = 1; i < rows.size(); ++i) {
    std::map<std::string, std::string> m;
    for (size_t j = 0; j < rows[0].size(); ++j) m[rows[0][j]] = rows[i][j];
    out.push_back(std::move(m));
  }
  return out;
}

}  // namespace skintrack::report::testing
