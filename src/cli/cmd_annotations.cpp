// `skintrack annotations export|import`: annotation datasets as COCO files, to and from CVAT,
// Label Studio and pycocotools (pipeline/annotation_dataset.h does the mapping; this file reads
// and writes the files, and runs image files through the capture intake). `... agreement`: the
// annotators' agreement on labels over the data directory (pipeline/annotation_agreement.h).
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>
#include <optional>
#include <ostream>
#include <sstream>
#include <string>
#include <vector>

#include "command.h"
#include "skintrack/annotation/coco.h"
#include "skintrack/core/error.h"
#include "skintrack/pipeline/annotation_agreement.h"
#include "skintrack/pipeline/annotation_dataset.h"
#include "skintrack/pipeline/pseudonym.h"
#include "skintrack/pipeline/time_format.h"
#include "skintrack/service/image_intake.h"
#include "skintrack/storage/sha256.h"
#include "skintrack/storage/store.h"

namespace skintrack::cli {
namespace {

namespace fs = std::filesystem;

constexpr char kUsage[] =
    R"(usage: skintrack annotations export --data-dir DIR --out FILE.json [--images DIR]
                                  [--for coordinator] [--condition psoriasis|vitiligo]
       skintrack annotations import --data-dir DIR --coco FILE.json [--state submitted|accepted]
                                  [--images DIR --patient ID --site SITE --condition C
                                   [--captured-at RFC3339]]
       skintrack annotations agreement --data-dir DIR [--condition psoriasis|vitiligo] [--json]

Annotation datasets as COCO files (docs/annotation.md, "COCO datasets in and out").

export: every capture's annotations that are submitted or reviewed as accepted / corrected (drafts
and rejected ones are left out): one COCO image per capture, its masks as RLE, boxes, landmarks
and each annotator's labels. Writes FILE.json and, beside it, FILE.manifest.json with the SHA-256
of FILE.json and the annotation version ids it holds (a reproducible dataset version).
  --images DIR          also write the stored (de-identified) photos into DIR, named as file_name
  --for coordinator     subject ids pseudonymised (S-...), annotators other than token ids as
                        opaque A-... ids
  --condition C         only captures of that condition

import: the whole file is checked before anything is written; a malformed file, an unknown
capture, a mask of the wrong size or bad content is refused with the first problem named.
Images name their capture by skintrack.capture_id, or, with --images, --patient, --site and
--condition, each file_name in DIR is taken in through the capture intake as a new capture of
that patient and site (captured now, or at --captured-at). Each annotator's annotations become one
annotation by coco:<annotator>, submitted (default) or reviewed as accepted by "cli"
(--state accepted).

agreement: over every annotated capture's annotations that count for a consensus, per image-level
label Krippendorff's alpha (nominal: diagnosis, subtype; ordinal: the PASI signs, Fitzpatrick,
Monk, image quality), the captures and ratings it is computed on, each annotator's agreement with
the others, and the mean pairwise lesion Dice of the stored consensus agreement figures. Reads only.
  --json                the figures as JSON
)";

std::string ReadFile(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) throw Error(ErrorCode::kIo, "cannot read " + path);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

// Through a temporary file and a rename, so a failed run leaves no half-written output.
void WriteFile(const fs::path& path, const std::string& bytes) {
  const std::string tmp = path.string() + ".tmp";
  {
    std::ofstream f(tmp, std::ios::binary | std::ios::trunc);
    f << bytes;
    if (!f) {
      std::remove(tmp.c_str());
      throw Error(ErrorCode::kIo, "cannot write " + tmp);
    }
  }
  if (std::rename(tmp.c_str(), path.c_str()) != 0) {
    std::remove(tmp.c_str());
    throw Error(ErrorCode::kIo, "cannot write " + path.string());
  }
}

// FILE.json -> FILE.manifest.json (FILE.manifest.json beside any other name).
fs::path ManifestPath(const fs::path& out) {
  fs::path p = out;
  if (p.extension() == ".json") p.replace_extension();
  return p.string() + ".manifest.json";
}

nlohmann::json WriteImages(storage::Store& store, const pipeline::CocoExport& e,
                           const fs::path& dir) {
  fs::create_directories(dir);
  nlohmann::json files = nlohmann::json::array();
  for (const storage::Capture& c : e.captures) {
    const std::string bytes = store.ReadBlob(c.blob.sha256);
    const std::string name = pipeline::CocoFileName(c);
    WriteFile(dir / name, bytes);
    files.push_back(
        {{"file_name", name}, {"sha256", storage::Sha256Hex(bytes)}, {"bytes", bytes.size()}});
  }
  return files;
}

