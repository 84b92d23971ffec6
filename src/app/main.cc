// modelmux: wires the store, the backends (TorchScript, fastText, XGBoost), the
// inference server and the HTTP front end together, then waits for
// SIGTERM/SIGINT and shuts down gracefully: stop accepting, finish the
// requests in flight, exit 0. SIGHUP re-reads the credentials files (access
// control) and keeps serving.
#include <pthread.h>
#include <signal.h>

#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <iostream>
#include <set>

#include "app/access_setup.h"
#include "app/config.h"
#include "app/store_factory.h"
#include "backends/fasttext/fasttext_backend.h"
#include "backends/torchscript/torchscript_backend.h"
#include "backends/xgboost/xgboost_backend.h"
#include "common/byte_size.h"
#include "common/status_macros.h"
#include "eviction/policy_factory.h"
#include "frontend/grpc/grpc_server.h"
#include "frontend/http/http_server.h"
#include "metrics/metrics.h"
#include "metrics/store_metrics.h"
#include "server/inference_server.h"
#include "server/warm_state.h"
#include "spdlog/spdlog.h"

namespace modelmux {
namespace {

// Every backend this binary serves, chosen per model by config.json "backend".
std::vector<std::unique_ptr<Backend>> MakeBackends(const Config& config, Metrics& metrics) {
  std::vector<std::unique_ptr<Backend>> backends;
  backends.push_back(NewTorchScriptBackend({.freeze = config.torchscript_freeze}));
  backends.push_back(NewFastTextBackend());
  backends.push_back(NewXGBoostBackend());
  for (const auto& backend : backends) metrics.DeclareBackend(backend->name());
  return backends;
}

absl::StatusOr<std::unique_ptr<InferenceServer>> MakeServer(const Config& config, Metrics* metrics,
                                                            StoreMetrics* store_metrics) {
  InferenceServer::Options options;
  ASSIGN_OR_RETURN(options.store, MakeModelStore(config, store_metrics));
  options.backends = MakeBackends(config, *metrics);
  options.metrics = metrics;
  options.memory_budget_bytes = config.memory_budget_bytes;
  ASSIGN_OR_RETURN(options.policy, NewEvictionPolicy(config.eviction_policy));
  options.workers = config.workers;
  options.max_queue_per_model = config.max_queue_per_model;
  options.max_queued_total = config.max_queued;
  options.max_concurrent_loads = config.max_concurrent_loads;
  options.max_pending_loads = config.max_pending_loads;
  options.request_timeout = std::chrono::milliseconds(config.request_timeout_ms);
  options.max_workers_per_model = config.max_workers_per_model;
  options.initial_failure_backoff = std::chrono::milliseconds(config.failure_backoff_ms);
  options.load_timeout = std::chrono::seconds(config.load_timeout_s);
  options.store_timeout = std::chrono::milliseconds(config.store_timeout_ms);
  options.refresh_interval = std::chrono::seconds(config.refresh_interval_s);
  if (config.prewarm) {
    options.prewarm.emplace();
    options.prewarm->max_bytes = config.prewarm_bytes;
    options.prewarm->max_loads_per_minute = config.prewarm_loads_per_minute;
    options.prewarm->lead_seconds = config.prewarm_lead_seconds;
  }
  options.activity_sample_interval = std::chrono::milliseconds(config.dashboard_interval_ms);
  return InferenceServer::Create(std::move(options));
}

std::vector<PreloadEntry> ReadPreloadFileOrExit(const std::string& path) {
  absl::StatusOr<std::vector<PreloadEntry>> entries = ReadPreloadFile(path);
  if (!entries.ok()) {
    spdlog::error("{}", entries.status().ToString());
    std::exit(2);
  }
  return *std::move(entries);
}

// Warm restart (issue 5): the --preload entries, then the set saved in
// --state-dir, loaded within the budget before ready. False when there is no
// saved set (a first start) or --preload-all loads everything anyway.
bool StartWarmPreload(const Config& config, InferenceServer& server) {
  if (config.state_dir.empty() || config.preload_all) return false;
  const std::string path = WarmStatePath(config.state_dir);
  absl::StatusOr<std::vector<PreloadEntry>> saved = ReadWarmState(path);
  if (!saved.ok()) {
    spdlog::info("warm restart: no saved state at {}; starting cold", path);
    return false;
  }
  std::vector<PreloadEntry> entries;
  if (!config.preload_file.empty()) entries = ReadPreloadFileOrExit(config.preload_file);
  std::set<std::string> seen;
  for (const PreloadEntry& e : entries) seen.insert(e.name);
  for (PreloadEntry& e : *saved) {
    if (seen.insert(e.name).second) entries.push_back(std::move(e));
  }
  spdlog::info("warm restart: preloading up to {} models saved in {}", entries.size(), path);
  server.PreloadWithinBudget(std::move(entries));
  return true;
}

void StartPreload(const Config& config, InferenceServer& server) {
  if (StartWarmPreload(config, server)) return;
  if (config.preload_all) {
    server.PreloadAll();
  } else if (!config.preload_file.empty()) {
    server.Preload(ReadPreloadFileOrExit(config.preload_file));
  }
}

std::unique_ptr<WarmStateWriter> StartStateWriter(const Config& config, const InferenceServer& server) {
  if (config.state_dir.empty()) return nullptr;
  auto writer = std::make_unique<WarmStateWriter>(
      WarmStateWriter::Options{.path = WarmStatePath(config.state_dir),
                               .interval = std::chrono::seconds(config.state_interval_s),
                               .snapshot = [&server] { return server.LoadedModels(); },
                               .ready = [&server] { return server.Ready(); }});
  writer->Start();
  return writer;
}

// KServe V2 over gRPC (issue 12), when --grpc-port is set: bound (not yet
// started) beside the HTTP port; nullptr when off.
absl::StatusOr<std::unique_ptr<GrpcServer>> MakeGrpc(const Config& config, InferenceServer& server,
                                                     const Authenticator* authenticator) {
  if (config.grpc_port < 0) return nullptr;
  return GrpcServer::Create({.address = config.address,
                             .port = static_cast<uint16_t>(config.grpc_port),
                             .threads = config.grpc_threads,
                             .max_message_bytes = config.max_body_bytes,
                             .authenticator = authenticator},
                            &server);
}

void StartGrpc(const Config& config, GrpcServer& grpc) {
  grpc.Start();
  spdlog::info("modelmux serving KServe V2 gRPC on {}:{} ({} threads)", config.address, grpc.port(),
               config.grpc_threads);
  if (!config.grpc_port_file.empty()) {
    std::string tmp = config.grpc_port_file + ".tmp";
    std::ofstream(tmp) << grpc.port() << "\n";
    std::rename(tmp.c_str(), config.grpc_port_file.c_str());
  }
}

int Run(const Config& config) {
  spdlog::set_level(spdlog::level::from_str(config.log_level));
  // Signals are taken by sigwait below; every thread started from here on
  // inherits the mask.
  sigset_t signals;
  sigemptyset(&signals);
  sigaddset(&signals, SIGTERM);
  sigaddset(&signals, SIGINT);
  sigaddset(&signals, SIGHUP);
  pthread_sigmask(SIG_BLOCK, &signals, nullptr);

  // Credentials first: a bad file stops the start before any model loads.
  absl::StatusOr<std::unique_ptr<Authenticator>> authenticator = MakeAuthenticator(config);
  if (!authenticator.ok()) {
    spdlog::error("cannot start: {}", std::string(authenticator.status().message()));
    return 2;
  }
  ConfigureTorchThreads();
  Metrics metrics({.per_model_labels = config.per_model_metrics});
  metrics.SetMemoryBudgetBytes(config.memory_budget_bytes);
  StoreMetrics store_metrics(metrics.registry());
  absl::StatusOr<std::unique_ptr<InferenceServer>> server = MakeServer(config, &metrics, &store_metrics);
  if (!server.ok()) {
    spdlog::error("cannot start: {}", server.status().ToString());
    return 1;
  }
  absl::StatusOr<std::unique_ptr<HttpServer>> http = HttpServer::Create(
      {.address = config.address,
       .port = static_cast<uint16_t>(config.port),
       .io_threads = config.io_threads,
       .max_body_bytes = config.max_body_bytes,
       .authenticator = authenticator->get(),
       .metrics_auth = config.metrics_auth,
       .routes = {.endpoint_name = config.endpoint_name, .production_variant = config.production_variant},
       .dashboard = {.peers = config.dashboard_peers,
                     .admin_auth_configured = [auth = authenticator->get()] {
                       return auth != nullptr && auth->has_admin_credentials();
                     }}},
      server->get());
  if (!http.ok()) {
    spdlog::error("cannot listen: {}", http.status().ToString());
    return 1;
  }
  absl::StatusOr<std::unique_ptr<GrpcServer>> grpc = MakeGrpc(config, **server, authenticator->get());
  if (!grpc.ok()) {
    spdlog::error("cannot listen: {}", grpc.status().ToString());
    return 1;
  }
  StartPreload(config, **server);
  std::unique_ptr<WarmStateWriter> state_writer = StartStateWriter(config, **server);
  (*http)->Start();
  const ServerInfo info = (*server)->Info();
  spdlog::info("modelmux listening on http://{}:{} (store {}, budget {}, {} workers, at most {} per model)",
               config.address, (*http)->port(), info.store, FormatBytes(info.memory_budget_bytes), info.workers,
               info.max_workers_per_model);
  if (*grpc) StartGrpc(config, **grpc);
  if (!config.port_file.empty()) {
    std::string tmp = config.port_file + ".tmp";
    std::ofstream(tmp) << (*http)->port() << "\n";
    std::rename(tmp.c_str(), config.port_file.c_str());
  }

  int signal_number = 0;
  while (sigwait(&signals, &signal_number) == 0 && signal_number == SIGHUP) {
    ReloadCredentials(authenticator->get());
  }
  spdlog::info("signal {}: no new connections; finishing requests in flight", signal_number);
  (*http)->StopAccepting();
  if (*grpc) (*grpc)->Shutdown(std::chrono::seconds(30));  // gRPC calls in flight finish (or are cancelled)
  if (!(*http)->WaitIdle(std::chrono::seconds(30))) spdlog::warn("requests still in flight after 30 s");
  if (state_writer) {
    if (absl::Status saved = state_writer->StopAndWrite(); !saved.ok())
      spdlog::warn("warm-restart state: {}", saved.ToString());
  }
  (*server)->Shutdown();
  (*http)->Stop();
  if (*grpc) (*grpc)->Stop();
  if ((*server)->has_stuck_loads()) {
    // Threads stuck in abandoned loads still use the store and the backends:
    // destroying those under them would crash; the process ends here instead.
    spdlog::warn("stopped with loads stuck in a backend; exiting without tearing the server down");
    spdlog::default_logger()->flush();
    std::_Exit(0);
  }
  spdlog::info("stopped");
  return 0;
}

}  // namespace
}  // namespace modelmux

int main(int argc, char** argv) {
  modelmux::ParseOutcome parsed = modelmux::ParseFlags(argc, argv);
  if (parsed.exit_now) {
    (parsed.exit_code == 0 ? std::cout : std::cerr) << parsed.message;
    return parsed.exit_code;
  }
  return modelmux::Run(parsed.config);
}
