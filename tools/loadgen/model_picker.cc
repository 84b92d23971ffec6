#include "loadgen/model_picker.h"

#include <algorithm>
#include <cmath>

#include "absl/strings/str_cat.h"

namespace modelmux::loadgen {

ZipfSampler::ZipfSampler(int64_t n, double s) : cdf_(static_cast<size_t>(std::max<int64_t>(n, 1))) {
  double sum = 0;
  for (size_t r = 0; r < cdf_.size(); ++r) cdf_[r] = sum += std::pow(static_cast<double>(r + 1), -s);
  for (double& c : cdf_) c /= sum;
  cdf_.back() = 1.0;  // no draw can fall past the last rank through rounding
}

int64_t ZipfSampler::Sample(double uniform) const {
  return std::upper_bound(cdf_.begin(), cdf_.end(), uniform) - cdf_.begin();
}

double ZipfSampler::Probability(int64_t rank) const { return cdf_[rank] - (rank ? cdf_[rank - 1] : 0.0); }

absl::StatusOr<PickKind> ParsePickKind(const std::string& name) {
  if (name == "one") return PickKind::kOne;
  if (name == "uniform") return PickKind::kUniform;
  if (name == "zipf") return PickKind::kZipf;
  if (name == "sequential") return PickKind::kSequential;
  return absl::InvalidArgumentError(
      absl::StrCat("unknown model choice '", name, "': one, uniform, zipf or sequential"));
}

ModelPicker::ModelPicker(PickKind kind, int64_t models, double zipf_s, uint64_t seed)
    : kind_(kind),
      models_(models),
      engine_(seed),
      // Only Zipf needs the table; the others get a one-rank one.
      zipf_(kind == PickKind::kZipf ? models : 1, zipf_s) {}

int64_t ModelPicker::Next() {
  switch (kind_) {
    case PickKind::kOne:
      return 0;
    case PickKind::kUniform:
      return static_cast<int64_t>(UniformDouble(engine_) * static_cast<double>(models_));
    case PickKind::kZipf:
      return zipf_.Sample(UniformDouble(engine_));
    case PickKind::kSequential:
      return next_++ % models_;
  }
  return 0;
}

}  // namespace modelmux::loadgen
