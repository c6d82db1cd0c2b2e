// End-to-end benchmark (issue 15; not part of ctest): the pipeline's processing of one capture
// beside the two commands that do the same work on the same pair, measured in one run. Asserts
// nothing.
//
//   pipeline_e2e_bench [--size WxH] [--repeats R] [--dir DIR] [--skintrack PATH]
//
// A phantom baseline and R follow-ups (--size, default 4000x3000: a 12 MP phone photo) are
// written as JPEG (quality 90). The parts, for each follow-up: `skintrack register --fixed BASE
// --moving FOLLOW` plus `skintrack segment --condition psoriasis FOLLOW --out MASK --skin-out
// SKIN` (each decodes the full photos it reads and writes its outputs), as child processes. The
// pipeline: in a data directory holding the processed baseline, ProcessCapture of each follow-up
// (decode, quality gate, segmentation, registration to the baseline, change, scores, masks
// stored): a new capture each run, as in a server, so that its own decode is always paid. Medians
// of wall time and CPU time (children's, resp. this process's) and the ratio pipeline / (register +
// segment), target <= 0.7; the issue also asks <= 1.5 s.
#include <malloc.h>
#include <sys/resource.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <functional>
#include <iostream>
#include <opencv2/imgcodecs.hpp>
#include <string>
#include <vector>

#include "skintrack/core/error.h"
#include "skintrack/phantom/phantom.h"
#include "skintrack/pipeline/pipeline.h"
#include "skintrack/storage/store.h"

namespace {

struct Options {
  cv::Size size{4000, 3000};
  int repeats = 3;
  std::string dir = "/tmp/skintrack-e2e-bench";
  std::string skintrack;  // default: beside this binary
};

struct Sample {
  double wall = 0;
  double cpu = 0;
};

double Seconds(const timeval& t) {
  return static_cast<double>(t.tv_sec) + static_cast<double>(t.tv_usec) / 1e6;
}

double CpuOf(int who) {
  rusage u{};
  getrusage(who, &u);
  return Seconds(u.ru_utime) + Seconds(u.ru_stime);
}

// Median wall and CPU of `fn(run)` over `repeats` runs; `who` selects whose CPU is counted.
Sample Median(int repeats, int who, const std::function<void(int)>& fn) {
  std::vector<double> wall, cpu;
  for (int r = 0; r < repeats; ++r) {
    const double c0 = CpuOf(who);
    const auto t0 = std::chrono::steady_clock::now();
    fn(r);
    wall.push_back(std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count());
    cpu.push_back(CpuOf(who) - c0);
  }
  std::sort(wall.begin(), wall.end());
  std::sort(cpu.begin(), cpu.end());
  return {wall[wall.size() / 2], cpu[cpu.size() / 2]};
}

void Run(const std::string& command) {
  // NOLINTNEXTLINE(concurrency-mt-unsafe): the bench runs its commands from one thread
  if (std::system((command + " >/dev/null").c_str()) != 0) {
    throw skintrack::Error(skintrack::ErrorCode::kInternal, "failed: " + command);
  }
}

std::string WriteJpeg(const cv::Mat& image, const std::string& path) {
  std::vector<unsigned char> bytes;
  cv::imencode(".jpg", image, bytes, {cv::IMWRITE_JPEG_QUALITY, 90});
  std::ofstream(path, std::ios::binary)
      .write(reinterpret_cast<const char*>(bytes.data()),
             static_cast<std::streamsize>(bytes.size()));
  return std::string(bytes.begin(), bytes.end());
}

skintrack::storage::Capture Ingest(skintrack::storage::Store& store, const std::string& bytes,
                                   cv::Size size, int day) {
  skintrack::storage::NewCapture c;
  c.patient_id = "P-E2E";
  c.site = "left-forearm";
  c.captured_at = 1767225600000 + static_cast<std::int64_t>(day) * 86400000;
  c.width = size.width;
  c.height = size.height;
  return store.IngestCapture(c, bytes, "bench").capture;
}

Options Parse(int argc, char** argv) {
  Options o;
  o.skintrack = (std::filesystem::path(argv[0]).parent_path() / "skintrack").string();
  for (int i = 1; i + 1 < argc; i += 2) {
    const std::string a = argv[i];
    const std::string v = argv[i + 1];
    if (a == "--size") {
      if (std::sscanf(v.c_str(), "%dx%d", &o.size.width, &o.size.height) != 2) {
        throw skintrack::Error(skintrack::ErrorCode::kInvalidArgument, "bad --size " + v);
      }
    } else if (a == "--repeats") {
      o.repeats = std::max(1, std::stoi(v));
    } else if (a == "--dir") {
      o.dir = v;
    } else if (a == "--skintrack") {
      o.skintrack = v;
    } else {
      throw skintrack::Error(skintrack::ErrorCode::kInvalidArgument, "unknown option " + a);
    }
  }
  if (argc % 2 == 0) {
    throw skintrack::Error(skintrack::ErrorCode::kInvalidArgument, "an option lacks its value");
  }
  return o;
}

}  // namespace

