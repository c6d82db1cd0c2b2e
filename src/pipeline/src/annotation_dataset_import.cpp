// The COCO import into a Store (annotation_dataset.h): a plan is built and checked whole (every
// image resolved, every annotation's content encoded and checked against its capture), then
// written.
#include <algorithm>
#include <map>
#include <utility>

#include "coco_mapping.h"
#include "skintrack/annotation/document.h"
#include "skintrack/annotation/rle.h"
#include "skintrack/core/error.h"
#include "skintrack/pipeline/annotation_dataset.h"
#include "skintrack/pipeline/annotations.h"
#include "skintrack/storage/sha256.h"

namespace skintrack::pipeline {
namespace {

using annotation::AnnotationContent;
using annotation::AnnotationState;
using annotation::CocoAnnotation;
using annotation::CocoDataset;
using annotation::CocoImage;
using annotation::ReviewDecision;

constexpr char kNote[] = "imported from a COCO dataset";

[[noreturn]] void Bad(const std::string& where, const std::string& what) {
  throw Error(ErrorCode::kInvalidArgument, "COCO " + where + ": " + what);
}

std::string ImagePlace(const CocoDataset& d, size_t i) {
  std::string s = "images[" + std::to_string(i) + "]";
  if (!d.images[i].file_name.empty()) s += " (" + d.images[i].file_name + ")";
  return s;
}

// What a category means to skintrack.
struct CategoryUse {
  std::optional<annotation::MaskClass> mask_class;
  std::vector<std::string> keypoint_names;  // normalised
  std::string name;
};

std::map<std::int64_t, CategoryUse> Categories(const CocoDataset& d) {
  std::map<std::int64_t, CategoryUse> out;
  for (const auto& c : d.categories) {
    CategoryUse use;
    use.name = c.name;
    std::string name = coco_mapping::NormalisedName(c.name);
    if (name == "psoriasis")
      name = annotation::MaskClassName(annotation::MaskClass::kPsoriasisPlaque);
    if (name == "vitiligo") {
      name = annotation::MaskClassName(annotation::MaskClass::kVitiligoDepigmented);
    }
    for (annotation::MaskClass m : annotation::kAllMaskClasses) {
      if (name == annotation::MaskClassName(m)) use.mask_class = m;
    }
    for (const auto& k : c.keypoint_names) {
      use.keypoint_names.push_back(coco_mapping::NormalisedName(k));
    }
    out[c.id] = std::move(use);
  }
  return out;
}

annotation::MaskClass MaskClassOf(const CategoryUse& use, const std::string& where) {
  if (use.mask_class) return *use.mask_class;
  std::string list;
  for (annotation::MaskClass m : annotation::kAllMaskClasses) {
    list += (list.empty() ? "" : ", ") + std::string(annotation::MaskClassName(m));
  }
  Bad(where, "category '" + use.name + "' is not a mask class (" + list +
                 ", or psoriasis / vitiligo for their lesions)");
}

// One (image, author) annotation to write.
struct Planned {
  size_t image = 0;
  std::string author;
  AnnotationContent content;
  std::string document;  // EncodeDocument bytes
  std::string place;     // for messages
};

enum class Step { kSubmit, kReviewOnly, kNothing };

// What writing `p` takes, given what is stored for (capture, author). Error(kConflict) when
// something else is stored there.
Step Decide(const std::optional<storage::AnnotationVersion>& existing, const Planned& p,
            CocoImportState wanted, std::int64_t capture_id) {
  if (!existing) return Step::kSubmit;
  const bool same = existing->content.sha256 == storage::Sha256Hex(p.document);
  const bool accepted = existing->state == AnnotationState::kReviewed &&
                        existing->decision != ReviewDecision::kRejected;
  if (same && accepted) return Step::kNothing;
  if (same && existing->state == AnnotationState::kSubmitted) {
    return wanted == CocoImportState::kAccepted ? Step::kReviewOnly : Step::kNothing;
  }
  throw Error(ErrorCode::kConflict, "COCO " + p.place + ": capture " + std::to_string(capture_id) +
                                        " already has an annotation by " + p.author + " (version " +
                                        std::to_string(existing->version) + ", " +
                                        annotation::AnnotationStateName(existing->state) +
                                        (same ? "" : ", other content") +
                                        "); nothing was imported");
}

class Importer {
 public:
  Importer(storage::Store& store, const CocoDataset& d, const CocoImportOptions& options,
           std::string actor)
      : store_(store), d_(d), options_(options), actor_(std::move(actor)) {}

