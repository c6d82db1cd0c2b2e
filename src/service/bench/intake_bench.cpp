// Intake benchmark (issue 15; not part of ctest). Prints figures and the issue's targets; asserts
// nothing.
//
//   intake_bench [--samples N] [--megapixels 2,12] [--devices 1,8] [--workers W] [--dir DIR]
//
// For each photo size: N distinct JPEG photos (textured, about 1 MB at 12 MP) are pushed to the
// real server on 127.0.0.1 (a fresh data directory, fresh connection per push, as a device sends
// them) by 1 and by 8 concurrent devices; the acknowledgement latency (request sent .. 201 read)
// is given as p50 / p99 beside the floor measured in the same run on the same disk: one write +
// fsync of the same bytes plus a 1/8-scale decode (cv::IMREAD_REDUCED_COLOR_8) of the photo.
// Processing workers are off by default (--workers 0) so that the ack is measured alone; with
// --workers W they compete for the same cores. Then, per photo, the CPU cost of the intake
// checks (ValidateUpload) beside a full decode, the old intake (decode + re-encode), and the PNG
// check beside cv::imdecode of the same PNG.
#include <fcntl.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <iostream>
#include <mutex>
#include <opencv2/imgcodecs.hpp>
#include <opencv2/imgproc.hpp>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include "skintrack/core/error.h"
#include "skintrack/service/http_client.h"
#include "skintrack/service/image_intake.h"
#include "skintrack/service/service.h"
#include "skintrack/storage/store.h"

