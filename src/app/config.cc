#include "app/config.h"

#include <algorithm>
#include <regex>
#include <thread>

#include "CLI/CLI.hpp"
#include "absl/strings/ascii.h"
#include "absl/strings/str_cat.h"
#include "common/byte_size.h"
#include "eviction/policy_factory.h"
#include "server/inference_server.h"
#include "server/warm_state.h"

namespace modelmux {
namespace {

// Accepts "512M", "8G", or plain bytes.
std::string CheckByteSize(const std::string& text) {
  absl::StatusOr<int64_t> bytes = ParseByteSize(text);
  return bytes.ok() ? std::string() : std::string(bytes.status().message());
}

// Warm restarts (issue 5).
void AddWarmRestartFlags(CLI::App& app, Config& c) {
  app.add_option("--state-dir", c.state_dir,
                 "Save the loaded model names here (periodically and at shutdown); preload them at start");
  app.add_option("--state-interval", c.state_interval_s, "Seconds between saves of the --state-dir state")
      ->check(CLI::Range(1, 86400));
}

// Predictive prewarming (issue 16); --prewarm-bytes goes to `bytes`.
void AddPrewarmFlags(CLI::App& app, Config& c, std::string& bytes) {
  app.add_flag("--prewarm", c.prewarm,
               "Load models shortly before their predicted next request (only with an idle load pool and free "
               "memory)");
  app.add_option("--prewarm-bytes", bytes,
                 "Bytes prewarmed models may hold before their first request (0: a tenth of --memory-budget)")
      ->check(CheckByteSize);
  app.add_option("--prewarm-loads-per-minute", c.prewarm_loads_per_minute, "Prewarm loads per minute at most")
      ->check(CLI::Range(1, 6000));
  app.add_option("--prewarm-lead", c.prewarm_lead_seconds, "Seconds before a predicted request its prewarm starts")
      ->check(CLI::Range(1.0, 3600.0));
}

// Deadlines of the load path (issue 11).
void AddDeadlineFlags(CLI::App& app, Config& c, std::string& low_speed_limit) {
  app.add_option("--load-timeout", c.load_timeout_s,
                 "Seconds a model load may run before it is abandoned (its requests answered, the model FAILED); 0: "
                 "never")
      ->check(CLI::Range(0, 86400));
  app.add_option("--store-timeout", c.store_timeout_ms, "Deadline of store calls for metadata (describe, index), ms")
      ->check(CLI::Range(1, 3600000));
  app.add_option("--s3-low-speed-limit", low_speed_limit,
                 "An S3 transfer slower than this many bytes/s for --s3-low-speed-time is cut off and retried (0: never)")
      ->check(CheckByteSize);
  app.add_option("--s3-low-speed-time", c.s3_low_speed_time_s, "Seconds of --s3-low-speed-limit before the cut-off")
      ->check(CLI::Range(1, 3600));
}

// Access control (issue 13).
void AddAccessControlFlags(CLI::App& app, Config& c) {
  app.add_option("--admin-token-file", c.admin_token_file,
                 "Bearer tokens (one per line) that management routes require; re-read on SIGHUP");
  app.add_option(
      "--api-token-file", c.api_token_file,
      "Bearer tokens (one per line) that inference and read-only routes require; re-read on SIGHUP");
  app.add_option(
      "--sigv4-credentials", c.sigv4_credentials_file,
      "AWS SigV4 keys accepted on API routes (\"ACCESS_KEY_ID SECRET [admin]\" per line); re-read on SIGHUP");
  app.add_option("--sigv4-region", c.sigv4_region, "Region SigV4 credential scopes must name (default: any)");
  app.add_flag("--metrics-auth", c.metrics_auth, "GET /metrics needs an API credential too");
}

// The access-control flags that only make sense together; empty when fine.
std::string CheckAccessControlFlags(const Config& c) {
  const bool any =
      !c.admin_token_file.empty() || !c.api_token_file.empty() || !c.sigv4_credentials_file.empty();
  if (c.metrics_auth && !any) {
    return "error: --metrics-auth needs --admin-token-file, --api-token-file or --sigv4-credentials\n";
  }
  if (!c.sigv4_region.empty() && c.sigv4_credentials_file.empty()) {
    return "error: --sigv4-region needs --sigv4-credentials\n";
  }
  return "";
}

// KServe V2 / Open Inference Protocol over gRPC (issue 12).
void AddGrpcFlags(CLI::App& app, Config& c) {
  app.add_option("--grpc-port", c.grpc_port, "gRPC port for KServe V2 (0: pick a free one); off unless set")
      ->default_str("off")
      ->check(CLI::Range(0, 65535));
  app.add_option("--grpc-port-file", c.grpc_port_file,
                 "Write the bound gRPC port to this file once listening");
  app.add_option("--grpc-threads", c.grpc_threads, "gRPC completion-queue threads")->check(CLI::Range(1, 64));
}

// "host:port", where host is a name, an IPv4 address or a bracketed IPv6 one.
std::string CheckPeer(const std::string& peer) {
  static const std::regex kPeer(R"(([A-Za-z0-9.-]+|\[[0-9A-Fa-f:.]+\]):([0-9]{1,5}))");
  std::smatch m;
  if (!std::regex_match(peer, m, kPeer) || std::stoi(m[2]) < 1 || std::stoi(m[2]) > 65535) {
    return "a peer is host:port, e.g. 10.0.0.7:8080; got '" + peer + "'";
  }
  return {};
}

// The dashboard (issue 17).
void AddDashboardFlags(CLI::App& app, Config& c) {
  app.add_option("--dashboard-peers", c.dashboard_peers,
                 "Other instances (host:port,...) whose summaries GET /dashboard shows")
      ->delimiter(',')
      ->check(CheckPeer);
  app.add_option("--dashboard-interval", c.dashboard_interval_ms,
                 "Milliseconds between the dashboard's samples (15 minutes of them are kept)")
      ->check(CLI::Range(100, 60000));
}

// SageMaker Runtime's names (endpoint, variant): 1-63 letters, digits and
// hyphens, starting and ending with a letter or digit.
std::string CheckSageMakerName(const std::string& text) {
  const bool ok =
      !text.empty() && text.size() <= 63 && text.front() != '-' && text.back() != '-' &&
      std::all_of(text.begin(), text.end(), [](char ch) { return absl::ascii_isalnum(ch) || ch == '-'; });
  return ok ? std::string()
            : "1 to 63 letters, digits and hyphens, starting and ending with a letter or digit";
}

// SageMaker Runtime's InvokeEndpoint (issue 12).
void AddSageMakerRuntimeFlags(CLI::App& app, Config& c) {
  app.add_option("--endpoint-name", c.endpoint_name,
                 "Answer POST /endpoints/{name}/invocations for this endpoint name only (default: any)")
      ->check(CheckSageMakerName);
  app.add_option("--production-variant", c.production_variant,
                 "Variant name reported to SageMaker Runtime clients (x-Amzn-Invoked-Production-Variant)")
      ->check(CheckSageMakerName);
}

}  // namespace

ParseOutcome ParseFlags(int argc, char** argv) {
  ParseOutcome outcome;
  Config& c = outcome.config;
  std::string budget = "70% of physical memory";
  std::string max_body = "6M";
  const int cores = std::max(1u, std::thread::hardware_concurrency());

  CLI::App app{"modelmux: a multi-model inference server for per-tenant models"};
  app.option_defaults()->always_capture_default();
  app.add_option("--store", c.store, "Model store: a local directory, or s3://bucket/prefix");
  app.add_option("--address", c.address, "Address to listen on");
  app.add_option("--port", c.port, "HTTP port (0: pick a free one)")->check(CLI::Range(0, 65535));
  app.add_option("--port-file", c.port_file, "Write the bound port to this file once listening");
  app.add_option("--io-threads", c.io_threads, "HTTP I/O threads")->check(CLI::Range(1, 64));
  app.add_option("--workers", c.workers, "Inference worker threads shared by all models (0: one per core)")
      ->default_str(std::to_string(cores))
      ->check(CLI::Range(0, 1024));
  app.add_option("--memory-budget", budget, "Bytes of models kept in memory, e.g. 512M or 8G")
      ->check(CheckByteSize);
  app.add_option("--max-queue-per-model", c.max_queue_per_model, "Queued requests per model before 429")
      ->check(CLI::Range(1, 1 << 20));
  app.add_option("--max-queued", c.max_queued, "Queued requests in all before 503")->check(CLI::Range(1, 1 << 24));
  app.add_option("--max-concurrent-loads", c.max_concurrent_loads, "Model loads running at once")
      ->check(CLI::Range(1, 64));
  app.add_option("--max-pending-loads", c.max_pending_loads, "Model loads waiting before 503")
      ->check(CLI::Range(1, 1 << 20));
  app.add_option("--request-timeout", c.request_timeout_ms,
                 "Longest an inference may wait and run, ms, from arrival (0: none); 504 beyond")
      ->check(CLI::Range(0, 24 * 3600 * 1000));
  app.add_option("--max-workers-per-model", c.max_workers_per_model,
                 "Workers one model may occupy at once (0: 3/4 of --workers, below --workers when it is > 1)")
      ->check(CLI::Range(0, 1024));
  app.add_option("--max-body-bytes", max_body, "Largest request body accepted (413 beyond)")->check(CheckByteSize);
  app.add_option("--preload", c.preload_file, "File of model names to load before ready (\"name [pin]\" per line)");
  app.add_flag("--preload-all", c.preload_all, "Load every model in the store, within the budget, before ready");
  app.add_option("--eviction-policy", c.eviction_policy, "Eviction policy")->check(CLI::IsMember(EvictionPolicyNames()));
  app.add_option("--failure-backoff", c.failure_backoff_ms, "Initial retry back-off after a failed load, in ms")
      ->check(CLI::Range(0, 3600000));
  app.add_flag("--per-model-metrics", c.per_model_metrics, "Label per-model metrics with model=\"<name>\"");
  app.add_flag("--torchscript-freeze", c.torchscript_freeze,
               "Freeze and optimise each TorchScript module at load: a cheaper forward, a dearer load");
  app.add_option("--log-level", c.log_level, "Log level")
      ->check(CLI::IsMember({"trace", "debug", "info", "warn", "error"}));
  AddWarmRestartFlags(app, c);
  std::string prewarm_bytes = "0";
  AddPrewarmFlags(app, c, prewarm_bytes);
  AddAccessControlFlags(app, c);
  AddGrpcFlags(app, c);
  AddSageMakerRuntimeFlags(app, c);
  AddDashboardFlags(app, c);

  // S3 store and disk cache (issue 4).
  std::string disk_cache_budget = "10G";
  std::string low_speed_limit = "32K";
  AddDeadlineFlags(app, c, low_speed_limit);
  app.add_option("--s3-endpoint", c.s3_endpoint, "S3-compatible endpoint URL (default: AWS)");
  app.add_option("--s3-region", c.s3_region, "S3 region (SigV4 scope)");
  app.add_option("--s3-max-attempts", c.s3_max_attempts, "Attempts per S3 request (retries on 5xx, throttling, network)")
      ->check(CLI::Range(1, 20));
  app.add_option("--s3-connect-timeout", c.s3_connect_timeout_ms, "S3 connect timeout, ms")->check(CLI::Range(1, 600000));
  app.add_option("--s3-request-timeout", c.s3_request_timeout_ms,
                 "S3 HEAD/LIST attempt timeout, ms (GETs: the load's deadline and the low-speed limit)")
      ->check(CLI::Range(1, 3600000));
  app.add_option("--s3-retry-backoff", c.s3_retry_backoff_ms, "First S3 retry back-off, ms (doubles, full jitter)")
      ->check(CLI::Range(0, 600000));
  app.add_option("--s3-list-page-size", c.s3_list_page_size, "Keys per ListObjectsV2 request")
      ->check(CLI::Range(1, 1000));
  std::string part_size = "8M";
  app.add_option("--s3-part-size", part_size, "Bytes per ranged GET of an archive download (larger: one GET)")
      ->check(CheckByteSize);
  app.add_option("--s3-parallel-parts", c.s3_parallel_parts, "Ranged GETs of one archive download running at once")
      ->check(CLI::Range(1, 64));
  app.add_option("--revalidate-after", c.revalidate_after_s,
                 "Seconds a disk-cache hit is served without asking the store; older hits are checked in the "
                 "background (0: every hit)")
      ->check(CLI::Range(0, 86400 * 365));
  app.add_option("--disk-cache", c.disk_cache_dir, "Directory of downloaded artifacts, reused across restarts");
  app.add_option("--disk-cache-budget", disk_cache_budget, "Bytes of artifacts kept in --disk-cache, e.g. 20G")
      ->check(CheckByteSize);
  app.add_option("--max-concurrent-downloads", c.max_concurrent_downloads, "Artifact downloads running at once")
      ->check(CLI::Range(1, 64));
  app.add_option("--refresh-interval", c.refresh_interval_s,
                 "Seconds between checks of loaded models for a new version in the store (0: off)")
      ->check(CLI::Range(0, 86400));

  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    outcome.exit_now = true;
    outcome.exit_code = e.get_exit_code();
    outcome.message = e.get_exit_code() == 0 ? app.help() : absl::StrCat("error: ", e.what(), "\n", "run with --help for the flags\n");
    return outcome;
  }
  if (c.workers == 0) c.workers = cores;
  c.max_body_bytes = *ParseByteSize(max_body);
  c.disk_cache_budget_bytes = *ParseByteSize(disk_cache_budget);
  c.s3_low_speed_limit = *ParseByteSize(low_speed_limit);
  c.s3_part_size = *ParseByteSize(part_size);
  if (app.count("--memory-budget") > 0) {
    c.memory_budget_bytes = *ParseByteSize(budget);
  } else {
    c.memory_budget_bytes = PhysicalMemoryBytes() * 7 / 10;
  }
  if (std::string error = CheckAccessControlFlags(c); !error.empty()) {
    outcome.exit_now = true;
    outcome.exit_code = 2;
    outcome.message = error;
    return outcome;
  }
  if (c.s3_part_size < (int64_t{64} << 10)) {
    outcome.exit_now = true;
    outcome.exit_code = 2;
    outcome.message = "error: --s3-part-size must be at least 64K\n";
    return outcome;
  }
  if (c.memory_budget_bytes <= 0) {
    outcome.exit_now = true;
    outcome.exit_code = 2;
    outcome.message = "error: --memory-budget must be positive\n";
  }
  c.prewarm_bytes = *ParseByteSize(prewarm_bytes);
  if (c.prewarm_bytes == 0) c.prewarm_bytes = c.memory_budget_bytes / 10;
  return outcome;
}

absl::StatusOr<std::vector<PreloadEntry>> ReadPreloadFile(const std::string& path) {
  absl::StatusOr<std::vector<PreloadEntry>> entries = ReadPreloadList(path, MalformedLine::kReject);
  if (absl::IsNotFound(entries.status()))
    return absl::NotFoundError(absl::StrCat("cannot read preload file ", path));
  return entries;
}

}  // namespace modelmux