  CocoImportReport Run() {
    ResolveImages();
    PlanAnnotations();
    EncodeAndCheck();
    try {
      Write();
    } catch (const Error& e) {
      throw Error(e.code(), std::string(e.what()) + " (imported before this failure: " +
                                std::to_string(report_.captures_created) + " new captures, " +
                                std::to_string(report_.annotations_imported) +
                                " annotations; the same import again completes it)");
    }
    return report_;
  }

 private:
  // Each image's capture (by skintrack.capture_id, or the one stored from the same upload) and
  // size.
  void ResolveImages() {
    const bool ingest = !options_.new_captures.empty();
    if (ingest && options_.new_captures.size() != d_.images.size()) {
      Bad("images", "the dataset has " + std::to_string(d_.images.size()) + " images but " +
                        std::to_string(options_.new_captures.size()) + " image files were given");
    }
    for (size_t i = 0; i < d_.images.size(); ++i) {
      const CocoImage& im = d_.images[i];
      std::optional<storage::Capture> capture;
      cv::Size size;
      if (ingest) {
        const storage::NewCapture& nc = options_.new_captures[i].capture;
        size = {nc.width, nc.height};
        capture = store_.repository().FindCaptureByUpload(nc.patient_id, nc.upload_sha256);
      } else {
        if (!im.capture_id) {
          Bad(ImagePlace(d_, i),
              "has no skintrack.capture_id (give the image files, a patient, "
              "a site and a condition to ingest it as a new capture)");
        }
        capture = store_.repository().FindCapture(*im.capture_id);
        if (!capture) {
          throw Error(ErrorCode::kNotFound, "COCO " + ImagePlace(d_, i) + ": no capture " +
                                                std::to_string(*im.capture_id) +
                                                "; nothing was imported");
        }
        size = {capture->width, capture->height};
      }
      if (size.width != im.width || size.height != im.height) {
        Bad(ImagePlace(d_, i), "is " + std::to_string(im.width) + "x" + std::to_string(im.height) +
                                   " in the file but its " + (ingest ? "image file" : "capture") +
                                   " is " + std::to_string(size.width) + "x" +
                                   std::to_string(size.height));
      }
      captures_.push_back(capture);
      sizes_.push_back(size);
    }
  }

  Planned& PlanFor(size_t image, const std::string& annotator) {
    const std::string author = coco_mapping::AuthorOf(annotator);
    const auto key = std::make_pair(image, author);
    const auto it = index_.find(key);
    if (it != index_.end()) return planned_[it->second];
    index_.emplace(key, planned_.size());
    Planned p;
    p.image = image;
    p.author = author;
    p.place = ImagePlace(d_, image) + " annotator " + author;
    planned_.push_back(std::move(p));
    return planned_.back();
  }

  void PlanAnnotations() {
    std::map<std::int64_t, size_t> image_index;
    for (size_t i = 0; i < d_.images.size(); ++i) image_index[d_.images[i].id] = i;
    const auto categories = Categories(d_);
    for (size_t i = 0; i < d_.annotations.size(); ++i) {
      const CocoAnnotation& a = d_.annotations[i];
      const size_t image = image_index.at(a.image_id);  // ParseCoco resolved the references
      Add(a, categories.at(a.category_id), "annotations[" + std::to_string(i) + "]",
          PlanFor(image, a.annotator));
    }
    for (size_t i = 0; i < d_.images.size(); ++i) {
      const CocoImage& im = d_.images[i];
      const std::string at = ImagePlace(d_, i) + ".skintrack";
      if (!im.labels.empty()) {
        PlanFor(i, "").content.labels = coco_mapping::LabelsFromStrings(im.labels, at + ".labels");
      }
      for (const auto& [annotator, labels] : im.annotator_labels) {
        PlanFor(i, annotator).content.labels =
            coco_mapping::LabelsFromStrings(labels, at + ".annotator_labels." + annotator);
      }
    }
    // Checked and written in image order, so the first problem named is the file's first.
    std::stable_sort(planned_.begin(), planned_.end(),
                     [](const Planned& a, const Planned& b) { return a.image < b.image; });
    index_.clear();
  }

