// Test photos for the DICOM writer: a baseline JPEG and a PNG of a made-up patch of skin.
#pragma once

#include <opencv2/imgcodecs.hpp>
#include <opencv2/imgproc.hpp>
#include <string>
#include <vector>

#include "skintrack/dicom/dicom.h"

namespace skintrack::testing {

inline cv::Mat SkinPatch() {
  cv::Mat img(120, 160, CV_8UC3, cv::Scalar(140, 160, 205));
  cv::circle(img, {60, 60}, 25, cv::Scalar(110, 110, 200), cv::FILLED);
  cv::rectangle(img, {100, 20}, {150, 90}, cv::Scalar(190, 200, 230), cv::FILLED);
  return img;
}

inline std::string Encoded(const cv::Mat& img, const std::string& ext) {
  std::vector<unsigned char> buf;
  cv::imencode(ext, img, buf, {cv::IMWRITE_JPEG_QUALITY, 95});
  return {buf.begin(), buf.end()};
}

inline dicom::Photo TestPhoto(const std::string& media_type) {
  dicom::Photo p;
  p.media_type = media_type;
  p.image_bytes = Encoded(SkinPatch(), media_type == "image/png" ? ".png" : ".jpg");
  p.capture_id = 42;
  p.subject_id = "S-8f3a2c19d0e4";
  p.site = "left-forearm";
  p.condition = "psoriasis";
  p.captured_at_ms = 1764000000123;  // 2025-11-24T16:00:00.123Z
  p.device = "dev0123456789abc";
  p.software_version = "0.1.0";
  p.uid_secret = "secret of this data directory";
  return p;
}

}  // namespace skintrack::testing
