// Small synthetic scenes for the learned segmenter's tests: skin-coloured photos whose lesions
// differ from the skin by texture only (coarse speckle of the same mean colour), a rule that a
// colour-threshold segmenter cannot express but a trained one can learn.
#pragma once

#include <functional>
#include <opencv2/core.hpp>
#include <opencv2/imgproc.hpp>
#include <vector>

#include "skintrack/core/error.h"
#include "skintrack/scoring/learned_segmenter.h"

namespace skintrack::scoring::testing {

inline LabelledImage TextureScene(int index, cv::Size size = {192, 144}) {
  cv::RNG rng(1000 + index);
  cv::Mat img(size, CV_8UC3, cv::Scalar(150, 170, 215));  // light skin, BGR
  cv::Mat noise(size, CV_16SC3);
  rng.fill(noise, cv::RNG::NORMAL, cv::Scalar::all(0), cv::Scalar::all(3));
  cv::Mat mask = cv::Mat::zeros(size, CV_8UC1);
  for (int k = 0; k < 2; ++k) {
    const cv::Point c(rng.uniform(size.width / 5, size.width * 4 / 5),
                      rng.uniform(size.height / 5, size.height * 4 / 5));
    cv::circle(mask, c, rng.uniform(size.height / 8, size.height / 5), cv::Scalar(255), cv::FILLED);
  }
  // Speckle: blobs of about 3 px, +-45 in every channel, zero mean, only inside the lesions.
  cv::Mat speckle(size / 3 + cv::Size(1, 1), CV_16SC1);
  rng.fill(speckle, cv::RNG::UNIFORM, -45, 46);
  cv::resize(speckle, speckle, size, 0, 0, cv::INTER_NEAREST);
  cv::Mat speckle3;
  cv::merge(std::vector<cv::Mat>{speckle, speckle, speckle}, speckle3);
  cv::Mat lesion_noise = cv::Mat::zeros(size, CV_16SC3);
  speckle3.copyTo(lesion_noise, mask);
  cv::Mat out;
  img.convertTo(out, CV_16SC3);
  out += noise + lesion_noise;
  out.convertTo(img, CV_8UC3);
  return {"scene" + std::to_string(index) + ".png", img, mask};
}

inline std::vector<LabelledImage> TextureScenes(int first, int count) {
  std::vector<LabelledImage> v;
  for (int i = first; i < first + count; ++i) v.push_back(TextureScene(i));
  return v;
}

// The message of the skintrack::Error that `f` throws ("" when it throws none).
inline std::string ErrorOf(const std::function<void()>& f) {
  try {
    f();
  } catch (const Error& e) {
    return e.what();
  }
  return "";
}

inline double DiceOf(const cv::Mat& a, const cv::Mat& b) {
  const double na = cv::countNonZero(a), nb = cv::countNonZero(b);
  return na + nb == 0 ? 1.0 : 2.0 * cv::countNonZero(a & b) / (na + nb);
}

// Small and fast options for the tests.
inline LearnedTrainOptions FastOptions() {
  LearnedTrainOptions o;
  o.target = LearnedTarget::kPsoriasis;
  o.work_max_side = 192;
  o.samples_per_image = 1500;
  o.trees = 8;
  o.max_depth = 10;
  o.context_folds = 2;
  return o;
}

}  // namespace skintrack::scoring::testing
