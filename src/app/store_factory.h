// Builds the model store the flags name: a LocalDirectoryStore for a
// directory, or for s3://bucket/prefix an S3Store (credentials from the
// environment or ~/.aws/credentials) over a DiskCache (--disk-cache, or a
// private temporary directory that keeps nothing when none is given).
#pragma once

#include <memory>

#include "absl/status/statusor.h"
#include "app/config.h"
#include "metrics/store_metrics.h"
#include "store/model_store.h"

namespace modelmux {

// REQUIRES: `metrics` outlives the store.
absl::StatusOr<std::unique_ptr<ModelStore>> MakeModelStore(const Config& config, StoreMetrics* metrics);

}  // namespace modelmux
