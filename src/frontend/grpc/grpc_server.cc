#include "frontend/grpc/grpc_server.h"

#include <pthread.h>

#include <algorithm>
#include <atomic>
#include <limits>
#include <mutex>
#include <thread>
#include <vector>

#include "fmt/format.h"
#include "frontend/grpc/grpc_status.h"
#include "frontend/grpc/inference_service.h"
#include "grpc_predict_v2.grpc.pb.h"
#include "grpcpp/alarm.h"
#include "grpcpp/health_check_service_interface.h"
#include "grpcpp/security/server_credentials.h"
#include "grpcpp/server.h"
#include "grpcpp/server_builder.h"
#include "grpcpp/server_context.h"
#include "metrics/grpc_metrics.h"
#include "spdlog/spdlog.h"

namespace modelmux {
namespace {

using Clock = std::chrono::steady_clock;
using AsyncService = inference::GRPCInferenceService::AsyncService;

// The service name health checks may ask about, besides "" (the server).
constexpr char kServiceName[] = "inference.GRPCInferenceService";

// Calls of one method waiting to be taken, per completion queue: enough
// inferences that a burst finds one ready; the rest are rare.
constexpr int kInferListeners = 16;
constexpr int kOtherListeners = 2;

// Everything a completion-queue event may act on.
class Tag {
 public:
  virtual ~Tag() = default;
  // One event of this tag; `ok` as the completion queue reports it.
  virtual void Proceed(bool ok) = 0;
};

// Copies InferenceServer::Ready() into the health service every `interval`,
// from an alarm on one completion queue (no thread of its own).
class HealthPublisher final : public Tag {
 public:
  HealthPublisher(grpc::HealthCheckServiceInterface* health, const InferenceServer* server,
                  std::chrono::milliseconds interval)
      : health_(health), server_(server), interval_(interval) {
    Publish(false);
  }

  void Start(grpc::CompletionQueue* cq) {
    std::lock_guard<std::mutex> lock(mu_);
    cq_ = cq;
    Update();
    Arm();
  }

  void Proceed(bool ok) override {
    std::lock_guard<std::mutex> lock(mu_);
    if (!ok || stopped_) return;  // cancelled by Stop
    Update();
    Arm();
  }

  // NOT_SERVING from now on; the alarm's last event is cancelled.
  void Stop() {
    std::lock_guard<std::mutex> lock(mu_);
    stopped_ = true;
    Publish(false);
    if (cq_ != nullptr) alarm_.Cancel();
  }

 private:
  void Update() {
    const bool ready = server_->Ready();
    if (ready != serving_) Publish(ready);
  }
  void Publish(bool serving) {
    serving_ = serving;
    health_->SetServingStatus("", serving);
    health_->SetServingStatus(kServiceName, serving);
  }
  void Arm() { alarm_.Set(cq_, std::chrono::system_clock::now() + interval_, this); }

  grpc::HealthCheckServiceInterface* const health_;
  const InferenceServer* const server_;
  const std::chrono::milliseconds interval_;
  std::mutex mu_;
  grpc::CompletionQueue* cq_ = nullptr;
  grpc::Alarm alarm_;
  bool serving_ = false;
  bool stopped_ = false;
};

// What the calls of one GrpcServer share.
struct ServerCore {
  explicit ServerCore(InferenceServer* server) : handlers(server), metrics(server->metrics().registry()) {}

  InferenceRpcHandlers handlers;
  GrpcMetrics metrics;
  AsyncService service;
  std::atomic<bool> shutting_down{false};
  // Calls that arrived and whose status has not gone out yet.
  std::atomic<int> in_flight{0};
};

// One unary call from its arrival to its status being sent: its request,
// its reply, and the writer that answers it. It asks for the next call of
// its method when it arrives, and deletes itself once answered.
template <typename Request, typename Reply>
class UnaryCall final : public Tag, public Rpc<Request, Reply> {
 public:
  using RequestMethod = void (AsyncService::*)(grpc::ServerContext*, Request*,
                                               grpc::ServerAsyncResponseWriter<Reply>*,
                                               grpc::CompletionQueue*, grpc::ServerCompletionQueue*, void*);
  using Handler = void (InferenceRpcHandlers::*)(Rpc<Request, Reply>&);
  struct Method {
    const char* name;  // as in the metrics
    RequestMethod request;
    Handler handler;
  };