int main(int argc, char** argv) {
  // As the skintrack binary does (src/cli/main.cpp): large image buffers stay in the heap instead
  // of being unmapped and faulted in again, so the pipeline is measured as `serve` runs it.
  mallopt(M_MMAP_THRESHOLD, 256 * 1024 * 1024);  // NOLINT(concurrency-mt-unsafe)
  mallopt(M_TRIM_THRESHOLD, 512 * 1024 * 1024);  // NOLINT(concurrency-mt-unsafe)
  try {
    const Options o = Parse(argc, argv);
    std::filesystem::remove_all(o.dir);
    std::filesystem::create_directories(o.dir);
    skintrack::phantom::PhantomOptions p;
    p.size = o.size;
    p.visits = 1 + o.repeats;
    p.seed = 11;
    p.new_lesions = false;
    const auto series = skintrack::phantom::GeneratePhantom(p);
    const std::string base = o.dir + "/baseline.jpg";
    const std::string base_bytes = WriteJpeg(series.visits[0].image, base);
    std::vector<std::string> follow, follow_bytes;
    follow.reserve(static_cast<std::size_t>(o.repeats));
    follow_bytes.reserve(static_cast<std::size_t>(o.repeats));
    for (int r = 0; r < o.repeats; ++r) {
      follow.push_back(o.dir + "/follow-up-" + std::to_string(r) + ".jpg");
      follow_bytes.push_back(
          WriteJpeg(series.visits[static_cast<std::size_t>(r) + 1].image, follow.back()));
    }
    std::printf("end-to-end bench: %dx%d JPEG (%.2f MB), %d runs each, %ld cores\n", o.size.width,
                o.size.height, static_cast<double>(follow_bytes[0].size()) / 1e6, o.repeats,
                sysconf(_SC_NPROCESSORS_ONLN));

    const Sample reg = Median(o.repeats, RUSAGE_CHILDREN, [&](int r) {
      Run(o.skintrack + " register --fixed " + base + " --moving " + follow[r] + " --json");
    });
    const Sample seg = Median(o.repeats, RUSAGE_CHILDREN, [&](int r) {
      Run(o.skintrack + " segment --condition psoriasis " + follow[r] + " --out " + o.dir +
          "/mask.png --skin-out " + o.dir + "/skin.png");
    });

    auto store = skintrack::storage::Store::OpenDataDir(o.dir + "/data");
    skintrack::storage::PatientInfo patient;
    patient.id = "P-E2E";
    store->repository().CreatePatient(patient, "bench");
    const skintrack::pipeline::PipelineOptions options;
    skintrack::pipeline::ProcessCapture(*store, Ingest(*store, base_bytes, o.size, 0), options,
                                        "worker:bench");
    std::vector<skintrack::storage::Capture> captures;
    captures.reserve(static_cast<std::size_t>(o.repeats));
    for (int r = 0; r < o.repeats; ++r) {
      captures.push_back(Ingest(*store, follow_bytes[static_cast<std::size_t>(r)], o.size, 7 + r));
    }
    const Sample e2e = Median(o.repeats, RUSAGE_SELF, [&](int r) {
      skintrack::pipeline::ProcessCapture(*store, captures[static_cast<std::size_t>(r)], options,
                                          "worker:bench");
    });

    std::printf("skintrack register (full pair): %.3f s wall, %.3f s CPU\n", reg.wall, reg.cpu);
    std::printf("skintrack segment (follow-up):  %.3f s wall, %.3f s CPU\n", seg.wall, seg.cpu);
    std::printf("parts, register + segment:      %.3f s wall, %.3f s CPU\n", reg.wall + seg.wall,
                reg.cpu + seg.cpu);
    std::printf("pipeline, ProcessCapture:       %.3f s wall, %.3f s CPU\n", e2e.wall, e2e.cpu);
    std::printf("ratio pipeline / parts: %.2f wall, %.2f CPU (target <= 0.7; <= 1.5 s idle)\n",
                e2e.wall / (reg.wall + seg.wall), e2e.cpu / (reg.cpu + seg.cpu));
    return 0;
  } catch (const std::exception& e) {
    std::cerr << "pipeline_e2e_bench: " << e.what() << "\n";
    return 1;
  }
}
