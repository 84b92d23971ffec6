#include "make_store/backend_mix.h"

#include <algorithm>
#include <charconv>
#include <cmath>

#include "absl/strings/str_cat.h"

namespace modelmux::make_store {
namespace {

constexpr TenantBackend kAll[] = {TenantBackend::kTorchScript, TenantBackend::kFastText,
                                  TenantBackend::kXGBoost};

absl::Status MixError(std::string_view entry, std::string_view what) {
  return absl::InvalidArgumentError(
      absl::StrCat("--backends: '", std::string(entry), "' ", std::string(what),
                   " (use e.g. torchscript,fasttext,xgboost or torchscript=0.5,fasttext=0.3,xgboost=0.2)"));
}

}  // namespace

std::string_view TenantBackendName(TenantBackend backend) {
  switch (backend) {
    case TenantBackend::kTorchScript:
      return "torchscript";
    case TenantBackend::kFastText:
      return "fasttext";
    case TenantBackend::kXGBoost:
      return "xgboost";
  }
  return "unknown";
}

absl::StatusOr<std::vector<BackendShare>> ParseBackendMix(std::string_view spec) {
  std::vector<BackendShare> mix;
  double total = 0;
  for (size_t start = 0; start <= spec.size();) {
    const size_t comma = std::min(spec.find(',', start), spec.size());
    const std::string_view entry = spec.substr(start, comma - start);
    start = comma + 1;
    const size_t eq = entry.find('=');
    const std::string_view name = entry.substr(0, eq);
    const TenantBackend* backend = nullptr;
    for (const TenantBackend& b : kAll) {
      if (TenantBackendName(b) == name) backend = &b;
    }
    if (backend == nullptr) return MixError(entry, "names no backend (torchscript, fasttext or xgboost)");
    for (const BackendShare& earlier : mix) {
      if (earlier.backend == *backend) return MixError(entry, "repeats a backend");
    }
    double weight = 1;
    if (eq != std::string_view::npos) {
      const std::string_view text = entry.substr(eq + 1);
      auto [end, error] = std::from_chars(text.data(), text.data() + text.size(), weight);
      if (error != std::errc() || end != text.data() + text.size() || !std::isfinite(weight) || weight < 0) {
        return MixError(entry, "needs a weight >= 0 after '='");
      }
    }
    mix.push_back({*backend, weight});
    total += weight;
  }
  if (total <= 0) return MixError(spec, "gives every backend a weight of 0");
  for (BackendShare& share : mix) share.share /= total;
  return mix;
}

std::vector<TenantBackend> AssignBackends(int tenants, const std::vector<BackendShare>& mix) {
  std::vector<TenantBackend> out;
  out.reserve(tenants);
  std::vector<int> dealt(mix.size(), 0);
  for (int i = 0; i < tenants; ++i) {
    size_t pick = 0;
    double most_behind = -1e300;
    for (size_t b = 0; b < mix.size(); ++b) {
      const double behind = mix[b].share * (i + 1) - dealt[b];
      if (behind > most_behind + 1e-12) {
        most_behind = behind;
        pick = b;
      }
    }
    ++dealt[pick];
    out.push_back(mix[pick].backend);
  }
  return out;
}

}  // namespace modelmux::make_store