  // Waits for the next call of `method` on `cq`.
  static void Listen(ServerCore& core, const Method& method, grpc::ServerCompletionQueue* cq) {
    auto* call = new UnaryCall(core, method, cq);
    (core.service.*method.request)(&call->context_, &call->request_, &call->writer_, cq, cq, call);
  }

  void Proceed(bool ok) override {
    if (state_ == State::kListening) {
      if (!ok) {  // the server is shutting down: no call came
        delete this;
        return;
      }
      state_ = State::kRunning;
      arrived_ = Clock::now();
      core_.in_flight.fetch_add(1, std::memory_order_relaxed);
      if (core_.shutting_down.load(std::memory_order_acquire)) {
        // Draining: the calls in flight finish, new ones go elsewhere.
        Finish(absl::UnavailableError("the server is shutting down"));
        return;
      }
      Listen(core_, method_, cq_);
      (core_.handlers.*method_.handler)(*this);  // may Finish, and so end, this call
      return;
    }
    // The status went out (ok false: the client had gone).
    core_.metrics.ObserveRequest(method_.name, GrpcCodeName(code_),
                                 std::chrono::duration<double>(Clock::now() - arrived_).count());
    core_.in_flight.fetch_sub(1, std::memory_order_release);
    delete this;
  }

  Request& request() override { return request_; }
  Reply& reply() override { return reply_; }

  Deadline deadline() const override {
    const std::chrono::system_clock::time_point when = context_.deadline();
    if (when == std::chrono::system_clock::time_point::max()) return Deadline::Never();
    const auto left = std::chrono::duration_cast<Clock::duration>(when - std::chrono::system_clock::now());
    return Deadline::In(std::max(left, Clock::duration::zero()));
  }

  void Finish(const absl::Status& status) override {
    state_ = State::kFinishing;
    if (status.ok()) {
      code_ = grpc::StatusCode::OK;
      writer_.Finish(reply_, grpc::Status::OK, this);
      return;
    }
    const GrpcError error = GrpcErrorFor(status);
    code_ = error.status.error_code();
    if (error.retry_after.count() > 0) {
      context_.AddTrailingMetadata(std::string(kRetryAfterMetadata),
                                   std::to_string(error.retry_after.count()));
    }
    writer_.FinishWithError(error.status, this);
  }

 private:
  enum class State { kListening, kRunning, kFinishing };

  UnaryCall(ServerCore& core, const Method& method, grpc::ServerCompletionQueue* cq)
      : core_(core), method_(method), cq_(cq), writer_(&context_) {}

