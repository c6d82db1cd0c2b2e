// CSV rows of the treatment response: one per subject, condition and visit (shaped for CDISC
// SDTM RS: the responder flags beside the scores they came from).
#include <map>
#include <set>

#include "exports.h"
#include "text.h"

namespace skintrack::report::detail {
namespace {

using pipeline::VisitResponse;

std::optional<double> Opt(bool present, double value) {
  return present ? std::optional<double>(value) : std::nullopt;
}

// Y / N for a responder flag of a defined response, empty otherwise.
std::string YesNo(bool defined, bool flag) {
  if (!defined) return "";
  return flag ? "Y" : "N";
}

// The unit of a value column, filled where the value is (SDTM's --ORRESU beside --ORRES).
std::string Unit(bool present, const char* unit) { return present ? unit : ""; }

void Row(const Cohort& cohort, const std::string& subject, Condition condition,
         const VisitResponse& v, std::ostringstream& out) {
  const scoring::PasiResult* pasi = v.pasi ? &v.pasi->pasi : nullptr;
  std::map<std::string, std::string> region;
  std::vector<std::string> missing;
  if (pasi) {
    for (const scoring::PasiRegionScore& r : pasi->regions) {
      region[PasiRegionName(r.input.region)] = Num(r.contribution, 3);
    }
    for (PasiRegion r : pasi->missing) missing.push_back(PasiRegionName(r));
  }
  const std::set<std::string> prov = VisitProvenance(v);
  std::vector<std::string> captures;
  for (std::int64_t id : v.capture_ids) captures.push_back(std::to_string(id));
  const auto contribution = [&](const char* name) {
    return region.count(name) ? region[name] : std::string();
  };
  const bool defined = v.response_defined();
  // A flag applies only to its own condition: a vitiligo row has no PASI75, not "N" (a coordinator
  // counting N as non-response would miscount), and the reverse.
  const bool pasi_defined = defined && v.pasi_response.has_value();
  const bool vasi_defined = defined && v.vasi_response.has_value();
  const scoring::PasiResponse pr = v.pasi_response.value_or(scoring::PasiResponse{});
  const scoring::VasiResponse vr = v.vasi_response.value_or(scoring::VasiResponse{});
  out << cohort.study_id << "," << CsvField(subject) << "," << ConditionName(condition) << ","
      << CsvField(v.visit) << "," << cohort.VisitNumber(v.visit) << "," << Date(v.date_ms) << ","
      << CsvNum(Opt(pasi, pasi ? pasi->pasi : 0), 3) << ","
      << CsvNum(Opt(pasi, pasi ? pasi->pasi_continuous : 0), 3) << ","
      << (pasi ? (pasi->complete ? "Y" : "N") : "") << "," << Join(missing, ";") << ","
      << contribution("head_neck") << "," << contribution("upper_limbs") << ","
      << contribution("trunk") << "," << contribution("lower_limbs") << ","
      << CsvNum(Opt(pasi, v.pasi ? v.pasi->bsa_percent : 0), 3) << ","
      << CsvNum(Opt(v.vasi.has_value(), v.vasi ? v.vasi->t_vasi : 0), 3) << ","
      << CsvNum(Opt(v.vasi && v.vasi->face_imaged, v.vasi ? v.vasi->f_vasi : 0), 3) << ","
      << (defined ? CsvNum(v.change_percent(), 2) : "") << "," << Unit(pasi, "score") << ","
      << Unit(pasi, "%") << "," << Unit(v.vasi.has_value(), "hand units") << ","
      << Unit(defined, "%") << "," << YesNo(pasi_defined, pr.pasi50) << ","
      << YesNo(pasi_defined, pr.pasi75) << "," << YesNo(pasi_defined, pr.pasi90) << ","
      << YesNo(pasi_defined, pr.pasi100) << "," << YesNo(vasi_defined, vr.vasi50) << ","
      << YesNo(vasi_defined, vr.vasi75) << "," << YesNo(vasi_defined, vr.vasi90) << ","
      << scoring::kScoringVersion << ","
      << Join(std::vector<std::string>(prov.begin(), prov.end()), ";") << "," << Join(captures, ";")
      << "\n";
}

}  // namespace

std::string WideCsv(const Cohort& cohort) {
  std::ostringstream out;
  out << kCsvHeader;
  for (const pipeline::PatientResponse& s : cohort.subjects) {
    for (const pipeline::ConditionResponse& cond : s.conditions) {
      for (const VisitResponse& v : cond.visits) Row(cohort, s.patient, cond.condition, v, out);
    }
  }
  return out.str();
}

}  // namespace skintrack::report::detail
