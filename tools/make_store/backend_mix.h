// Which backend each tenant of a generated store is trained for.
//
// --backends lists backends with optional weights:
//   "torchscript"                                   every tenant (the default)
//   "torchscript,fasttext,xgboost"                  equal shares
//   "torchscript=0.5,fasttext=0.3,xgboost=0.2"      by weight (normalised to sum 1)
// An entry without a weight weighs 1. Tenants are dealt out in index order,
// each to the backend furthest below its share so far, so every prefix of the
// store (and every vertical, which take turns by index) holds the mix.
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "absl/status/statusor.h"

namespace modelmux::make_store {

enum class TenantBackend { kTorchScript, kFastText, kXGBoost };

// "torchscript", "fasttext", "xgboost": the config.json "backend" value.
std::string_view TenantBackendName(TenantBackend backend);

struct BackendShare {
  TenantBackend backend;
  double share = 0;  // normalised: the shares of a mix sum to 1
};

// InvalidArgument naming the entry that is unknown, repeated or malformed.
absl::StatusOr<std::vector<BackendShare>> ParseBackendMix(std::string_view spec);

// The backend of tenants 0 .. tenants-1.
std::vector<TenantBackend> AssignBackends(int tenants, const std::vector<BackendShare>& mix);

}  // namespace modelmux::make_store
