// The one home of turning a stored photo's bytes into the pixels everyone works on. Photos are
// stored bit-exact as the device sent them, without their EXIF block; the EXIF orientation is kept
// beside them (storage::Capture::orientation) and applied here, after the decode. Every reader of a
// capture's pixels (pipeline, overlays, DICOM export, model training) goes through these functions,
// so that a rotated photo is never seen unrotated by one stage and rotated by another.
#pragma once

#include <opencv2/core.hpp>
#include <string_view>

namespace skintrack {

// True for 1..8, the values of TIFF tag 274 (Orientation).
bool IsExifOrientation(int orientation) noexcept;

// `image` as it is meant to be shown, given the EXIF orientation of its stored (row 0 = first
// stored row) pixels: 1 unchanged, 2 mirrored, 3 rotated 180, 4 flipped, 5 transposed, 6 rotated
// 90 degrees clockwise, 7 transverse, 8 rotated 90 counter-clockwise; the same transforms as
// OpenCV's imdecode applies to a file carrying the tag, so the result equals imdecode of the
// original upload exactly. 5..8 swap width and height. Returns a new matrix (or `image` itself for
// 1). Error(kInvalidArgument) for an orientation outside 1..8.
cv::Mat ApplyExifOrientation(const cv::Mat& image, int orientation);

// Width and height of the shown image: swapped for orientations 5..8.
cv::Size OrientedSize(cv::Size stored, int orientation);

// Decodes PNG or JPEG bytes that carry no orientation of their own (any EXIF orientation in them
// is ignored) and applies `orientation`. `flags`: cv::IMREAD_COLOR (8-bit BGR) or
// cv::IMREAD_GRAYSCALE. Error(kImageDecode) with the decoder's reason when the bytes do not decode
// in full; Error(kInvalidArgument) for a bad orientation. Thread-safe.
cv::Mat DecodeOriented(std::string_view bytes, int orientation, int flags);

}  // namespace skintrack