  ServerCore& core_;
  const Method& method_;
  grpc::ServerCompletionQueue* const cq_;
  grpc::ServerContext context_;
  Request request_;
  Reply reply_;
  grpc::ServerAsyncResponseWriter<Reply> writer_;
  State state_ = State::kListening;
  Clock::time_point arrived_;
  grpc::StatusCode code_ = grpc::StatusCode::UNKNOWN;
};

template <typename Request, typename Reply>
void Listen(ServerCore& core, const typename UnaryCall<Request, Reply>::Method& method,
            grpc::ServerCompletionQueue* cq, int listeners) {
  for (int i = 0; i < listeners; ++i) UnaryCall<Request, Reply>::Listen(core, method, cq);
}

// The methods of inference.GRPCInferenceService and their handlers.
void ListenForEveryMethod(ServerCore& core, grpc::ServerCompletionQueue* cq) {
  using namespace inference;  // NOLINT: the protocol's message names
  using H = InferenceRpcHandlers;
  using S = AsyncService;
#define MODELMUX_METHOD(NAME, LISTENERS)                                                               \
  {                                                                                                    \
    static const UnaryCall<NAME##Request, NAME##Response>::Method kMethod = {#NAME, &S::Request##NAME, \
                                                                             &H::NAME};                \
    Listen<NAME##Request, NAME##Response>(core, kMethod, cq, LISTENERS);                               \
  }
  MODELMUX_METHOD(ServerLive, kOtherListeners)
  MODELMUX_METHOD(ServerReady, kOtherListeners)
  MODELMUX_METHOD(ModelReady, kOtherListeners)
  MODELMUX_METHOD(ServerMetadata, kOtherListeners)
  MODELMUX_METHOD(ModelMetadata, kOtherListeners)
  MODELMUX_METHOD(ModelInfer, kInferListeners)
  MODELMUX_METHOD(RepositoryIndex, kOtherListeners)
  MODELMUX_METHOD(RepositoryModelLoad, kOtherListeners)
  MODELMUX_METHOD(RepositoryModelUnload, kOtherListeners)
#undef MODELMUX_METHOD
}

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
  Impl(const Options& options, InferenceServer* server) : ServerCore(server), options(options) {}

  const Options options;
  std::unique_ptr<grpc::Server> server;
  std::vector<std::unique_ptr<grpc::ServerCompletionQueue>> queues;
  std::vector<std::thread> threads;
  std::unique_ptr<HealthPublisher> health;
  int port = 0;
  std::once_flag shutdown_once;
  std::once_flag stop_once;
};

GrpcServer::GrpcServer(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}

GrpcServer::~GrpcServer() { Stop(); }

absl::StatusOr<std::unique_ptr<GrpcServer>> GrpcServer::Create(const Options& options,
                                                               InferenceServer* server) {
  grpc::EnableDefaultHealthCheckService(true);
  auto impl = std::make_unique<Impl>(options, server);
  const std::string target = HostPort(options.address, options.port);
  grpc::ServerBuilder builder;
  builder.AddListeningPort(target, grpc::InsecureServerCredentials(), &impl->port);
  // A port another process listens on is an error, not a port to share.
  builder.AddChannelArgument(GRPC_ARG_ALLOW_REUSEPORT, 0);
  builder.SetMaxReceiveMessageSize(
      static_cast<int>(std::min<int64_t>(options.max_message_bytes, std::numeric_limits<int>::max())));
  builder.RegisterService(&impl->service);
  for (int i = 0; i < std::max(1, options.threads); ++i) impl->queues.push_back(builder.AddCompletionQueue());
  impl->server = builder.BuildAndStart();
  if (impl->server == nullptr || impl->port == 0) {
    return absl::UnavailableError(fmt::format("cannot listen for gRPC on {}", target));
  }
  grpc::HealthCheckServiceInterface* health = impl->server->GetHealthCheckService();
  if (health == nullptr) return absl::InternalError("gRPC's default health check service is missing");
  impl->health = std::make_unique<HealthPublisher>(health, server, options.health_interval);
  return std::unique_ptr<GrpcServer>(new GrpcServer(std::move(impl)));
}

uint16_t GrpcServer::port() const { return static_cast<uint16_t>(impl_->port); }

void GrpcServer::Start() {
  for (auto& cq : impl_->queues) ListenForEveryMethod(*impl_, cq.get());
  impl_->health->Start(impl_->queues.front().get());
  for (size_t i = 0; i < impl_->queues.size(); ++i) {
    impl_->threads.emplace_back([cq = impl_->queues[i].get(), i] {
      pthread_setname_np(pthread_self(), fmt::format("grpc-cq-{}", i).substr(0, 15).c_str());
      Poll(cq);
    });
  }
}

void GrpcServer::Shutdown(std::chrono::milliseconds grace) {
  std::call_once(impl_->shutdown_once, [&] {
    impl_->shutting_down.store(true, std::memory_order_release);
    impl_->health->Stop();
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
