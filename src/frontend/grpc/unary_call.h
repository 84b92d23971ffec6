// The completion-queue machinery the gRPC front end's services share:
//
//   Tag        what a completion-queue event acts on (the queue's threads
//              call Proceed for each event)
//   CallState  what the calls of one server share: metrics, the count of
//              calls in flight, and whether the server is draining
//   UnaryCall  one unary call from its arrival to its status going out; it
//              asks for the next call of its method as it arrives, runs the
//              method's handler (which answers through Rpc::Finish, now or
//              later from any thread) and deletes itself once answered
//
// Internal to frontend/grpc. Thread-safe as gRPC's asynchronous API is: a
// call's events arrive on its own completion queue, one at a time.
#pragma once

#include <algorithm>
#include <atomic>
#include <chrono>
#include <functional>
#include <string>
#include <string_view>

#include "absl/status/status.h"
#include "frontend/grpc/grpc_access.h"
#include "frontend/grpc/grpc_status.h"
#include "frontend/grpc/inference_service.h"
#include "grpcpp/completion_queue.h"
#include "grpcpp/server_context.h"
#include "grpcpp/support/async_unary_call.h"
#include "metrics/grpc_metrics.h"

namespace modelmux::grpc_internal {

class Tag {
 public:
  virtual ~Tag() = default;
  // One event of this tag; `ok` as the completion queue reports it.
  virtual void Proceed(bool ok) = 0;
};

struct CallState {
  explicit CallState(GrpcMetrics* metrics) : metrics(metrics) {}
  GrpcMetrics* const metrics;
  const GrpcAccess* access = nullptr;  // null: no credentials configured, every method open
  std::atomic<bool> draining{false};
  std::atomic<int> in_flight{0};  // arrived, status not yet sent
};

template <typename Request, typename Reply>
class UnaryCall final : public Tag, public Rpc<Request, Reply> {
 public:
  using Clock = std::chrono::steady_clock;
  using Writer = grpc::ServerAsyncResponseWriter<Reply>;
  struct Method {
    using Call = UnaryCall;
    std::string name;  // as in the metrics
    // Asks gRPC for the next call: a generated Request<Method> of a service.
    std::function<void(grpc::ServerContext*, Request*, Writer*, grpc::ServerCompletionQueue*, void*)> request;
    std::function<void(Rpc<Request, Reply>&)> handler;
  };

  // Waits for the next call of `method` on `cq`. REQUIRES: `state` and
  // `method` outlive every call.
  static void Listen(CallState& state, const Method& method, grpc::ServerCompletionQueue* cq) {
    auto* call = new UnaryCall(state, method, cq);
    method.request(&call->context_, &call->request_, &call->writer_, cq, call);
  }

  void Proceed(bool ok) override {
    if (state_ == State::kListening) {
      if (!ok) {  // the server is shutting down: no call came
        delete this;
        return;
      }
      state_ = State::kRunning;
      arrived_ = Clock::now();
      shared_.in_flight.fetch_add(1, std::memory_order_relaxed);
      if (shared_.draining.load(std::memory_order_acquire)) {
        // Draining: the calls in flight finish, new ones go elsewhere.
        Finish(absl::UnavailableError("the server is shutting down"));
        return;
      }
      Listen(shared_, method_, cq_);
      if (shared_.access != nullptr) {
        if (absl::Status allowed = shared_.access->Check(method_.name, context_); !allowed.ok()) {
          Finish(allowed);
          return;
        }
      }
      method_.handler(*this);  // may Finish, and so end, this call
      return;
    }
    // The status went out (ok false: the client had gone).
    shared_.metrics->ObserveRequest(method_.name, GrpcCodeName(code_),
                                    std::chrono::duration<double>(Clock::now() - arrived_).count());
    shared_.in_flight.fetch_sub(1, std::memory_order_release);
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

  UnaryCall(CallState& shared, const Method& method, grpc::ServerCompletionQueue* cq)
      : shared_(shared), method_(method), cq_(cq), writer_(&context_) {}

  CallState& shared_;
  const Method& method_;
  grpc::ServerCompletionQueue* const cq_;
  grpc::ServerContext context_;
  Request request_;
  Reply reply_;
  Writer writer_;
  State state_ = State::kListening;
  Clock::time_point arrived_;
  grpc::StatusCode code_ = grpc::StatusCode::UNKNOWN;
};

}  // namespace modelmux::grpc_internal
