// Annotated photo sets for training and evaluating the learned segmenter: a folder of images with
// a folder of masks, or DermX-style multi-annotator folders. Readers check every file and name
// the first bad one in the error; nothing is read lazily.
#pragma once

#include <filesystem>
#include <optional>
#include <string>
#include <vector>

#include "skintrack/scoring/consensus.h"
#include "skintrack/scoring/learned_segmenter.h"

namespace skintrack::scoring {

// A photo with several annotators' masks; `image.mask` is their consensus.
struct AnnotatedPhoto {
  LabelledImage image;
  std::vector<std::string> annotators;
  std::vector<cv::Mat> annotator_masks;  // CV_8UC1 0/255, the annotator's classes of the condition
};

// A mask file as a CV_8UC1 0/255 image of `expected` size. Throws Error(kIo) when missing,
// Error(kImageDecode) when it does not decode and Error(kInvalidArgument), naming the file, when
// its size differs or it holds other values than 0 and 255 (a colour mask must be grey). With
// `binarise`, other values are accepted and thresholded at 128 (sets whose masks were resampled or
// saved as JPEG at some point); the caller asks for it explicitly.
cv::Mat ReadBinaryMask(const std::string& path, cv::Size expected, bool binarise = false);

// Images `images_dir/<stem>.{jpg,jpeg,png,bmp,tif,tiff,webp}` with masks
// `masks_dir/<stem>{,_mask,_lesion,_segmentation,_gt}.png`, sorted by name. Throws
// Error(kNotFound) for a missing folder and Error(kInvalidArgument) naming the file for an image
// without a mask, a bad mask, or no image at all.
std::vector<LabelledImage> LoadMaskFolder(const std::string& images_dir,
                                          const std::string& masks_dir, bool binarise = false);

// Multi-annotator folders: `annotators_dir/<photo>/<annotator>_<Class>.png` with the photo at
// `images_dir/<photo>.<ext>`. An annotator's mask is the union of their classes of the target
// (psoriasis: Plaque, Scale, Papule; vitiligo: Patch, Macule); an annotator who drew only other
// classes counts with an empty mask. The consensus is every pixel marked by at least half of the
// annotators (MajorityConsensus, consensus.h). Throws as LoadMaskFolder, and
// Error(kInvalidArgument) for the skin target.
std::vector<AnnotatedPhoto> LoadAnnotatorFolder(const std::string& images_dir,
                                                const std::string& annotators_dir,
                                                LearnedTarget target);

// The human bar of one photo: the mean over annotators of the Dice of each annotator's mask with
// the consensus of the others. Needs at least 2 annotators (otherwise returns nullopt).
std::optional<double> HumanAgreement(const AnnotatedPhoto& photo);

// The source photo a file name stands for, to keep augmented copies in one cross-validation
// fold: Roboflow exports name copies "<8 hex digits>-<source>.rf.<hash>.<ext>", which gives
// "<source>"; any other name is its own source (its stem).
std::string SourceKey(const std::string& file_name);

// Tone of the image's normal skin, from the medians of L* and b* over `skin` minus `lesion`
// (either may be empty; falls back to the whole skin, then the whole image).
struct SkinTone {
  double ita_degrees = 0;
  std::string group;  // skintrack::SkinToneGroup: an ITA group, or "uncertain" (colour cast)
};
SkinTone NormalSkinTone(const cv::Mat& bgr, const cv::Mat& skin, const cv::Mat& lesion);

// The image files (.jpg .jpeg .png .bmp .tif .tiff .webp, any case) directly in `dir`, sorted.
// Throws Error(kNotFound) when `dir` is not a directory.
std::vector<std::filesystem::path> ImagesIn(const std::filesystem::path& dir);

}  // namespace skintrack::scoring
