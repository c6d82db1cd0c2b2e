// Site-scale benchmark (issue 15; not part of ctest): does processing a capture cost more when its
// site already has many? Prints, in one run, the processing time of capture 10 of a site beside
// capture N (default 1000) of another site built the same way, and their ratio (target <= 1.10).
// Asserts nothing.
//
//   pipeline_site_bench [--captures N] [--size WxH] [--filler WxH] [--repeats R] [--dir DIR]
//
// Each site gets N-1 (resp. 9) earlier captures, small phantom photos (--filler, default 160x120)
// processed by the real pipeline, so the site's database rows are those of a real series (quality,
// masks, registrations, measurements, scores). Then the same photo (--size, default 640x480) is
// ingested as the site's newest capture and processed R times (each run appends new versions, as
// a requeue does); the median wall and CPU time of ProcessCapture is reported.
#include <sys/resource.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <filesystem>
#include <iostream>
#include <opencv2/imgcodecs.hpp>
#include <string>
#include <vector>

#include "skintrack/core/error.h"
#include "skintrack/phantom/phantom.h"
#include "skintrack/pipeline/pipeline.h"
#include "skintrack/storage/store.h"

namespace {

using skintrack::storage::Store;

struct Options {
  int captures = 1000;
  cv::Size size{640, 480};
  cv::Size filler{160, 120};
  int repeats = 5;
  std::string dir = "/tmp/skintrack-site-bench";
};

double CpuSeconds() {
  rusage u{};
  getrusage(RUSAGE_SELF, &u);  // the process: OpenCV and ITK may use other threads
  return static_cast<double>(u.ru_utime.tv_sec + u.ru_stime.tv_sec) +
         static_cast<double>(u.ru_utime.tv_usec + u.ru_stime.tv_usec) / 1e6;
}

// PNG photos of one phantom patient's visits (the same lesions seen on different days).
std::vector<std::string> Photos(cv::Size size, int count) {
  skintrack::phantom::PhantomOptions o;
  o.size = size;
  o.visits = count;
  o.seed = 7;
  o.new_lesions = false;
  std::vector<std::string> out;
  for (const auto& v : skintrack::phantom::GeneratePhantom(o).visits) {
    std::vector<unsigned char> png;
    cv::imencode(".png", v.image, png);
    out.emplace_back(png.begin(), png.end());
  }
  return out;
}

skintrack::storage::Capture Ingest(Store& store, const std::string& site, int index,
                                   const std::string& photo, cv::Size size) {
  skintrack::storage::NewCapture c;
  c.patient_id = "P-BENCH";
  c.site = site;
  c.captured_at = 1767225600000 + static_cast<std::int64_t>(index) * 3600000;
  c.width = size.width;
  c.height = size.height;
  return store.IngestCapture(c, photo, "bench").capture;
}

// Builds a site of `earlier` processed captures, then times ProcessCapture of one more.
std::pair<double, double> TimeNewest(Store& store, const std::string& site, int earlier,
                                     const Options& o, const std::vector<std::string>& fillers,
                                     const std::string& photo) {
  skintrack::pipeline::PipelineOptions p;
  for (int i = 0; i < earlier; ++i) {
    const auto c =
        Ingest(store, site, i, fillers[static_cast<std::size_t>(i) % fillers.size()], o.filler);
    skintrack::pipeline::ProcessCapture(store, c, p, "worker:bench");
  }
  const auto newest = Ingest(store, site, earlier, photo, o.size);
  std::vector<double> wall, cpu;
  for (int r = 0; r < o.repeats; ++r) {
    const auto t0 = std::chrono::steady_clock::now();
    const double c0 = CpuSeconds();
    skintrack::pipeline::ProcessCapture(store, newest, p, "worker:bench");
    cpu.push_back(CpuSeconds() - c0);
    wall.push_back(std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count());
  }
  std::sort(wall.begin(), wall.end());
  std::sort(cpu.begin(), cpu.end());
  return {wall[wall.size() / 2], cpu[cpu.size() / 2]};
}

cv::Size ParseSize(const std::string& text) {
  int w = 0, h = 0;
  if (std::sscanf(text.c_str(), "%dx%d", &w, &h) != 2 || w < 16 || h < 16) {
    throw skintrack::Error(skintrack::ErrorCode::kInvalidArgument, "bad size " + text);
  }
  return {w, h};
}

Options Parse(int argc, char** argv) {
  Options o;
  for (int i = 1; i < argc; ++i) {
    const std::string a = argv[i];
    if (i + 1 >= argc) throw skintrack::Error(skintrack::ErrorCode::kInvalidArgument, a + "?");
    const std::string v = argv[++i];
    if (a == "--captures")
      o.captures = std::max(11, std::stoi(v));
    else if (a == "--size")
      o.size = ParseSize(v);
    else if (a == "--filler")
      o.filler = ParseSize(v);
    else if (a == "--repeats")
      o.repeats = std::max(1, std::stoi(v));
    else if (a == "--dir")
      o.dir = v;
    else
      throw skintrack::Error(skintrack::ErrorCode::kInvalidArgument, "unknown option " + a);
  }
  return o;
}

}  // namespace

int main(int argc, char** argv) {
  try {
    const Options o = Parse(argc, argv);
    std::filesystem::remove_all(o.dir);
    auto store = Store::OpenDataDir(o.dir);
    skintrack::storage::PatientInfo patient;
    patient.id = "P-BENCH";
    store->repository().CreatePatient(patient, "bench");
    const auto fillers = Photos(o.filler, 8);
    const std::string photo = Photos(o.size, 2).back();
    std::cout << "site-scale bench: newest capture " << o.size.width << "x" << o.size.height
              << ", earlier captures " << o.filler.width << "x" << o.filler.height << ", "
              << o.repeats << " runs each" << std::endl;
    const auto start = std::chrono::steady_clock::now();
    const auto small = TimeNewest(*store, "left-forearm", 9, o, fillers, photo);
    const auto large = TimeNewest(*store, "right-forearm", o.captures - 1, o, fillers, photo);
    const double build_s =
        std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
    std::printf("capture %5d of its site: %.3f s wall, %.3f s CPU (median)\n", 10, small.first,
                small.second);
    std::printf("capture %5d of its site: %.3f s wall, %.3f s CPU (median)\n", o.captures,
                large.first, large.second);
    std::printf(
        "ratio capture %d / capture 10: %.3f wall, %.3f CPU (target <= 1.10); whole run %.0f s\n",
        o.captures, large.first / small.first, large.second / small.second, build_s);
    return 0;
  } catch (const std::exception& e) {
    std::cerr << "pipeline_site_bench: " << e.what() << "\n";
    return 1;
  }
}
