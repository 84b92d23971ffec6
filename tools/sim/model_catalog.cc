#include "sim/model_catalog.h"

#include <cmath>
#include <vector>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/str_split.h"
#include "common/byte_size.h"
#include "common/status_macros.h"
#include "sim/random.h"

namespace modelmux::sim {

absl::StatusOr<SizeDistribution> SizeDistribution::Parse(std::string_view spec) {
  std::vector<std::string> parts = absl::StrSplit(std::string(spec), ':');
  SizeDistribution d;
  if (parts.size() == 2 && parts[0] == "fixed") {
    d.kind = Kind::kFixed;
    ASSIGN_OR_RETURN(d.min_bytes, ParseByteSize(parts[1]));
    d.max_bytes = d.min_bytes;
  } else if (parts.size() == 3 && (parts[0] == "loguniform" || parts[0] == "uniform")) {
    d.kind = parts[0] == "uniform" ? Kind::kUniform : Kind::kLogUniform;
    ASSIGN_OR_RETURN(d.min_bytes, ParseByteSize(parts[1]));
    ASSIGN_OR_RETURN(d.max_bytes, ParseByteSize(parts[2]));
  } else {
    return absl::InvalidArgumentError(absl::StrFormat(
        "size distribution '%s': expected loguniform:MIN:MAX, uniform:MIN:MAX or fixed:SIZE", spec));
  }
  if (d.min_bytes <= 0 || d.max_bytes < d.min_bytes) {
    return absl::InvalidArgumentError(absl::StrFormat("size distribution '%s': need 0 < MIN <= MAX", spec));
  }
  return d;
}

std::string SizeDistribution::ToString() const {
  switch (kind) {
    case Kind::kFixed:
      return absl::StrCat("fixed ", FormatBytes(min_bytes));
    case Kind::kUniform:
      return absl::StrCat("uniform ", FormatBytes(min_bytes), "-", FormatBytes(max_bytes));
    case Kind::kLogUniform:
      break;
  }
  return absl::StrCat("log-uniform ", FormatBytes(min_bytes), "-", FormatBytes(max_bytes));
}

TraceModel MakeModel(std::string name, std::string_view key, const CatalogOptions& options) {
  Rng rng(SeedFrom(key, options.seed));
  const SizeDistribution& d = options.sizes;
  const double lo = static_cast<double>(d.min_bytes);
  const double hi = static_cast<double>(d.max_bytes);
  double bytes = lo;
  const double u = rng.Uniform();
  if (d.kind == SizeDistribution::Kind::kUniform) bytes = lo + (hi - lo) * u;
  if (d.kind == SizeDistribution::Kind::kLogUniform) bytes = lo * std::exp(std::log(hi / lo) * u);
  const LoadTimeModel& load = options.load;
  double seconds = load.fixed_seconds + bytes / load.bytes_per_second;
  const double z = rng.Normal();
  if (load.jitter_sigma > 0) seconds *= std::exp(load.jitter_sigma * z);
  return TraceModel{std::move(name), static_cast<int64_t>(std::llround(bytes)), seconds};
}

std::vector<TraceModel> MakeCatalog(int count, const CatalogOptions& options) {
  std::vector<TraceModel> models;
  models.reserve(count);
  for (int i = 0; i < count; ++i) {
    std::string name = absl::StrFormat("m%05d", i);
    models.push_back(MakeModel(name, name, options));
  }
  return models;
}

}  // namespace modelmux::sim
