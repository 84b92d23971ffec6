// The server's command-line configuration: flags, their defaults, and the
// checks that turn them into a Config or a clear error.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "eviction/policy_factory.h"
#include "server/inference_server.h"

namespace modelmux {

struct Config {
  std::string store = "./demo-store";
  std::string address = "0.0.0.0";
  int port = 8080;
  std::string port_file;
  int io_threads = 1;
  int workers = 0;  // 0: number of cores
  int64_t memory_budget_bytes = 0;
  int max_queue_per_model = 128;
  int max_queued = 4096;
  int max_concurrent_loads = 2;
  int max_pending_loads = 256;
  // Nothing stalls (issue 11): an inference's deadline, and the workers one
  // model may hold (0: InferenceServer::DefaultMaxWorkersPerModel).
  int request_timeout_ms = 60000;
  int max_workers_per_model = 0;
  int64_t max_body_bytes = 6 << 20;
  std::string preload_file;
  bool preload_all = false;
  std::string eviction_policy = std::string(kDefaultEvictionPolicy);
  int failure_backoff_ms = 1000;
  bool per_model_metrics = false;
  bool torchscript_freeze = false;  // freeze and optimise TorchScript modules at load (issue 15)
  std::string log_level = "info";
  // Warm restarts (issue 5): where the loaded-model set is saved, and how often.
  std::string state_dir;
  int state_interval_s = 30;
  // Deadlines of the load path (issue 11): a load running longer is
  // abandoned (0: never); store calls for metadata get `store_timeout_ms`.
  int load_timeout_s = 120;
  int store_timeout_ms = 2000;

  // S3 store and disk cache (issue 4): used when `store` is s3://bucket/prefix.
  std::string s3_endpoint;  // empty: AWS
  std::string s3_region = "us-east-1";
  int s3_max_attempts = 4;
  int s3_connect_timeout_ms = 5000;
  int s3_request_timeout_ms = 30000;
  int64_t s3_low_speed_limit = 32 << 10;  // bytes/s below which a transfer is cut (0: never)
  int s3_low_speed_time_s = 10;           // ... for this long
  int s3_retry_backoff_ms = 200;
  int s3_list_page_size = 1000;
  // Issue 15: archives larger than one part stream in by parallel ranged GETs;
  // a disk-cache hit older than this is checked against the store in the
  // background (stale-while-revalidate).
  int64_t s3_part_size = int64_t{8} << 20;
  int s3_parallel_parts = 4;
  int revalidate_after_s = 60;
  std::string disk_cache_dir;  // empty: a private temporary directory that keeps nothing
  int64_t disk_cache_budget_bytes = int64_t{10} << 30;
  int max_concurrent_downloads = 2;
  int refresh_interval_s = 0;  // 0: no background check of loaded models
  // Predictive prewarming (issue 16).
  bool prewarm = false;
  int64_t prewarm_bytes = 0;  // 0: a tenth of the memory budget
  int prewarm_loads_per_minute = 30;
  double prewarm_lead_seconds = 60;

  // Access control (issue 13; frontend/http/access_control.h). All empty:
  // every route is open, as before.
  std::string admin_token_file;
  std::string api_token_file;
  std::string sigv4_credentials_file;
  std::string sigv4_region;  // empty: any region a credential scope names
  bool metrics_auth = false;

  // KServe V2 over gRPC (issue 12): off unless a port is given (0: any free one).
  int grpc_port = -1;
  std::string grpc_port_file;
  int grpc_threads = 1;

  // SageMaker Runtime (issue 12): the endpoint name POST /endpoints/{name}/invocations
  // answers to (empty: any), and the variant it reports.
  std::string endpoint_name;
  std::string production_variant = "AllTraffic";

  // The dashboard (issue 17): other instances whose summaries the page shows
  // ("host:port"), and how often the activity history is sampled.
  std::vector<std::string> dashboard_peers;
  int dashboard_interval_ms = 5000;
};

// Parses argv. On --help, or on a usage error, returns the text to print with
// the exit code: {code, text}. Otherwise the Config.
struct ParseOutcome {
  Config config;
  bool exit_now = false;
  int exit_code = 0;
  std::string message;
};
ParseOutcome ParseFlags(int argc, char** argv);

// Reads a --preload file: one model name per line, optionally followed by
// "pin"; blank lines and '#' comments ignored. Names are validated.
absl::StatusOr<std::vector<PreloadEntry>> ReadPreloadFile(const std::string& path);

}  // namespace modelmux
