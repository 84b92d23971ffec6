#include "frontend/grpc/grpc_server.h"

#include <pthread.h>

#include <algorithm>
#include <atomic>
#include <limits>
#include <mutex>
#include <thread>
#include <vector>

#include "fmt/format.h"
#include "frontend/grpc/health_service.h"
#include "frontend/grpc/inference_service.h"
#include "frontend/grpc/unary_call.h"
#include "grpc_predict_v2.grpc.pb.h"
#include "grpcpp/alarm.h"
#include "grpcpp/security/server_credentials.h"
#include "grpcpp/server.h"
#include "grpcpp/server_builder.h"
#include "metrics/grpc_metrics.h"
#include "spdlog/spdlog.h"

namespace modelmux {
namespace {

using namespace grpc_internal;  // NOLINT: the completion-queue machinery
using Clock = std::chrono::steady_clock;
using AsyncService = inference::GRPCInferenceService::AsyncService;

// Calls of one method waiting to be taken, per completion queue: enough
// inferences that a burst finds one ready; the rest are rare.
constexpr int kInferListeners = 16;
constexpr int kOtherListeners = 2;

// Copies InferenceServer::Ready() into the health service every `interval`,
// from an alarm on one completion queue (no thread of its own).
class HealthPublisher final : public Tag {
 public:
  HealthPublisher(HealthService* health, const InferenceServer* server, std::chrono::milliseconds interval)
      : health_(health), server_(server), interval_(interval) {}

  void Start(grpc::CompletionQueue* cq) {
    std::lock_guard<std::mutex> lock(mu_);
    cq_ = cq;
    health_->SetServing(server_->Ready());
    Arm();
  }

  void Proceed(bool ok) override {
    std::lock_guard<std::mutex> lock(mu_);
    if (!ok || stopped_) return;  // cancelled by Stop
    health_->SetServing(server_->Ready());
    Arm();
  }

  // NOT_SERVING from now on; the alarm's last event is cancelled.
  void Stop() {
    std::lock_guard<std::mutex> lock(mu_);
    stopped_ = true;
    health_->Shutdown();
    if (cq_ != nullptr) alarm_.Cancel();
  }

 private:
  void Arm() { alarm_.Set(cq_, std::chrono::system_clock::now() + interval_, this); }

  HealthService* const health_;
  const InferenceServer* const server_;
  const std::chrono::milliseconds interval_;
  std::mutex mu_;
  grpc::CompletionQueue* cq_ = nullptr;
  grpc::Alarm alarm_;
  bool stopped_ = false;
};

// What the calls of one GrpcServer share.
struct ServerCore : CallState {
  explicit ServerCore(InferenceServer* server)
      : CallState(&grpc_metrics),
        handlers(server),
        grpc_metrics(server->metrics().registry()),
        health(this) {}

  InferenceRpcHandlers handlers;
  GrpcMetrics grpc_metrics;
  AsyncService service;
  HealthService health;
};

template <typename Request, typename Reply>
using Method = typename UnaryCall<Request, Reply>::Method;

// A method of inference.GRPCInferenceService: its generated Request<Name> and
// its handler.
template <typename Request, typename Reply, typename RequestMethod>
Method<Request, Reply> InferenceMethod(ServerCore& core, const char* name, RequestMethod request,
                                       void (InferenceRpcHandlers::*handler)(Rpc<Request, Reply>&)) {
  return {.name = name,
          .request = [&core, request](
                         grpc::ServerContext* context, Request* message,
                         grpc::ServerAsyncResponseWriter<Reply>* writer, grpc::ServerCompletionQueue* cq,
                         void* tag) { (core.service.*request)(context, message, writer, cq, cq, tag); },
          .handler = [&core, handler](Rpc<Request, Reply>& rpc) { (core.handlers.*handler)(rpc); }};
}

// The methods of inference.GRPCInferenceService, each with `listeners` calls
// waiting on every completion queue.
class InferenceMethods {
 public:
  explicit InferenceMethods(ServerCore& core)
      : core_(core),
#define MODELMUX_METHOD(NAME) \
  NAME##_(InferenceMethod(core, #NAME, &AsyncService::Request##NAME, &InferenceRpcHandlers::NAME))
        MODELMUX_METHOD(ServerLive),
        MODELMUX_METHOD(ServerReady),
        MODELMUX_METHOD(ModelReady),
        MODELMUX_METHOD(ServerMetadata),
        MODELMUX_METHOD(ModelMetadata),
        MODELMUX_METHOD(ModelInfer),
        MODELMUX_METHOD(RepositoryIndex),
        MODELMUX_METHOD(RepositoryModelLoad),
        MODELMUX_METHOD(RepositoryModelUnload) {
  }
#undef MODELMUX_METHOD

  void Listen(grpc::ServerCompletionQueue* cq) {
    ListenTo(ServerLive_, cq, kOtherListeners);
    ListenTo(ServerReady_, cq, kOtherListeners);
    ListenTo(ModelReady_, cq, kOtherListeners);
    ListenTo(ServerMetadata_, cq, kOtherListeners);
    ListenTo(ModelMetadata_, cq, kOtherListeners);
    ListenTo(ModelInfer_, cq, kInferListeners);
    ListenTo(RepositoryIndex_, cq, kOtherListeners);
    ListenTo(RepositoryModelLoad_, cq, kOtherListeners);
    ListenTo(RepositoryModelUnload_, cq, kOtherListeners);
  }

 private:
  template <typename M>
  void ListenTo(const M& method, grpc::ServerCompletionQueue* cq, int listeners) {
    for (int i = 0; i < listeners; ++i) M::Call::Listen(core_, method, cq);
  }