namespace {

using namespace skintrack;
using Clock = std::chrono::steady_clock;
namespace fs = std::filesystem;

double Ms(Clock::duration d) { return std::chrono::duration<double, std::milli>(d).count(); }

double Percentile(std::vector<double> v, double p) {
  if (v.empty()) return 0;
  std::sort(v.begin(), v.end());
  const auto nearest = std::lround(p * static_cast<double>(v.size() - 1));
  return v[std::min(v.size() - 1, static_cast<std::size_t>(nearest))];
}

std::vector<int> IntList(const std::string& text) {
  std::vector<int> out;
  std::stringstream ss(text);
  for (std::string item; std::getline(ss, item, ',');) out.push_back(std::stoi(item));
  return out;
}

// A photo-like image: smooth shading, skin-coloured blobs and sensor noise, so that a 12 MP JPEG
// at quality 90 is about 1 MB like a phone's.
cv::Mat Photo(cv::Size size, int seed) {
  cv::RNG rng(static_cast<std::uint64_t>(seed));
  cv::Mat small(24, 32, CV_8UC3);
  rng.fill(small, cv::RNG::UNIFORM, 90, 210);
  cv::Mat img;
  cv::resize(small, img, size, 0, 0, cv::INTER_CUBIC);
  for (int k = 0; k < 12; ++k) {
    const cv::Point c(rng.uniform(0, size.width), rng.uniform(0, size.height));
    cv::circle(img, c, rng.uniform(size.width / 40, size.width / 10),
               cv::Scalar(rng.uniform(40, 120), rng.uniform(40, 120), rng.uniform(150, 230)),
               cv::FILLED, cv::LINE_AA);
  }
  cv::Mat noise(size, CV_8UC3);
  rng.fill(noise, cv::RNG::NORMAL, 0, 3);
  cv::add(img, noise, img);
  cv::GaussianBlur(img, img, {3, 3}, 0.8);
  return img;
}

std::string Encode(const cv::Mat& img, const std::string& ext,
                   const std::vector<int>& params = {}) {
  std::vector<unsigned char> b;
  cv::imencode(ext, img, b, params);
  return {b.begin(), b.end()};
}

cv::Mat Decode(const std::string& bytes, int flags) {
  return cv::imdecode(
      cv::Mat(1, static_cast<int>(bytes.size()), CV_8U, const_cast<char*>(bytes.data())), flags);
}

struct Floor {
  double write_fsync_ms = 0;
  double decode_ms = 0;
  double total() const { return write_fsync_ms + decode_ms; }
};

// The floor of one ack: the bytes written and fsynced to a new file in `dir` (the data
// directory's disk) plus the cheapest full-stream check, a 1/8-scale decode.
Floor FloorOf(const std::string& bytes, const fs::path& dir) {
  const fs::path file = dir / "floor.tmp";
  Floor f;
  const auto t0 = Clock::now();
  const int fd = ::open(file.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0600);
  if (fd < 0 || ::write(fd, bytes.data(), bytes.size()) != static_cast<ssize_t>(bytes.size()) ||
      ::fsync(fd) != 0) {
    throw Error(ErrorCode::kIo, "floor: cannot write " + file.string());
  }
  ::close(fd);
  const auto t1 = Clock::now();
  if (Decode(bytes, cv::IMREAD_REDUCED_COLOR_8).empty()) {
    throw Error(ErrorCode::kImageDecode, "floor: the photo does not decode");
  }
  f.write_fsync_ms = Ms(t1 - t0);
  f.decode_ms = Ms(Clock::now() - t1);
  fs::remove(file);
  return f;
}

template <typename Fn>
double MedianMs(int runs, Fn fn) {
  std::vector<double> t;
  for (int i = 0; i < runs; ++i) {
    const auto t0 = Clock::now();
    fn();
    t.push_back(Ms(Clock::now() - t0));
  }
  return Percentile(t, 0.5);
}

struct Options {
  int samples = 16;
  std::vector<int> megapixels = {2, 12};
  std::vector<int> devices = {1, 8};
  int workers = 0;
  std::string dir;
};

cv::Size SizeOf(int megapixels) {
  // 4:3 photos: 2 MP = 1632 x 1224, 12 MP = 4000 x 3000.
  const double w = std::sqrt(megapixels * 1e6 * 4 / 3);
  return {static_cast<int>(std::lround(w / 8) * 8), static_cast<int>(std::lround(w * 3 / 32) * 8)};
}

int Run(const Options& o) {
  const fs::path root = o.dir.empty() ? fs::temp_directory_path() /
                                            ("skintrack-intake-bench-" + std::to_string(::getpid()))
                                      : fs::path(o.dir);
  fs::create_directories(root);
  service::ServiceOptions so;
  so.data_dir = (root / "data").string();
  so.server.port = 0;
  so.server.max_body_bytes = std::size_t{64} * 1024 * 1024;
  so.pipeline.workers = o.workers;
  so.log_requests = false;
  service::Service svc(so);
  storage::NewToken t;
  t.role = storage::Role::kAdmin;
  const std::string token = svc.store().repository().CreateToken(t, "bench").token;
  const int port = svc.Start();
  if (service::LoopbackRequest(port, "POST", "/v1/patients", token, R"({"id":"B1"})",
                               "application/json")
          .status != 201) {
    throw Error(ErrorCode::kInternal, "cannot create the bench patient");
  }
  double load[3] = {0, 0, 0};
  if (::getloadavg(load, 3) < 0) load[0] = -1;
  std::printf("intake_bench: %u cores, load average %.2f (1 min), workers %d, data directory %s\n",
              std::thread::hardware_concurrency(), load[0], o.workers, so.data_dir.c_str());
  int day = 0;
  for (const int mp : o.megapixels) {
    const cv::Size size = SizeOf(mp);
    const cv::Mat base = Photo(size, mp);
    std::printf("\n== %d MP JPEG (%dx%d)\n", mp, size.width, size.height);
    for (const int devices : o.devices) {
      // Distinct photos in the whole run (a mark that moves), encoded before the clock starts:
      // the same pixels again would be answered as the capture already stored.
      const int per_device = std::max(1, o.samples / devices);
      std::vector<std::string> uploads;
      for (int i = 0; i < per_device * devices; ++i) {
        cv::Mat img = base.clone();
        const int n = day + i;
        cv::rectangle(img, {20 + 7 * (n % 400), 20 + 7 * (n / 400)},
                      {60 + 7 * (n % 400), 60 + 7 * (n / 400)}, cv::Scalar(n % 255, 80, 200),
                      cv::FILLED);
        uploads.push_back(Encode(img, ".jpg", {cv::IMWRITE_JPEG_QUALITY, 90}));
      }
      std::vector<double> floors, floor_writes, floor_decodes;
      for (const std::string& u : uploads) {
        const Floor f = FloorOf(u, so.data_dir);
        floors.push_back(f.total());
        floor_writes.push_back(f.write_fsync_ms);
        floor_decodes.push_back(f.decode_ms);
      }
      std::vector<double> acks;
      std::mutex mutex;
      int failures = 0;
      std::vector<std::thread> threads;
      const int first_day = day;
      day += per_device * devices;
      threads.reserve(static_cast<std::size_t>(devices));
      for (int d = 0; d < devices; ++d) {
        threads.emplace_back([&, d] {
          for (int k = 0; k < per_device; ++k) {
            const int i = d * per_device + k;
            const int n = first_day + i;
            char when[40];
            std::snprintf(when, sizeof when, "2026-%02d-%02dT%02d:%02d:00Z", 1 + (n / 28) % 12,
                          1 + n % 28, (n / 336) % 24, n % 60);
            const std::string target =
                "/v1/patients/B1/sites/left-forearm/captures?condition=psoriasis&captured_at=" +
                std::string(when);
            const auto t0 = Clock::now();
            const service::HttpReply r =
                service::LoopbackRequest(port, "POST", target, token, uploads[i], "image/jpeg");
            const double ms = Ms(Clock::now() - t0);
            const std::lock_guard<std::mutex> lock(mutex);
            if (r.status == 201) {
              acks.push_back(ms);
            } else {
              ++failures;
              std::fprintf(stderr, "push %d: %d %s\n", i, r.status, r.body.c_str());
            }
          }
        });
      }
      for (auto& th : threads) th.join();
      const double floor = Percentile(floors, 0.5);
      const double p50 = Percentile(acks, 0.5), p99 = Percentile(acks, 0.99);
      std::printf(
          "ack, %d device%s, %zu pushes of %.2f MB: p50 %.1f ms, p99 %.1f ms; floor (write + "
          "fsync + 1/8 decode) p50 %.1f ms; p50/floor %.2f, p99/floor %.2f%s\n",
          devices, devices == 1 ? "" : "s", acks.size(),
          static_cast<double>(uploads[0].size()) / 1e6, p50, p99, floor, p50 / floor, p99 / floor,
          failures ? " (FAILED pushes above)" : "");
      std::printf("  floor parts p50: write + fsync %.1f ms, 1/8 decode %.1f ms\n",
                  Percentile(floor_writes, 0.5), Percentile(floor_decodes, 0.5));
      if (acks.empty()) continue;
      if (mp == 12 && devices == 1) {
        std::printf("  target 12 MP p50 <= 2x floor: %s; <= 50 ms: %s\n",
                    p50 <= 2 * floor ? "met" : "MISSED", p50 <= 50 ? "met" : "MISSED");
      }
      if (mp == 12 && devices == 8) {
        std::printf("  target 12 MP p99 at 8 devices <= 10x floor: %s\n",
                    p99 <= 10 * floor ? "met" : "MISSED");
      }
    }
    // CPU per photo, one thread: what intake costs now, beside what a full decode and the old
    // intake (full decode + re-encode at quality 95) cost.
    const std::string jpeg = Encode(base, ".jpg", {cv::IMWRITE_JPEG_QUALITY, 90});
    const double validate = MedianMs(5, [&] { service::ValidateUpload(jpeg, "image/jpeg"); });
    const double full = MedianMs(3, [&] { Decode(jpeg, cv::IMREAD_COLOR); });
    const double old = MedianMs(3, [&] {
      Encode(Decode(jpeg, cv::IMREAD_COLOR), ".jpg", {cv::IMWRITE_JPEG_QUALITY, 95});
    });
    std::printf(
        "JPEG intake checks (ValidateUpload) %.1f ms; full decode %.1f ms; old intake "
        "(decode + re-encode) %.1f ms\n",
        validate, full, old);
    // The durable write alone, in process: Store::IngestCapture (blob hash, blob + directory
    // fsyncs, row commit) of distinct validated photos.
    std::vector<double> ingests;
    for (int i = 0; i < 5; ++i) {
      cv::Mat img = base.clone();
      cv::circle(img, {100 + 40 * i, 100}, 15, cv::Scalar(10, 200, 10 + day % 200), cv::FILLED);
      const service::ValidatedUpload v = service::ValidateUpload(
          Encode(img, ".jpg", {cv::IMWRITE_JPEG_QUALITY, 90}), "image/jpeg");
      storage::NewCapture nc;
      nc.patient_id = "B1";
      nc.site = "scalp";
      nc.captured_at = storage::NowMs() - std::int64_t{1000} * (++day);
      nc.media_type = v.media_type;
      nc.width = v.width;
      nc.height = v.height;
      const auto t0 = Clock::now();
      svc.store().IngestCapture(nc, v.bytes, "bench");
      ingests.push_back(Ms(Clock::now() - t0));
    }
    std::printf(
        "Store::IngestCapture alone (hash, blob + directory fsyncs, row commit) p50 %.1f ms\n",
        Percentile(ingests, 0.5));
    const std::string png = Encode(base, ".png", {cv::IMWRITE_PNG_COMPRESSION, 3});
    const double png_check = MedianMs(5, [&] { service::ValidateUpload(png, "image/png"); });
    const double png_decode = MedianMs(5, [&] { Decode(png, cv::IMREAD_COLOR); });
    std::printf(
        "PNG of %.1f MB: intake checks (CRCs + inflate, no unfiltering) %.1f ms; "
        "cv::imdecode %.1f ms (%.2fx)\n",
        static_cast<double>(png.size()) / 1e6, png_check, png_decode, png_check / png_decode);
  }
  svc.Stop();
  if (o.dir.empty()) fs::remove_all(root);
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  Options o;
  try {
    for (int i = 1; i < argc; ++i) {
      const std::string a = argv[i];
      auto next = [&]() -> std::string {
        if (i + 1 >= argc) throw Error(ErrorCode::kInvalidArgument, a + " needs a value");
        return argv[++i];
      };
      if (a == "--samples") {
        o.samples = std::stoi(next());
      } else if (a == "--megapixels") {
        o.megapixels = IntList(next());
      } else if (a == "--devices") {
        o.devices = IntList(next());
      } else if (a == "--workers") {
        o.workers = std::stoi(next());
      } else if (a == "--dir") {
        o.dir = next();
      } else {
        std::cerr << "usage: intake_bench [--samples N] [--megapixels 2,12] [--devices 1,8] "
                     "[--workers W] [--dir DIR]\n";
        return 2;
      }
    }
    return Run(o);
  } catch (const std::exception& e) {
    std::cerr << "intake_bench: " << e.what() << "\n";
    return 1;
  }
}