  // Keypoints need the category's names; a segmentation is a mask of the category's class (the
  // union with the author's other segmentations of it); a bbox without a segmentation is a box,
  // except on a keypoint annotation, where it is the extent of the points.
  void Add(const CocoAnnotation& a, const CategoryUse& use, const std::string& where, Planned& p) {
    bool used = false;
    for (size_t k = 0; k < a.keypoints.size(); ++k) {
      if (use.keypoint_names.empty()) Bad(where, "category '" + use.name + "' names no keypoints");
      if (a.keypoints[k].visibility == 0) continue;
      p.content.keypoints.push_back({use.keypoint_names[k], a.keypoints[k].x, a.keypoints[k].y});
      used = true;
    }
    if (a.segmentation) {
      const annotation::MaskClass c = MaskClassOf(use, where + ".category_id");
      const cv::Mat mask = annotation::DecodeRle(*a.segmentation);
      auto [it, fresh] = p.content.masks.emplace(c, mask);
      if (!fresh) cv::bitwise_or(it->second, mask, it->second);
      used = true;
    } else if (a.bbox && a.keypoints.empty()) {
      const annotation::MaskClass c = MaskClassOf(use, where + ".category_id");
      p.content.boxes.push_back({c, a.bbox->x, a.bbox->y, a.bbox->width, a.bbox->height});
      used = true;
    }
    if (!used && a.keypoints.empty()) {
      Bad(where, "has no segmentation, bbox or keypoints");
    }
  }

  void EncodeAndCheck() {
    for (Planned& p : planned_) {
      try {
        storage::ValidateActor(p.author);
        p.document = annotation::EncodeDocument(p.content, sizes_[p.image]);
      } catch (const Error& e) {
        throw Error(e.code(), "COCO " + p.place + ": " + e.what() + "; nothing was imported");
      }
      if (const auto& c = captures_[p.image]) {
        Decide(store_.repository().FindAnnotation(c->id, p.author), p, options_.state, c->id);
      }
    }
  }

  void Write() {
    for (size_t i = 0; i < d_.images.size(); ++i) {
      if (!options_.new_captures.empty()) {
        const CocoImportImage& image = options_.new_captures[i];
        const storage::IngestResult r = store_.IngestCapture(image.capture, image.bytes, actor_);
        report_.captures_created += r.created ? 1 : 0;
        captures_[i] = r.capture;
      }
      report_.capture_ids.push_back(captures_[i]->id);
    }
    for (const Planned& p : planned_) WriteOne(p, *captures_[p.image]);
  }

  void WriteOne(const Planned& p, const storage::Capture& capture) {
    const auto existing = store_.repository().FindAnnotation(capture.id, p.author);
    const Step step = Decide(existing, p, options_.state, capture.id);
    if (step == Step::kNothing) {
      ++report_.annotations_unchanged;
      report_.version_ids.push_back(existing->id);
      return;
    }
    storage::AnnotationVersion v;
    if (step == Step::kSubmit) {
      const Annotator author{p.author, storage::Role::kAnnotator};
      v = ChangeOwnAnnotation(store_, capture, author, annotation::AnnotationAction::kSubmit,
                              p.content, kNote, 0);
    } else {
      v = *existing;
    }
    if (options_.state == CocoImportState::kAccepted) {
      const Annotator reviewer{actor_, storage::Role::kAdmin};
      v = ReviewAnnotation(store_, capture, v.annotation_id, reviewer, ReviewDecision::kAccepted,
                           std::nullopt, kNote, v.version);
    }
    ++report_.annotations_imported;
    report_.version_ids.push_back(v.id);
  }

  storage::Store& store_;
  const CocoDataset& d_;
  const CocoImportOptions& options_;
  const std::string actor_;
  std::vector<std::optional<storage::Capture>> captures_;  // per image; unknown until ingested
  std::vector<cv::Size> sizes_;
  std::vector<Planned> planned_;
  std::map<std::pair<size_t, std::string>, size_t> index_;
  CocoImportReport report_;
};

}  // namespace

CocoImportReport ImportCocoDataset(storage::Store& store, const CocoDataset& dataset,
                                   const CocoImportOptions& options, const std::string& actor) {
  return Importer(store, dataset, options, actor).Run();
}

}  // namespace skintrack::pipeline
