// Test helpers for the annotation dataset tests: a stored capture of a small synthetic photo,
// annotation content with every kind of field, and counts of what a store holds.
#pragma once

#include <gtest/gtest.h>

#include <algorithm>
#include <opencv2/imgcodecs.hpp>
#include <opencv2/imgproc.hpp>
#include <string>
#include <vector>

#include "skintrack/annotation/annotation.h"
#include "skintrack/pipeline/annotations.h"
#include "skintrack/storage/sha256.h"
#include "skintrack/storage/store.h"

namespace skintrack::pipeline::testing {

inline std::string PhotoPng(cv::Size size, int seed) {
  cv::Mat img(size, CV_8UC3);
  cv::randu(img, cv::Scalar::all(seed), cv::Scalar::all(200 + seed));
  std::vector<unsigned char> png;
  cv::imencode(".png", img, png);
  return {png.begin(), png.end()};
}

inline void AddPatient(storage::Store& store, const std::string& id, int fitzpatrick = 4) {
  storage::PatientInfo info;
  info.id = id;
  info.fitzpatrick = fitzpatrick;
  store.repository().CreatePatient(info, "test");
}

inline storage::NewCapture CaptureFacts(const std::string& patient, cv::Size size,
                                        const std::string& png) {
  storage::NewCapture c;
  c.patient_id = patient;
  c.site = "left-forearm";
  c.condition = Condition::kPsoriasis;
  c.captured_at = 1767225600000;
  c.media_type = "image/png";
  c.width = size.width;
  c.height = size.height;
  c.upload_sha256 = storage::Sha256Hex(png);
  return c;
}

inline storage::Capture StoreCapture(storage::Store& store, const std::string& patient,
                                     cv::Size size, int seed) {
  const std::string png = PhotoPng(size, seed);
  return store.IngestCapture(CaptureFacts(patient, size, png), png, "test").capture;
}

// Content with two mask classes, a box, keypoints and labels, varied by `k`.
inline annotation::AnnotationContent SampleContent(cv::Size size, int k) {
  annotation::AnnotationContent c;
  cv::Mat plaque = cv::Mat::zeros(size, CV_8U);
  cv::circle(plaque, {size.width / 2 + k, size.height / 2}, size.height / 4 + k, 255, cv::FILLED);
  c.masks[annotation::MaskClass::kPsoriasisPlaque] = plaque;
  cv::Mat exclude = cv::Mat::zeros(size, CV_8U);
  cv::rectangle(exclude, cv::Rect(1, 2, 5 + k, 4), 255, cv::FILLED);
  c.masks[annotation::MaskClass::kExclude] = exclude;
  c.boxes.push_back({annotation::MaskClass::kPsoriasisScale, 3.5 + k, 4, 10.25, 7});
  c.keypoints.push_back({"navel", 12.5 + k, 9.75});
  if (k % 2 == 0) c.keypoints.push_back({"mole_" + std::to_string(k), 20, 30});
  c.labels.diagnosis = Condition::kPsoriasis;
  c.labels.subtype = k % 2 == 0 ? "plaque" : "guttate";
  c.labels.erythema = k % 5;
  c.labels.induration = 1;
  c.labels.locations = {"left-forearm", "left-hand"};
  c.labels.fitzpatrick = 4;
  c.labels.monk = 6 + k % 3;
  c.labels.image_quality = 4;
  return c;
}

inline storage::AnnotationVersion Submit(storage::Store& store, const storage::Capture& capture,
                                         const std::string& author,
                                         const annotation::AnnotationContent& content,
                                         const std::string& note = "") {
  const Annotator who{author, storage::Role::kAnnotator};
  return ChangeOwnAnnotation(store, capture, who, annotation::AnnotationAction::kSubmit, content,
                             note, 0);
}

// Every stored annotation version and capture of `store`.
struct Counts {
  std::size_t captures = 0;
  std::size_t versions = 0;
  bool operator==(const Counts& o) const {
    return captures == o.captures && versions == o.versions;
  }
};

inline Counts CountStored(storage::Store& store) {
  Counts n;
  for (const auto& p : store.repository().ListPatients()) {
    storage::SeriesQuery q;
    q.patient_id = p.info.id;
    n.captures += store.repository().TimeSeries(q).size();
  }
  for (std::int64_t id : store.repository().AnnotatedCaptures(0, 10000)) {
    for (const auto& v : store.repository().LatestAnnotations(id)) {
      n.versions += store.repository().AnnotationHistory(v.annotation_id).size();
    }
  }
  return n;
}

inline void ExpectSameContent(const annotation::AnnotationContent& a,
                              const annotation::AnnotationContent& b) {
  ASSERT_EQ(a.masks.size(), b.masks.size());
  for (const auto& [cls, mask] : a.masks) {
    ASSERT_TRUE(b.masks.count(cls)) << annotation::MaskClassName(cls);
    EXPECT_EQ(cv::countNonZero(mask != b.masks.at(cls)), 0) << annotation::MaskClassName(cls);
  }
  ASSERT_EQ(a.boxes.size(), b.boxes.size());
  for (size_t i = 0; i < a.boxes.size(); ++i) {
    EXPECT_EQ(a.boxes[i].mask_class, b.boxes[i].mask_class);
    EXPECT_EQ(a.boxes[i].x, b.boxes[i].x);
    EXPECT_EQ(a.boxes[i].y, b.boxes[i].y);
    EXPECT_EQ(a.boxes[i].width, b.boxes[i].width);
    EXPECT_EQ(a.boxes[i].height, b.boxes[i].height);
  }
  auto sorted = [](std::vector<annotation::Keypoint> k) {
    std::sort(k.begin(), k.end(), [](const auto& p, const auto& q) { return p.name < q.name; });
    return k;
  };
  const auto ka = sorted(a.keypoints), kb = sorted(b.keypoints);
  ASSERT_EQ(ka.size(), kb.size());
  for (size_t i = 0; i < ka.size(); ++i) {
    EXPECT_EQ(ka[i].name, kb[i].name);
    EXPECT_EQ(ka[i].x, kb[i].x);
    EXPECT_EQ(ka[i].y, kb[i].y);
  }
  const auto& la = a.labels;
  const auto& lb = b.labels;
  EXPECT_EQ(la.diagnosis, lb.diagnosis);
  EXPECT_EQ(la.subtype, lb.subtype);
  EXPECT_EQ(la.erythema, lb.erythema);
  EXPECT_EQ(la.induration, lb.induration);
  EXPECT_EQ(la.desquamation, lb.desquamation);
  EXPECT_EQ(la.locations, lb.locations);
  EXPECT_EQ(la.fitzpatrick, lb.fitzpatrick);
  EXPECT_EQ(la.monk, lb.monk);
  EXPECT_EQ(la.image_quality, lb.image_quality);
}

}  // namespace skintrack::pipeline::testing
