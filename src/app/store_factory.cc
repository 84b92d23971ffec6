#include "app/store_factory.h"

#include <stdlib.h>

#include <cerrno>
#include <cstring>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "common/status_macros.h"
#include "spdlog/spdlog.h"
#include "store/disk_cache.h"
#include "store/local_directory_store.h"
#include "store/s3/aws_credentials.h"
#include "store/s3/s3_client.h"
#include "store/s3/s3_store.h"

namespace modelmux {
namespace {

absl::StatusOr<std::unique_ptr<DiskCache>> MakeDiskCache(const Config& config, StoreMetrics* metrics) {
  DiskCache::Options options;
  options.max_concurrent_fills = config.max_concurrent_downloads;
  options.metrics = metrics;
  if (!config.disk_cache_dir.empty()) {
    options.root = config.disk_cache_dir;
    options.budget_bytes = config.disk_cache_budget_bytes;
    return DiskCache::Create(options);
  }
  // Downloads still need a place to land; without --disk-cache nothing stays.
  std::error_code ec;
  std::string dir_template = (std::filesystem::temp_directory_path(ec) / "modelmux-downloads-XXXXXX").string();
  if (ec || ::mkdtemp(dir_template.data()) == nullptr) {
    return absl::InternalError(absl::StrCat("cannot create a download directory: ", std::strerror(errno)));
  }
  options.root = dir_template;
  options.budget_bytes = 0;
  options.remove_root_on_destroy = true;
  return DiskCache::Create(options);
}

absl::StatusOr<std::unique_ptr<ModelStore>> MakeS3Store(const Config& config, StoreMetrics* metrics) {
  ASSIGN_OR_RETURN(S3Location location, ParseS3Url(config.store));
  S3Client::Options client;
  client.endpoint = config.s3_endpoint;
  client.region = config.s3_region;
  client.bucket = location.bucket;
  ASSIGN_OR_RETURN(client.credentials, FindAwsCredentials(ProcessEnv()));
  client.max_attempts = config.s3_max_attempts;
  client.connect_timeout = std::chrono::milliseconds(config.s3_connect_timeout_ms);
  client.request_timeout = std::chrono::milliseconds(config.s3_request_timeout_ms);
  client.low_speed_limit = config.s3_low_speed_limit;
  client.low_speed_time = std::chrono::seconds(config.s3_low_speed_time_s);
  client.initial_backoff = std::chrono::milliseconds(config.s3_retry_backoff_ms);
  client.metrics = metrics;
  S3Store::Options options;
  options.prefix = location.prefix;
  options.list_page_size = config.s3_list_page_size;
  options.parts.part_size = config.s3_part_size;
  options.parts.parallel_parts = config.s3_parallel_parts;
  options.revalidate_after = std::chrono::seconds(config.revalidate_after_s);
  // A background check never needs longer than a metadata call may take.
  options.revalidate_timeout = std::chrono::milliseconds(config.store_timeout_ms);
  ASSIGN_OR_RETURN(options.client, S3Client::Create(std::move(client)));
  ASSIGN_OR_RETURN(options.cache, MakeDiskCache(config, metrics));
  options.metrics = metrics;
  ASSIGN_OR_RETURN(std::unique_ptr<S3Store> store, S3Store::Create(std::move(options)));
  return std::unique_ptr<ModelStore>(std::move(store));
}

}  // namespace

absl::StatusOr<std::unique_ptr<ModelStore>> MakeModelStore(const Config& config, StoreMetrics* metrics) {
  if (absl::StartsWith(config.store, "s3://")) return MakeS3Store(config, metrics);
  if (!config.disk_cache_dir.empty()) spdlog::warn("--disk-cache is ignored for a local store");
  LocalDirectoryStore::Options options;
  options.root = config.store;
  ASSIGN_OR_RETURN(std::unique_ptr<LocalDirectoryStore> store, LocalDirectoryStore::Create(options));
  return std::unique_ptr<ModelStore>(std::move(store));
}

}  // namespace modelmux
