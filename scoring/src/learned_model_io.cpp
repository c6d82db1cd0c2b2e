// The model file: "SKTLSEG\0", format version, feature version, target, training-set hash, the
// training parameters (format 3 added the tone copies, 4 the phantom scenes), the threshold, the
// forests, then an FNV-1a checksum of everything before it (which, from format 5, is in the id).
// The header is checked field by field so that the error says what does not fit.
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <string_view>

#include "learned_io.h"
#include "learned_model_impl.h"
#include "skintrack/core/error.h"

namespace skintrack::scoring {
namespace {

constexpr char kMagic[8] = {'S', 'K', 'T', 'L', 'S', 'E', 'G', '\0'};

using learned::ReadPod;
using learned::WritePod;

void WriteOptions(std::ostream& out, const LearnedTrainOptions& o) {
  WritePod(out, static_cast<int32_t>(o.work_max_side));
  WritePod(out, static_cast<int32_t>(o.samples_per_image));
  WritePod(out, static_cast<int32_t>(o.max_total_samples));
  WritePod(out, o.positive_share);
  WritePod(out, static_cast<int32_t>(o.trees));
  WritePod(out, static_cast<int32_t>(o.max_depth));
  WritePod(out, static_cast<int32_t>(o.min_leaf));
  WritePod(out, static_cast<uint8_t>(o.auto_context));
  WritePod(out, static_cast<int32_t>(o.context_folds));
  WritePod(out, o.min_component_share);
  WritePod(out, o.max_hole_share);
  WritePod(out, o.seed);
  WritePod(out, static_cast<int32_t>(o.tone_copies));
  WritePod(out, static_cast<int32_t>(o.phantom_scenes));
}

LearnedTrainOptions ReadOptions(std::istream& in, const std::string& what, uint32_t format) {
  LearnedTrainOptions o;
  o.work_max_side = ReadPod<int32_t>(in, what);
  o.samples_per_image = ReadPod<int32_t>(in, what);
  o.max_total_samples = ReadPod<int32_t>(in, what);
  o.positive_share = ReadPod<double>(in, what);
  o.trees = ReadPod<int32_t>(in, what);
  o.max_depth = ReadPod<int32_t>(in, what);
  o.min_leaf = ReadPod<int32_t>(in, what);
  o.auto_context = ReadPod<uint8_t>(in, what) != 0;
  o.context_folds = ReadPod<int32_t>(in, what);
  o.min_component_share = ReadPod<double>(in, what);
  o.max_hole_share = ReadPod<double>(in, what);
  o.seed = ReadPod<uint64_t>(in, what);
  o.tone_copies = format >= 3 ? ReadPod<int32_t>(in, what) : 0;
  o.phantom_scenes = format >= 4 ? ReadPod<int32_t>(in, what) : 0;
  return o;
}

}  // namespace

namespace learned {

std::string ModelFileBody(const LearnedModel::Impl& model) {
  std::ostringstream out(std::ios::binary);
  const LearnedModelInfo& i = model.info;
  out.write(kMagic, sizeof kMagic);
  WritePod(out, learned::kFormatVersion);
  WritePod(out, i.feature_version);
  WritePod(out, static_cast<uint32_t>(i.target));
  WritePod(out, i.training_set_hash);
  WritePod(out, i.training_images);
  WriteOptions(out, i.options);
  WritePod(out, i.threshold);
  WritePod(out, i.smoothing_sigma);
  WritePod(out, static_cast<uint8_t>(model.stage2.has_value()));
  model.stage1.Write(out);
  if (model.stage2) model.stage2->Write(out);
  return out.str();
}

uint64_t ModelFileChecksum(std::string_view body) {
  Fnv1a h;
  h.Add(body.data(), body.size());
  return h.value();
}

}  // namespace learned

std::string LearnedModel::Serialise() const {
  std::string bytes = learned::ModelFileBody(*impl_);
  const uint64_t sum = learned::ModelFileChecksum(bytes);
  bytes.append(reinterpret_cast<const char*>(&sum), sizeof sum);
  return bytes;
}

LearnedModel LearnedModel::Deserialise(const std::string& bytes, const std::string& what,
                                       LearnedTarget expected) {
  auto bad = [&what](const std::string& why) {
    throw Error(ErrorCode::kInvalidArgument, "model file " + what + ": " + why);
  };
  if (bytes.size() < sizeof kMagic || bytes.compare(0, sizeof kMagic, kMagic, sizeof kMagic) != 0)
    bad("not a skintrack segmentation model (no SKTLSEG header)");
  std::istringstream in(bytes, std::ios::binary);
  in.seekg(sizeof kMagic);
  const std::string where = "model file " + what;
  const auto format = ReadPod<uint32_t>(in, where);
  if (format < learned::kOldestFormatVersion || format > learned::kFormatVersion) {
    bad("format version " + std::to_string(format) + ", this build reads versions " +
        std::to_string(learned::kOldestFormatVersion) + " to " +
        std::to_string(learned::kFormatVersion));
  }
  const auto features = ReadPod<uint32_t>(in, where);
  if (features != learned::kFeatureVersion) {
    bad("feature version " + std::to_string(features) + ", this build computes version " +
        std::to_string(learned::kFeatureVersion) + " (retrain the model)");
  }
  const auto target = ReadPod<uint32_t>(in, where);
  if (target > static_cast<uint32_t>(LearnedTarget::kSkin)) bad("unknown target");
  if (static_cast<LearnedTarget>(target) != expected) {
    bad(std::string("a ") + LearnedTargetName(static_cast<LearnedTarget>(target)) +
        " model, but a " + LearnedTargetName(expected) + " model is needed here");
  }
  if (bytes.size() < 8 + sizeof(uint64_t)) bad("truncated");
  uint64_t stored = 0;
  std::memcpy(&stored, bytes.data() + bytes.size() - sizeof stored, sizeof stored);
  if (stored !=
      learned::ModelFileChecksum(std::string_view(bytes).substr(0, bytes.size() - sizeof stored)))
    bad("truncated or corrupt (checksum mismatch)");

  auto impl = std::make_shared<Impl>();
  LearnedModelInfo& i = impl->info;
  i.format_version = format;
  i.content_hash = stored;
  i.feature_version = features;
  i.target = static_cast<LearnedTarget>(target);
  i.training_set_hash = ReadPod<uint64_t>(in, where);
  i.training_images = ReadPod<uint32_t>(in, where);
  i.options = ReadOptions(in, where, format);
  i.options.target = i.target;
  i.threshold = ReadPod<double>(in, where);
  i.smoothing_sigma = ReadPod<double>(in, where);
  if (!(i.threshold > 0 && i.threshold < 1) || !(i.smoothing_sigma > 0 && i.smoothing_sigma < 64))
    bad("implausible threshold or smoothing");
  try {
    i.options.Check();
  } catch (const Error& e) {
    bad(std::string("implausible parameters: ") + e.what());
  }
  const bool two_stages = ReadPod<uint8_t>(in, where) != 0;
  impl->stage1 = learned::Forest::Read(in, where);
  if (two_stages) impl->stage2 = learned::Forest::Read(in, where);
  const int base = learned::BaseFeatureCount(i.target);
  if (impl->stage1.feature_count() != base ||
      (two_stages && impl->stage2->feature_count() != base + learned::kContextFeatures)) {
    bad("its forests do not fit the features of this build");
  }
  if (static_cast<size_t>(in.tellg()) != bytes.size() - sizeof(uint64_t)) bad("trailing bytes");
  return LearnedModel(std::move(impl));
}

LearnedModel LearnedModel::Load(const std::string& path, LearnedTarget expected) {
  std::ifstream f(path, std::ios::binary);
  if (!f) throw Error(ErrorCode::kIo, "cannot read model file " + path);
  std::ostringstream bytes;
  bytes << f.rdbuf();
  if (f.bad()) throw Error(ErrorCode::kIo, "cannot read model file " + path);
  return Deserialise(bytes.str(), path, expected);
}

void LearnedModel::Save(const std::string& path) const {
  const std::string bytes = Serialise();
  const std::string tmp = path + ".tmp";
  {
    std::ofstream f(tmp, std::ios::binary | std::ios::trunc);
    f.write(bytes.data(), static_cast<std::streamsize>(bytes.size()));
    f.flush();
    if (!f) {
      f.close();
      std::remove(tmp.c_str());
      throw Error(ErrorCode::kIo, "cannot write model file " + tmp);
    }
  }
  std::error_code ec;
  std::filesystem::rename(tmp, path, ec);
  if (ec) {
    std::remove(tmp.c_str());
    throw Error(ErrorCode::kIo, "cannot rename " + tmp + " to " + path + ": " + ec.message());
  }
}

}  // namespace skintrack::scoring