  ServerCore& core_;
#define MODELMUX_METHOD(NAME) const Method<inference::NAME##Request, inference::NAME##Response> NAME##_;
  MODELMUX_METHOD(ServerLive)
  MODELMUX_METHOD(ServerReady)
  MODELMUX_METHOD(ModelReady)
  MODELMUX_METHOD(ServerMetadata)
  MODELMUX_METHOD(ModelMetadata)
  MODELMUX_METHOD(ModelInfer)
  MODELMUX_METHOD(RepositoryIndex)
  MODELMUX_METHOD(RepositoryModelLoad)
  MODELMUX_METHOD(RepositoryModelUnload)
#undef MODELMUX_METHOD
};

void Poll(grpc::ServerCompletionQueue* cq) {
  void* tag = nullptr;
  bool ok = false;
  while (cq->Next(&tag, &ok)) static_cast<Tag*>(tag)->Proceed(ok);
}

std::string HostPort(const std::string& address, uint16_t port) {
  const bool ipv6 = address.find(':') != std::string::npos && address.front() != '[';
  return ipv6 ? fmt::format("[{}]:{}", address, port) : fmt::format("{}:{}", address, port);
}

}  // namespace

struct GrpcServer::Impl : ServerCore {
  Impl(const Options& options, InferenceServer* server)
      : ServerCore(server), options(options), methods(*this) {
    if (options.authenticator != nullptr) {
      access_check.emplace(*options.authenticator, server->metrics().registry());
      access = &*access_check;
    }
  }

  const Options options;
  std::optional<GrpcAccess> access_check;
  InferenceMethods methods;
  std::unique_ptr<grpc::Server> server;
  std::vector<std::unique_ptr<grpc::ServerCompletionQueue>> queues;
  std::vector<std::thread> threads;
  std::unique_ptr<HealthPublisher> health_publisher;
  int port = 0;
  std::once_flag shutdown_once;
  std::once_flag stop_once;
};

GrpcServer::GrpcServer(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}

GrpcServer::~GrpcServer() { Stop(); }

absl::StatusOr<std::unique_ptr<GrpcServer>> GrpcServer::Create(const Options& options,
                                                               InferenceServer* server) {
  // Health checks are served by our HealthService, on our queues.
  grpc::EnableDefaultHealthCheckService(false);
  auto impl = std::make_unique<Impl>(options, server);
  const std::string target = HostPort(options.address, options.port);
  grpc::ServerBuilder builder;
  builder.AddListeningPort(target, grpc::InsecureServerCredentials(), &impl->port);
  // A port another process listens on is an error, not a port to share.
  builder.AddChannelArgument(GRPC_ARG_ALLOW_REUSEPORT, 0);
  builder.SetMaxReceiveMessageSize(
      static_cast<int>(std::min<int64_t>(options.max_message_bytes, std::numeric_limits<int>::max())));
  builder.RegisterService(&impl->service);
  builder.RegisterService(impl->health.service());
  for (int i = 0; i < std::max(1, options.threads); ++i) impl->queues.push_back(builder.AddCompletionQueue());
  impl->server = builder.BuildAndStart();
  if (impl->server == nullptr || impl->port == 0) {
    return absl::UnavailableError(fmt::format("cannot listen for gRPC on {}", target));
  }
  impl->health_publisher = std::make_unique<HealthPublisher>(&impl->health, server, options.health_interval);
  return std::unique_ptr<GrpcServer>(new GrpcServer(std::move(impl)));
}

uint16_t GrpcServer::port() const { return static_cast<uint16_t>(impl_->port); }

void GrpcServer::Start() {
  for (auto& cq : impl_->queues) {
    impl_->methods.Listen(cq.get());
    impl_->health.Listen(cq.get());
  }
  impl_->health_publisher->Start(impl_->queues.front().get());
  for (size_t i = 0; i < impl_->queues.size(); ++i) {
    impl_->threads.emplace_back([cq = impl_->queues[i].get(), i] {
      pthread_setname_np(pthread_self(), fmt::format("grpc-cq-{}", i).substr(0, 15).c_str());
      Poll(cq);
    });
  }
}

void GrpcServer::Shutdown(std::chrono::milliseconds grace) {
  std::call_once(impl_->shutdown_once, [&] {
    impl_->draining.store(true, std::memory_order_release);
    impl_->health_publisher->Stop();
    // gRPC's own graceful shutdown also waits for idle clients to hang up
    // (seconds): wait for the calls in flight only, then close at once.
    const Clock::time_point deadline = Clock::now() + grace;
    while (impl_->in_flight.load(std::memory_order_acquire) > 0 && Clock::now() < deadline) {
      std::this_thread::sleep_for(std::chrono::milliseconds(5));
    }
    if (impl_->in_flight.load(std::memory_order_acquire) > 0) {
      spdlog::warn("gRPC: {} calls still in flight after {} ms; cancelling them", impl_->in_flight.load(),
                   grace.count());
    }
    impl_->server->Shutdown(std::chrono::system_clock::now());
  });
}

void GrpcServer::Stop() {
  Shutdown(std::chrono::milliseconds(0));
  std::call_once(impl_->stop_once, [&] {
    for (auto& cq : impl_->queues) cq->Shutdown();
    for (std::thread& t : impl_->threads) t.join();
    if (impl_->threads.empty()) {  // never started: drain here
      for (auto& cq : impl_->queues) Poll(cq.get());
    }
  });
}

}  // namespace modelmux
