// The annotation document: one AnnotationContent as bytes. It is what an annotation version
// stores as its blob and what the HTTP API takes and gives (docs/annotation.md, "The annotation
// document"): a JSON object with masks as COCO run-length encodings (column-major runs, the
// compressed string or a list of counts), boxes, keypoints and image-level labels. JSON stays in
// document.cpp; callers see typed values.
#pragma once

#include <opencv2/core.hpp>
#include <string>
#include <string_view>

#include "skintrack/annotation/annotation.h"

namespace skintrack::annotation {

// Canonical bytes of `content` (keys sorted, masks as compressed-string RLE): the same content
// gives the same bytes, so an unchanged save stores no new blob. Calls CheckContent first.
std::string EncodeDocument(const AnnotationContent& content, cv::Size image_size);

// Reads a document (the canonical form, or a client's: counts as a list, fields missing). Checks
// everything (CheckContent against `image_size` included) before returning; Error(kInvalidArgument)
// naming the first problem with its place ("masks.skin.size: ...").
AnnotationContent DecodeDocument(std::string_view bytes, cv::Size image_size);

}  // namespace skintrack::annotation