int RunExport(Args& args, std::ostream& out) {
  const std::string dir = args.Require("data-dir");
  const fs::path path = args.Require("out");
  const auto images = args.Get("images");
  const auto audience = args.Get("for");
  const auto condition = args.Get("condition");
  args.CheckNoneLeft();
  if (audience && *audience != "coordinator") {
    throw Error(ErrorCode::kInvalidArgument, "--for must be coordinator, got '" + *audience + "'");
  }
  pipeline::CocoExportOptions options;
  if (condition) options.condition = ParseCondition(*condition);
  auto store = storage::Store::OpenDataDir(dir);
  if (audience) options.pseudonymise = pipeline::LoadOrCreatePseudonymKey(dir);
  const pipeline::CocoExport e = pipeline::BuildCocoDataset(*store, options);
  const std::string text = annotation::WriteCoco(e.dataset);
  nlohmann::json manifest = {{"dataset", path.filename().string()},
                             {"sha256", storage::Sha256Hex(text)},
                             {"bytes", text.size()},
                             {"images", e.dataset.images.size()},
                             {"annotations", e.dataset.annotations.size()},
                             {"annotation_versions", e.dataset.annotation_versions},
                             {"for", audience.value_or("full")},
                             {"condition", condition ? *condition : "all"},
                             {"exported_at", pipeline::FormatRfc3339(storage::NowMs())}};
  if (path.has_parent_path()) fs::create_directories(path.parent_path());
  if (images) manifest["image_files"] = WriteImages(*store, e, *images);
  WriteFile(path, text);
  WriteFile(ManifestPath(path), manifest.dump(2) + "\n");
  storage::AuditEntry audit;
  audit.actor = "cli";
  audit.action = "annotations.export";
  audit.object = "annotations";
  audit.details_json =
      nlohmann::json({{"for", audience.value_or("full")},
                      {"sha256", manifest["sha256"]},
                      {"annotation_versions", e.dataset.annotation_versions.size()}})
          .dump();
  store->repository().AppendAudit(audit);
  out << "exported " << e.dataset.images.size() << " images, " << e.dataset.annotations.size()
      << " COCO annotations from " << e.dataset.annotation_versions.size()
      << " annotation versions to " << path.string() << " (sha256 "
      << manifest["sha256"].get<std::string>() << "); manifest " << ManifestPath(path).string()
      << "\n";
  return 0;
}

// What the intake needs to know of a file: its declared type, from the name (as a browser would
// send it); the intake then checks the bytes against it.
std::string MediaTypeOf(const fs::path& file) {
  std::string ext = file.extension().string();
  for (char& c : ext) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  if (ext == ".jpg" || ext == ".jpeg") return "image/jpeg";
  if (ext == ".png") return "image/png";
  throw Error(ErrorCode::kUnsupportedMedia, "is not a .jpg, .jpeg or .png file");
}

// file_name is relative to the images folder and may not leave it.
fs::path ImageFile(const fs::path& dir, const std::string& file_name) {
  const fs::path name(file_name);
  if (file_name.empty() || name.is_absolute()) {
    throw Error(ErrorCode::kInvalidArgument, "file_name must be a path inside the images folder");
  }
  for (const auto& part : name) {
    if (part == "..") throw Error(ErrorCode::kInvalidArgument, "file_name may not contain '..'");
  }
  return dir / name;
}

struct IngestFacts {
  std::string patient;
  std::string site;
  Condition condition = Condition::kPsoriasis;
  storage::TimeMs captured_at = 0;
};

// Every image file through the intake (service/image_intake.h), before anything is written.
std::vector<pipeline::CocoImportImage> TakeImages(const annotation::CocoDataset& d,
                                                  const fs::path& dir, const IngestFacts& facts) {
  std::vector<pipeline::CocoImportImage> out;
  for (size_t i = 0; i < d.images.size(); ++i) {
    const std::string& name = d.images[i].file_name;
    try {
      const fs::path file = ImageFile(dir, name);
      const std::string bytes = ReadFile(file.string());
      // The intake's own checks and lossless metadata removal, as for a pushed capture.
      const service::ValidatedUpload img = service::ValidateUpload(bytes, MediaTypeOf(file));
      pipeline::CocoImportImage taken;
      storage::NewCapture& nc = taken.capture;
      nc.patient_id = facts.patient;
      nc.site = facts.site;
      nc.condition = facts.condition;
      nc.captured_at = facts.captured_at;
      nc.media_type = img.media_type;
      nc.width = img.width;
      nc.height = img.height;
      nc.orientation = img.orientation;
      nc.upload_sha256 = storage::Sha256Hex(bytes);
      nc.Check();
      taken.bytes = img.bytes;
      out.push_back(std::move(taken));
    } catch (const Error& e) {
      throw Error(e.code(), "COCO images[" + std::to_string(i) + "] (" + name + "): " + e.what() +
                                "; nothing was imported");
    }
  }
  return out;
}

