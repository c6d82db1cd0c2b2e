// COCO (cocodataset.org/#format-data) datasets as typed values: the instance-segmentation and
// keypoint fields that CVAT, Label Studio and pycocotools read and write, plus skintrack's own
// fields in an extension object "skintrack" on images and annotations (capture id, skin tone,
// image-level labels, annotator) that other tools keep or ignore. JSON stays in coco.cpp.
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "skintrack/annotation/rle.h"

namespace skintrack::annotation {

struct CocoImage {
  std::int64_t id = 0;
  int width = 0;
  int height = 0;
  std::string file_name;
  // skintrack extension fields (all optional):
  std::optional<std::int64_t> capture_id;
  std::string subject;  // patient id, or the pseudonymised subject id in a coordinator's export
  std::optional<int> fitzpatrick;             // 1..6
  std::optional<int> monk;                    // 1..10 (Monk Skin Tone scale)
  std::optional<double> ita_degrees;          // individual typology angle of normal skin
  std::map<std::string, std::string> labels;  // image-level labels: diagnosis, subtype, ...
  // Image-level labels per annotator (skintrack.annotator_labels), keyed by the annotator as
  // in CocoAnnotation::annotator: in skintrack every annotator labels the image on their own.
  std::map<std::string, std::map<std::string, std::string>> annotator_labels;
};

struct CocoCategory {
  std::int64_t id = 0;
  std::string name;
  std::string supercategory;
  std::vector<std::string> keypoint_names;  // for keypoint annotations of this category
};

struct CocoKeypoint {
  double x = 0;
  double y = 0;
  int visibility = 0;  // 0 not labelled, 1 labelled but hidden, 2 labelled and visible
};

struct CocoBox {
  double x = 0, y = 0, width = 0, height = 0;
};

struct CocoAnnotation {
  std::int64_t id = 0;
  std::int64_t image_id = 0;
  std::int64_t category_id = 0;
  std::optional<Rle> segmentation;  // polygons are filled into an RLE when read
  std::optional<CocoBox> bbox;
  std::vector<CocoKeypoint> keypoints;
  bool iscrowd = false;
  std::string annotator;  // skintrack extension: who drew it
};

struct CocoDataset {
  std::string description;  // info.description
  // info.skintrack.annotation_versions: the stored annotation versions an export holds.
  std::vector<std::int64_t> annotation_versions;
  std::vector<CocoImage> images;
  std::vector<CocoCategory> categories;
  std::vector<CocoAnnotation> annotations;
};

// Reads a COCO file's text. Checks everything before returning, so a malformed file is refused
// whole: Error(kInvalidArgument) naming the first problem with its place ("annotations[3]
// .segmentation.size: ..."). Accepts polygons or RLE (counts as a list or a compressed string),
// missing optional fields (bbox, area, iscrowd, keypoints, supercategory, info, licenses) and
// unknown fields (ignored). Ids must be unique integers; references must resolve; an RLE's size
// must be its image's; keypoints must number 3 per the category's keypoint names.
CocoDataset ParseCoco(const std::string& text);

// The dataset as COCO JSON: masks as compressed-string RLE with `area` and `bbox` (computed from
// the mask when the annotation has none), keypoints with num_keypoints. Deterministic: the same
// dataset gives the same bytes (order of the vectors kept, keys sorted).
std::string WriteCoco(const CocoDataset& dataset);

// The bounding box of a mask's marked pixels (x, y, width, height; all zero when empty).
CocoBox MaskBox(const cv::Mat& mask);

}  // namespace skintrack::annotation
