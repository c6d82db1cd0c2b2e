// Helper of storage_crash_test: ingests captures, appends results and erases patients in an
// endless loop until it is killed. After each acknowledged operation it writes one line to
// stdout with write(2), so that the parent knows what the store promised before the SIGKILL:
//   capture <id> <sha256>       an acknowledged ingest
//   erased <patient>            an acknowledged erasure
// usage: storage_crash_child DATA_DIR SEED
#include <unistd.h>

#include <cstdlib>
#include <iostream>
#include <random>
#include <string>

#include "skintrack/core/error.h"
#include "skintrack/storage/store.h"

namespace {

void Say(const std::string& line) {
  const std::string text = line + "\n";
  const char* p = text.data();
  std::size_t left = text.size();
  while (left > 0) {
    const ssize_t n = ::write(1, p, left);
    if (n <= 0) std::_Exit(3);
    p += n;
    left -= static_cast<std::size_t>(n);
  }
}

std::string Payload(std::uint32_t seed, std::size_t size) {
  std::mt19937 rng(seed);
  std::string bytes(size, '\0');
  for (char& c : bytes) c = static_cast<char>(rng());
  return bytes;
}

void EnsurePatient(skintrack::storage::Store& store, const std::string& id) {
  if (store.repository().FindPatient(id)) return;
  skintrack::storage::PatientInfo info;
  info.id = id;
  store.repository().CreatePatient(info, "crash-child");
}

}  // namespace

int main(int argc, char** argv) {
  using namespace skintrack::storage;
  if (argc != 3) {
    std::cerr << "usage: storage_crash_child DATA_DIR SEED\n";
    return 2;
  }
  try {
    auto store = Store::OpenDataDir(argv[1]);
    std::mt19937 rng(static_cast<std::uint32_t>(std::strtoul(argv[2], nullptr, 10)));
    const char* sites[] = {"scalp", "left-forearm", "trunk-anterior"};
    for (std::uint64_t i = 0;; ++i) {
      const std::string patient = "P" + std::to_string(rng() % 3);
      EnsurePatient(*store, patient);
      // One payload seed in four repeats an earlier one: idempotent retries under crashes.
      const std::uint32_t payload_seed = rng() % 4 == 0 ? rng() % 16 : rng();
      const std::string bytes = Payload(payload_seed, 200 + payload_seed % 20000);
      NewCapture c;
      c.patient_id = patient;
      c.site = sites[rng() % 3];
      c.captured_at = 1700000000000 + static_cast<TimeMs>(i);
      c.width = 32;
      c.height = 32;
      const IngestResult r = store->IngestCapture(c, bytes, "crash-child");
      Say("capture " + std::to_string(r.capture.id) + " " + r.capture.blob.sha256);
      if (i % 3 == 0) {
        NewResult mask;
        mask.capture_id = r.capture.id;
        mask.kind = ResultKind::kMask;
        mask.name = "lesion";
        mask.algorithm = "crash";
        mask.algorithm_version = "1";
        store->AppendResult(mask, std::string_view(Payload(rng(), 300)), "crash-child");
      }
      if (i % 5 == 0) {
        if (auto item = store->repository().ClaimWork("worker:crash", 60000)) {
          store->repository().CompleteWork(item->capture.id, "worker:crash");
        }
      }
      if (i % 20 == 19) {
        // A short-lived patient with its own blobs, erased again: erasure under crashes.
        const std::string gone = "E" + std::to_string(rng());
        EnsurePatient(*store, gone);
        for (int k = 0; k < 2; ++k) {
          c.patient_id = gone;
          c.captured_at += 1;
          store->IngestCapture(c, Payload(rng(), 500), "crash-child");
        }
        store->ErasePatient(gone, "crash-child");
        Say("erased " + gone);
      }
    }
  } catch (const skintrack::Error& e) {
    std::cerr << "storage_crash_child: " << e.what() << "\n";
    return 1;
  }
}
