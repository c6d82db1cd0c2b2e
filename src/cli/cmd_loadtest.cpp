// `skintrack loadtest`: N simulated devices pushing captures to a running server over loopback,
// as smart mirrors would: each device retries a push until it is acknowledged (pushes are
// idempotent), so a server killed mid-load and restarted loses nothing that it acknowledged.
// Prints acknowledged captures per second, ack latency percentiles and processing throughput, and
// writes every acknowledgement to a JSON-lines file for the durability check.
#include <algorithm>
#include <atomic>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <fstream>
#include <mutex>
#include <nlohmann/json.hpp>
#include <opencv2/imgcodecs.hpp>
#include <ostream>
#include <thread>
#include <vector>

#include "command.h"
#include "skintrack/core/error.h"
#include "skintrack/phantom/phantom.h"
#include "skintrack/service/http_client.h"

namespace skintrack::cli {
namespace {

using service::HttpReply;
using service::LoopbackRequest;
using Clock = std::chrono::steady_clock;

constexpr char kUsage[] = R"(usage: skintrack loadtest --port N[,N...] --token T [options]

Simulated devices push phantom captures to a skintrack server on 127.0.0.1 (loopback only).
Each device retries a push (every 0.2 s, up to --retry-seconds) until the server acknowledges
it, as a device must; acknowledgements are appended to --acks as JSON lines.

options:
  --port N[,N...]       server port on 127.0.0.1, or the ports of several nodes of a cluster:
                        device d starts at node d mod n and moves on to the next node when a
                        push gets no answer or a 5xx, as behind a load balancer
  --token T             a device (unscoped), clinician or admin token
  --patients P1,P2,...  patients to push for (they must exist; default P-LOAD)
  --devices N           concurrent devices (default 4)
  --captures N          captures per device (default 25)
  --size WxH            capture size (default 640x480)
  --acks FILE           acknowledgement log (default loadtest-acks.jsonl)
  --retry-seconds S     give up on a capture after S seconds of failures (default 120)
  --pause-ms N          a device waits N ms after each acknowledged capture (default 0), so that
                        pushes and processing overlap as with devices that take photos over time
  --wait-processing S   then wait up to S seconds for the queue to drain (default 600; 0 = no)
  --verify FILE         instead of pushing: check that every capture acknowledged in FILE is
                        stored with its SHA-256 and processed (exit 1 if any is not)
)";

double Percentile(std::vector<double> v, double p) {
  if (v.empty()) return 0;
  std::sort(v.begin(), v.end());
  const size_t i =
      std::min(v.size() - 1, static_cast<size_t>(std::lround(p * double(v.size() - 1))));
  return v[i];
}

std::vector<std::string> Split(const std::string& s, char sep) {
  std::vector<std::string> out;
  size_t start = 0;
  while (start <= s.size()) {
    const size_t end = std::min(s.find(sep, start), s.size());
    if (end > start) out.push_back(s.substr(start, end - start));
    start = end + 1;
  }
  return out;
}

// The first answer of the nodes, tried in turn (one may be down).
HttpReply AnyNode(const std::vector<int>& ports, const std::string& target,
                  const std::string& token) {
  HttpReply r;
  for (int port : ports) {
    r = LoopbackRequest(port, "GET", target, token, "", "");
    if (r.status != 0 && r.status < 500) return r;
  }
  return r;
}

// Every acknowledged capture must be there, with the acknowledged bytes, and processed.
int VerifyAcks(const std::vector<int>& ports, const std::string& token, const std::string& path,
               std::ostream& out) {
  std::ifstream in(path);
  if (!in) throw Error(ErrorCode::kIo, "cannot read " + path);
  std::string line;
  int checked = 0, missing = 0, wrong = 0, unprocessed = 0;
  while (std::getline(in, line)) {
    if (line.empty()) continue;
    const auto ack = nlohmann::json::parse(line);
    const std::string id = std::to_string(ack["capture_id"].get<long long>());
    const HttpReply r = AnyNode(ports, "/v1/captures/" + id, token);
    ++checked;
    if (r.status != 200) {
      ++missing;
      out << "capture " << id << ": HTTP " << r.status << "\n";
      continue;
    }
    const auto c = nlohmann::json::parse(r.body);
    if (c["sha256"] != ack["sha256"]) {
      ++wrong;
      out << "capture " << id << ": stored sha256 differs from the acknowledged one\n";
    }
    if (c["status"] != "processed") {
      ++unprocessed;
      out << "capture " << id << ": status " << c["status"].get<std::string>() << "\n";
    }
  }
  out << "verified " << checked << " acknowledged captures: " << missing << " missing, " << wrong
      << " with other bytes, " << unprocessed << " not processed\n";
  return missing + wrong + unprocessed == 0 && checked > 0 ? 0 : 1;
}

// A pool of distinct phantom photos (different seeds and visits), JPEG-encoded once.
std::vector<std::string> PhantomPool(cv::Size size, int count) {
  std::vector<std::string> pool;
  for (int seed = 1; static_cast<int>(pool.size()) < count; ++seed) {
    phantom::PhantomOptions o;
    o.size = size;
    o.visits = 8;
    o.seed = static_cast<std::uint64_t>(seed);
    o.fitzpatrick = 1 + seed % 6;
    o.condition = seed % 2 ? Condition::kPsoriasis : Condition::kVitiligo;
    for (const phantom::Visit& v : phantom::GeneratePhantom(o).visits) {
      std::vector<unsigned char> bytes;
      cv::imencode(".jpg", v.image, bytes, {cv::IMWRITE_JPEG_QUALITY, 90});
      pool.emplace_back(bytes.begin(), bytes.end());
    }
  }
  return pool;
}

struct DeviceJob {
  std::vector<int> ports;
  std::string token;
  std::vector<std::string> patients;
  int per_device = 0;
  double retry_s = 0;
  int pause_ms = 0;
  std::vector<std::string> pool;
};

// What the devices share: the acknowledgement log and the tallies. Guarded by `mutex` where not
// atomic.
struct Tally {
  Tally(std::ofstream& acks_log, std::ostream& log) : acks(acks_log), out(log) {}
  std::ofstream& acks;
  std::ostream& out;
  std::mutex mutex;
  std::vector<double> latencies;
  std::atomic<int> acked{0}, gave_up{0}, retries{0}, rejected{0};
};

// Device `d` pushes its captures, retrying each until acknowledged (or given up after retry_s).
void RunDevice(const DeviceJob& job, int d, Tally& t) {
  for (int i = 0; i < job.per_device; ++i) {
    const int n = d * job.per_device + i;
    const std::string& patient = job.patients[static_cast<size_t>(n) % job.patients.size()];
    const bool pso = (n / 8 + 1) % 2 == 1;
    char when[40];
    // A past year: the server refuses captured_at more than 24 h ahead of its clock.
    std::snprintf(when, sizeof when, "2025-%02d-%02dT%02d:%02d:00Z", 1 + n % 12, 1 + n % 28, n % 24,
                  (n / 24) % 60);
    const std::string target = "/v1/patients/" + patient + "/sites/" +
                               (pso ? "left-forearm" : "left-hand") +
                               "/captures?condition=" + (pso ? "psoriasis" : "vitiligo") +
                               "&captured_at=" + when + "&visit=load-" + std::to_string(n);
    const auto start = Clock::now();
    std::size_t node = static_cast<std::size_t>(d) % job.ports.size();
    while (true) {
      const HttpReply r =
          LoopbackRequest(job.ports[node], "POST", target, job.token, job.pool[n], "image/jpeg");
      if (r.status == 200 || r.status == 201) {
        const double ms = std::chrono::duration<double, std::milli>(Clock::now() - start).count();
        const auto j = nlohmann::json::parse(r.body);
        std::lock_guard<std::mutex> lock(t.mutex);
        t.latencies.push_back(ms);
        t.acks << nlohmann::json{{"capture_id", j["id"]},
                                 {"sha256", j["sha256"]},
                                 {"status", r.status},
                                 {"patient", patient},
                                 {"device", d}}
                      .dump()
               << "\n"
               << std::flush;
        ++t.acked;
        if (job.pause_ms > 0) std::this_thread::sleep_for(std::chrono::milliseconds(job.pause_ms));
        break;
      }
      if (r.status >= 400 && r.status < 500) {  // our request is wrong: retrying won't help
        ++t.rejected;
        std::lock_guard<std::mutex> lock(t.mutex);
        t.out << "device " << d << ": capture " << n << " rejected " << r.status << " " << r.body
              << std::endl;
        break;
      }
      if (std::chrono::duration<double>(Clock::now() - start).count() > job.retry_s) {
        ++t.gave_up;
        break;
      }
      ++t.retries;
      node = (node + 1) % job.ports.size();  // this node is down or busy: try the next one
      std::this_thread::sleep_for(std::chrono::milliseconds(200));
    }
  }
}

// Processing throughput: from the first push (t0) until the queue is drained.
void ReportProcessing(const std::vector<int>& ports, Clock::time_point t0, double push_s,
                      double wait_s, std::ostream& out) {
  char line[300];
  // Processing throughput: from the first push until the queue is drained.
  long long processed = 0, failed = 0, pending = 1;
  while (std::chrono::duration<double>(Clock::now() - t0).count() < push_s + wait_s) {
    const HttpReply h = AnyNode(ports, "/healthz", "");
    if (h.status == 200) {
      const auto q = nlohmann::json::parse(h.body)["queue"];
      processed = q["processed"].get<long long>();
      failed = q["failed"].get<long long>();
      pending = q["queued"].get<long long>() + q["processing"].get<long long>();
      if (pending == 0) break;
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(500));
  }
  const double all_s = std::chrono::duration<double>(Clock::now() - t0).count();
  std::snprintf(line, sizeof line,
                "processing: %lld processed, %lld failed, %lld still queued after %.1f s = %.2f "
                "captures/s end to end\n",
                processed, failed, pending, all_s, (processed + failed) / all_s);
  out << line;
}

int RunLoadtest(Args& args, std::ostream& out) {
  DeviceJob job;
  for (const std::string& port : Split(args.Get("port").value_or(""), ',')) {
    const auto n = ParseInt(port, "--port");
    if (n < 1 || n > 65535)
      throw Error(ErrorCode::kInvalidArgument, "--port " + port + " is not a port");
    job.ports.push_back(static_cast<int>(n));
  }
  job.token = args.Require("token");
  if (job.ports.empty()) throw Error(ErrorCode::kInvalidArgument, "missing required option --port");
  if (auto verify = args.Get("verify")) {
    args.CheckNoneLeft();
    return VerifyAcks(job.ports, job.token, *verify, out);
  }
  job.patients = Split(args.Get("patients").value_or("P-LOAD"), ',');
  const int devices = static_cast<int>(args.GetInt("devices", 4, 1, 256));
  job.per_device = static_cast<int>(args.GetInt("captures", 25, 1, 100000));
  cv::Size size(640, 480);
  if (auto s = args.Get("size")) {
    const auto parts = Split(*s, 'x');
    if (parts.size() != 2)
      throw Error(ErrorCode::kInvalidArgument, "--size must look like 640x480");
    size = cv::Size(static_cast<int>(ParseInt(parts[0], "--size width")),
                    static_cast<int>(ParseInt(parts[1], "--size height")));
  }
  const std::string acks_path = args.Get("acks").value_or("loadtest-acks.jsonl");
  job.retry_s = args.GetDouble("retry-seconds", 120, 1, 3600);
  job.pause_ms = static_cast<int>(args.GetInt("pause-ms", 0, 0, 600000));
  const double wait_s = args.GetDouble("wait-processing", 600, 0, 36000);
  args.CheckNoneLeft();
  if (job.patients.empty()) throw Error(ErrorCode::kInvalidArgument, "--patients is empty");

  out << "preparing " << devices * job.per_device << " captures of " << size.width << "x"
      << size.height << "..." << std::endl;
  job.pool = PhantomPool(size, devices * job.per_device);

  std::ofstream acks(acks_path, std::ios::app);
  if (!acks) throw Error(ErrorCode::kIo, "cannot open " + acks_path);
  Tally t(acks, out);
  const auto t0 = Clock::now();
  std::vector<std::thread> threads;
  threads.reserve(static_cast<size_t>(devices));
  for (int d = 0; d < devices; ++d) threads.emplace_back([&, d] { RunDevice(job, d, t); });
  for (auto& thread : threads) thread.join();
  const double push_s = std::chrono::duration<double>(Clock::now() - t0).count();
  char line[300];
  std::snprintf(line, sizeof line,
                "pushed: %d acknowledged, %d rejected, %d gave up, %d retries, in %.2f s = %.1f "
                "acknowledged captures/s\n"
                "ack latency ms: p50 %.1f  p90 %.1f  p99 %.1f  max %.1f\n",
                t.acked.load(), t.rejected.load(), t.gave_up.load(), t.retries.load(), push_s,
                t.acked.load() / push_s, Percentile(t.latencies, 0.5), Percentile(t.latencies, 0.9),
                Percentile(t.latencies, 0.99), Percentile(t.latencies, 1.0));
  out << line << std::flush;
  if (wait_s > 0) ReportProcessing(job.ports, t0, push_s, wait_s, out);
  return t.gave_up.load() == 0 && t.rejected.load() == 0 ? 0 : 1;
}

const bool kRegistered =
    RegisterCommand({"loadtest",
                     "push phantom captures from simulated devices to a server (loopback)",
                     kUsage,
                     {},
                     RunLoadtest});

}  // namespace
}  // namespace skintrack::cli
