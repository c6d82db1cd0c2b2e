// Times segment + measure on a 12 MP capture (4000 x 3000) for both conditions and prints the
// figures; a performance report, never a pass/fail test.
//
//   build/scoring_bench [IMAGE] [--repeat N]
//
// Without IMAGE it times a 4000 x 3000 phantom visit of each condition (Fitzpatrick IV) when the
// phantom library is built in, else a drawn capture (skin ellipse with red plaques, sensor noise);
// with IMAGE it times that file. Decoding is not included.
#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <ctime>
#include <opencv2/imgproc.hpp>
#include <string>
#include <vector>

#ifdef SKINTRACK_BENCH_PHANTOM
#include "skintrack/phantom/phantom.h"
#endif
#include "skintrack/scoring/measure.h"
#include "skintrack/scoring/segmentation.h"

namespace {

cv::Mat SyntheticCapture(skintrack::Condition condition) {
#ifdef SKINTRACK_BENCH_PHANTOM
  skintrack::phantom::PhantomOptions o;
  o.condition = condition;
  o.visits = 1;
  o.fitzpatrick = 4;
  o.size = cv::Size(4000, 3000);
  return skintrack::phantom::GeneratePhantom(o).visits[0].image;
#else
  (void)condition;
#endif
  cv::Mat img(3000, 4000, CV_8UC3, cv::Scalar(70, 80, 90));
  cv::ellipse(img, cv::Point(2000, 1500), cv::Size(1700, 1200), 0, 0, 360,
              cv::Scalar(120, 150, 200), cv::FILLED);
  for (int i = 0; i < 8; ++i) {
    const cv::Point c(900 + 300 * i, 1100 + (i % 3) * 350);
    cv::ellipse(img, c, cv::Size(120 + 10 * i, 90), 15.0 * i, 0, 360, cv::Scalar(110, 110, 210),
                cv::FILLED);
  }
  cv::Mat noise(img.size(), CV_8UC3);
  cv::randn(noise, cv::Scalar::all(0), cv::Scalar::all(3));
  cv::add(img, noise, img);
  return img;
}

}  // namespace

int main(int argc, char** argv) {
  using namespace skintrack;
  std::string path;
  int repeat = 5;
  for (int i = 1; i < argc; ++i) {
    const std::string a = argv[i];
    if (a == "--repeat" && i + 1 < argc) {
      repeat = std::max(1, std::atoi(argv[++i]));
    } else if (a.rfind("--", 0) != 0 && path.empty()) {
      path = a;
    } else {
      std::fprintf(stderr, "usage: scoring_bench [IMAGE] [--repeat N]\n");
      return 2;
    }
  }
  try {
    const cv::Mat given = path.empty() ? cv::Mat() : scoring::ReadImage(path);
    for (Condition c : {Condition::kPsoriasis, Condition::kVitiligo}) {
      const cv::Mat img = given.empty() ? SyntheticCapture(c) : given;
      std::printf("image %dx%d (%.1f MP), %d threads, %d repeats\n", img.cols, img.rows,
                  img.total() / 1e6, cv::getNumThreads(), repeat);
      scoring::ClassicalSegmenterOptions so;
      so.condition = c;
      auto seg = scoring::MakeClassicalSegmenter(so);
      scoring::MeasureOptions mo;
      mo.condition = c;
      // CPU time of the whole process (all threads): on a shared machine the wall time also
      // counts other programs' load, the CPU time does not.
      std::vector<double> seg_s, total_s, cpu_s;
      double fraction = 0;
      for (int r = 0; r < repeat; ++r) {
        const std::clock_t c0 = std::clock();
        const auto t0 = std::chrono::steady_clock::now();
        const scoring::Segmentation s = seg->Segment(img);
        const auto t1 = std::chrono::steady_clock::now();
        const scoring::Measurements m = scoring::Measure(img, s, mo);
        const auto t2 = std::chrono::steady_clock::now();
        cpu_s.push_back(static_cast<double>(std::clock() - c0) / CLOCKS_PER_SEC);
        seg_s.push_back(std::chrono::duration<double>(t1 - t0).count());
        total_s.push_back(std::chrono::duration<double>(t2 - t0).count());
        fraction = m.lesion_fraction;
      }
      std::sort(seg_s.begin(), seg_s.end());
      std::sort(total_s.begin(), total_s.end());
      std::sort(cpu_s.begin(), cpu_s.end());
      std::printf(
          "%-9s segment median %.3f s, segment+measure median %.3f s (min %.3f, max %.3f), CPU "
          "median %.3f s, lesion fraction %.3f\n",
          ConditionName(c), seg_s[seg_s.size() / 2], total_s[total_s.size() / 2], total_s.front(),
          total_s.back(), cpu_s[cpu_s.size() / 2], fraction);
    }
  } catch (const std::exception& e) {
    std::fprintf(stderr, "error: %s\n", e.what());
    return 1;
  }
  return 0;
}