pipeline::CocoImportState ParseState(const std::string& text) {
  if (text == "submitted") return pipeline::CocoImportState::kSubmitted;
  if (text == "accepted") return pipeline::CocoImportState::kAccepted;
  throw Error(ErrorCode::kInvalidArgument,
              "--state must be submitted or accepted, got '" + text + "'");
}

int RunImport(Args& args, std::ostream& out) {
  const std::string dir = args.Require("data-dir");
  const std::string coco = args.Require("coco");
  pipeline::CocoImportOptions options;
  options.state = ParseState(args.Get("state").value_or("submitted"));
  const auto images = args.Get("images");
  const auto patient = args.Get("patient");
  const auto site = args.Get("site");
  const auto condition = args.Get("condition");
  const auto captured_at = args.Get("captured-at");
  args.CheckNoneLeft();
  const bool ingest = images || patient || site || condition || captured_at;
  if (ingest && !(images && patient && site && condition)) {
    throw Error(ErrorCode::kInvalidArgument,
                "--images, --patient, --site and --condition go together (the image files become "
                "new captures of that patient and site)");
  }
  const annotation::CocoDataset dataset = annotation::ParseCoco(ReadFile(coco));
  auto store = storage::Store::OpenDataDir(dir);
  if (ingest) {
    if (!store->repository().FindPatient(*patient)) {
      throw Error(ErrorCode::kNotFound, "no patient '" + *patient + "' (skintrack patient add)");
    }
    const storage::TimeMs now = storage::NowMs();
    IngestFacts facts{*patient, *site, ParseCondition(*condition),
                      captured_at ? pipeline::ParseRfc3339(*captured_at) : now};
    service::CheckCapturedAt(facts.captured_at, now, {});
    options.new_captures = TakeImages(dataset, *images, facts);
  }
  const pipeline::CocoImportReport r = pipeline::ImportCocoDataset(*store, dataset, options, "cli");
  out << "imported " << r.annotations_imported << " annotations (" << r.annotations_unchanged
      << " already stored unchanged) on " << r.capture_ids.size() << " images ("
      << r.captures_created << " new captures), "
      << (options.state == pipeline::CocoImportState::kAccepted ? "accepted" : "submitted") << "\n";
  return 0;
}

std::string Figure(const std::optional<double>& v) {
  if (!v) return "-";
  std::ostringstream s;
  s.setf(std::ios::fixed);
  s.precision(3);
  s << *v;
  return s.str();
}

void PrintAgreement(const pipeline::DatasetAgreement& a, std::ostream& out) {
  out << a.captures << " annotated captures; lesion pairwise Dice mean "
      << Figure(a.lesion_pairwise_dice_mean) << " over " << a.lesion_dice_captures
      << " consensus results\n";
  for (const pipeline::LabelAgreement& l : a.labels) {
    out << pipeline::LabelFieldName(l.field) << ": alpha " << Figure(l.alpha) << " ("
        << (pipeline::MetricOf(l.field) == scoring::AlphaMetric::kNominal ? "nominal" : "ordinal")
        << ", " << l.units << " captures, " << l.ratings << " ratings)\n";
    for (const pipeline::AnnotatorLabelAgreement& p : l.per_annotator) {
      out << "  " << p.author << ": " << Figure(p.agreement_with_others) << " over " << p.units
          << " captures\n";
    }
  }
}

int RunAgreement(Args& args, std::ostream& out) {
  const std::string dir = args.Require("data-dir");
  const auto condition = args.Get("condition");
  const bool as_json = args.Flag("json");
  args.CheckNoneLeft();
  pipeline::DatasetAgreementOptions options;
  if (condition) options.condition = ParseCondition(*condition);
  // A figure of nothing would hide a mistyped path; opening would also create the directory.
  if (!fs::exists(fs::path(dir) / "skintrack.db")) {
    throw Error(ErrorCode::kNotFound, "no skintrack data directory at " + dir);
  }
  auto store = storage::Store::OpenDataDir(dir);
  const pipeline::DatasetAgreement a = pipeline::ComputeDatasetAgreement(*store, options);
  if (as_json) {
    out << pipeline::DatasetAgreementJson(a).dump(2) << "\n";
  } else {
    PrintAgreement(a, out);
  }
  return 0;
}

int RunAnnotations(Args& args, std::ostream& out) {
  const auto& pos = args.positional();
  const std::string what = pos.size() == 1 ? pos[0] : "";
  if (what == "export") return RunExport(args, out);
  if (what == "import") return RunImport(args, out);
  if (what == "agreement") return RunAgreement(args, out);
  throw Error(ErrorCode::kInvalidArgument,
              "expected `skintrack annotations export|import|agreement ...` (see --help)");
}

const bool kRegistered = RegisterCommand({"annotations",
                                          "export and import annotation datasets as COCO "
                                          "files; annotators' agreement on labels",
                                          kUsage,
                                          {"json"},
                                          RunAnnotations});

}  // namespace
}  // namespace skintrack::cli
