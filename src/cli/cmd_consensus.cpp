// `skintrack consensus`: the consensus of several annotators' masks of one image (majority vote
// or STAPLE) and every annotator's agreement with it, for mask folders outside a data directory.
#include <cstdio>
#include <iomanip>
#include <nlohmann/json.hpp>
#include <opencv2/imgcodecs.hpp>
#include <ostream>
#include <string>
#include <vector>

#include "command.h"
#include "skintrack/core/error.h"
#include "skintrack/scoring/consensus.h"
#include "skintrack/scoring/learned_dataset.h"

namespace skintrack::cli {
namespace {

constexpr char kUsage[] =
    R"(usage: skintrack consensus [--method majority|staple] MASK.png MASK.png ... --out OUT.png
                          [--json] [--binarise]

The consensus of two or more annotators' masks of one image, written to OUT.png (0/255), and how
well each annotator agrees with it. Masks are single-channel PNGs of one size holding 0 and 255
(--binarise accepts other values, thresholded at 128, for masks that were resampled).

  --method majority   pixels marked by at least half of the annotators (default)
  --method staple     STAPLE (Warfield et al. 2004): each annotator's sensitivity and specificity
                      and the true mask estimated together; pixels with posterior >= 0.5
  --json              the figures as JSON on standard output: annotators, method,
                      pairwise_dice_mean, consensus_fraction and per_annotator (mask,
                      dice_vs_consensus, dice_vs_others, sensitivity, specificity)

dice_vs_others is the Dice with the consensus of the other annotators (leave-one-out).
Sensitivity and specificity are STAPLE's estimates, or, for majority, measured against the
consensus. Nothing is written unless every mask reads.
)";

// Every mask must have the first one's size.
std::vector<cv::Mat> ReadMasks(const std::vector<std::string>& paths, bool binarise) {
  std::vector<cv::Mat> masks;
  for (const std::string& p : paths) {
    const cv::Size expected = masks.empty() ? cv::Size() : masks[0].size();
    masks.push_back(scoring::ReadBinaryMask(p, expected, binarise));
  }
  return masks;
}

// Through a temporary file and a rename, so a failed run leaves no half-written output.
void WriteMask(const cv::Mat& mask, const std::string& path) {
  const std::string tmp = path + ".tmp.png";
  if (!cv::imwrite(tmp, mask) || std::rename(tmp.c_str(), path.c_str()) != 0) {
    std::remove(tmp.c_str());
    throw Error(ErrorCode::kIo, "cannot write " + path);
  }
}

nlohmann::json ReportJson(const scoring::ConsensusReport& r,
                          const std::vector<std::string>& paths) {
  nlohmann::json per = nlohmann::json::array();
  for (size_t i = 0; i < paths.size(); ++i) {
    const scoring::AnnotatorAgreement& a = r.per_annotator[i];
    per.push_back({{"mask", paths[i]},
                   {"dice_vs_consensus", a.dice_vs_consensus},
                   {"dice_vs_others", a.dice_vs_others},
                   {"sensitivity", a.sensitivity},
                   {"specificity", a.specificity}});
  }
  return {{"annotators", paths.size()},
          {"method", scoring::ConsensusMethodName(r.method)},
          {"pairwise_dice_mean", r.pairwise_dice_mean},
          {"consensus_fraction", r.consensus_fraction},
          {"per_annotator", per}};
}

void PrintReport(const scoring::ConsensusReport& r, const std::vector<std::string>& paths,
                 std::ostream& out) {
  out << std::fixed << std::setprecision(3) << paths.size() << " annotators, "
      << scoring::ConsensusMethodName(r.method) << " consensus covers "
      << 100.0 * r.consensus_fraction << " % of the image; pairwise Dice mean "
      << r.pairwise_dice_mean << "\n"
      << "dice_vs_consensus  dice_vs_others  sensitivity  specificity  mask\n";
  for (size_t i = 0; i < paths.size(); ++i) {
    const scoring::AnnotatorAgreement& a = r.per_annotator[i];
    out << std::setw(17) << a.dice_vs_consensus << std::setw(16) << a.dice_vs_others
        << std::setw(13) << a.sensitivity << std::setw(13) << a.specificity << "  " << paths[i]
        << "\n";
  }
}

int RunConsensus(Args& args, std::ostream& out) {
  const auto method = scoring::ParseConsensusMethod(args.Get("method").value_or("majority"));
  const std::string out_path = args.Require("out");
  const bool json = args.Flag("json");
  const bool binarise = args.Flag("binarise");
  args.CheckNoneLeft();
  const std::vector<std::string>& paths = args.positional();
  if (paths.size() < 2) {
    throw Error(ErrorCode::kInvalidArgument,
                "consensus needs at least 2 mask files, got " + std::to_string(paths.size()));
  }
  const scoring::ConsensusReport report =
      scoring::BuildConsensus(ReadMasks(paths, binarise), method);
  WriteMask(report.mask, out_path);
  if (json) {
    out << ReportJson(report, paths).dump(2) << "\n";
  } else {
    PrintReport(report, paths, out);
  }
  return 0;
}

const bool kRegistered = RegisterCommand({"consensus",
                                          "consensus and agreement of several annotators' masks",
                                          kUsage,
                                          {"json", "binarise"},
                                          RunConsensus});

}  // namespace
}  // namespace skintrack::cli
