#include "frontend/grpc/health_service.h"

#include <string>

namespace modelmux::grpc_internal {
namespace {

using grpc::health::v1::HealthCheckRequest;
using grpc::health::v1::HealthCheckResponse;

constexpr char kInferenceService[] = "inference.GRPCInferenceService";

}  // namespace

// One Watch call: the status is written now and after every change, one
// write at a time (the latest status wins). It ends when gRPC reports the
// call done (the client went away, or the server shut down), once no write
// is in flight.
class WatchCall {
 public:
  WatchCall(HealthService& health, grpc::ServerCompletionQueue* cq)
      : health_(health), cq_(cq), writer_(&context_) {}

  void Listen() {
    context_.AsyncNotifyWhenDone(&done_);
    health_.service_.RequestWatch(&context_, &request_, &writer_, cq_, cq_, &arrived_);
  }

  const std::string& service() const { return request_.service(); }

  // REQUIRES: health_.mu_ held.
  void SendLocked(HealthService::Status status) {
    if (status == sent_ && wrote_once_) return;
    pending_ = status;
    has_pending_ = true;
    if (!writing_ && !done_seen_) WriteNext();
  }

 private:
  // One event kind of this call.
  class Event : public Tag {
   public:
    Event(WatchCall* call, void (WatchCall::*on)(bool)) : call_(call), on_(on) {}
    void Proceed(bool ok) override { (call_->*on_)(ok); }

   private:
    WatchCall* const call_;
    void (WatchCall::*const on_)(bool);
  };

  void OnArrived(bool ok) {
    if (!ok) {  // shutting down: no call came, and no done event will
      delete this;
      return;
    }
    (new WatchCall(health_, cq_))->Listen();
    std::lock_guard<std::mutex> lock(health_.mu_);
    health_.watchers_.insert(this);
    SendLocked(health_.StatusOf(request_.service()));
  }

  void OnWritten(bool ok) {
    bool end = false;
    {
      std::lock_guard<std::mutex> lock(health_.mu_);
      writing_ = false;
      if (ok && has_pending_ && !done_seen_) {
        WriteNext();
      } else {
        end = done_seen_;
      }
    }
    if (end) delete this;
  }

  void OnDone(bool) {
    bool end = false;
    {
      std::lock_guard<std::mutex> lock(health_.mu_);
      done_seen_ = true;
      health_.watchers_.erase(this);
      end = !writing_;
    }
    if (end) delete this;
  }

  // REQUIRES: health_.mu_ held, no write in flight.
  void WriteNext() {
    HealthCheckResponse response;
    response.set_status(pending_);
    sent_ = pending_;
    wrote_once_ = true;
    has_pending_ = false;
    writing_ = true;
    writer_.Write(response, &written_);
  }

  HealthService& health_;
  grpc::ServerCompletionQueue* const cq_;
  grpc::ServerContext context_;
  HealthCheckRequest request_;
  grpc::ServerAsyncWriter<HealthCheckResponse> writer_;
  Event arrived_{this, &WatchCall::OnArrived};
  Event written_{this, &WatchCall::OnWritten};
  Event done_{this, &WatchCall::OnDone};
  // Guarded by health_.mu_ once the call has arrived.
  HealthService::Status sent_ = HealthCheckResponse::UNKNOWN;
  HealthService::Status pending_ = HealthCheckResponse::UNKNOWN;
  bool wrote_once_ = false;
  bool has_pending_ = false;
  bool writing_ = false;
  bool done_seen_ = false;
};

HealthService::HealthService(CallState* state)
    : state_(state),
      check_{.name = "grpc.health.v1.Health/Check",
             .request = [this](grpc::ServerContext* context, HealthCheckRequest* request,
                               grpc::ServerAsyncResponseWriter<HealthCheckResponse>* writer,
                               grpc::ServerCompletionQueue* cq,
                               void* tag) { service_.RequestCheck(context, request, writer, cq, cq, tag); },
             .handler = [this](Rpc<HealthCheckRequest, HealthCheckResponse>& rpc) { Check(rpc); }} {}

void HealthService::Listen(grpc::ServerCompletionQueue* cq) {
  UnaryCall<HealthCheckRequest, HealthCheckResponse>::Listen(*state_, check_, cq);
  (new WatchCall(*this, cq))->Listen();
}

HealthService::Status HealthService::StatusOf(const std::string& service) const {
  if (!service.empty() && service != kInferenceService) return HealthCheckResponse::SERVICE_UNKNOWN;
  return serving_ && !shut_down_ ? HealthCheckResponse::SERVING : HealthCheckResponse::NOT_SERVING;
}

void HealthService::Check(Rpc<HealthCheckRequest, HealthCheckResponse>& rpc) {
  Status status;
  {
    std::lock_guard<std::mutex> lock(mu_);
    status = StatusOf(rpc.request().service());
  }
  if (status == HealthCheckResponse::SERVICE_UNKNOWN) {
    return rpc.Finish(absl::NotFoundError("unknown service '" + rpc.request().service() + "'"));
  }
  rpc.reply().set_status(status);
  rpc.Finish(absl::OkStatus());
}

void HealthService::SetServing(bool serving) {
  std::lock_guard<std::mutex> lock(mu_);
  if (serving_ == serving) return;
  serving_ = serving;
  for (WatchCall* watcher : watchers_) watcher->SendLocked(StatusOf(watcher->service()));
}

void HealthService::Shutdown() {
  std::lock_guard<std::mutex> lock(mu_);
  shut_down_ = true;
  for (WatchCall* watcher : watchers_) watcher->SendLocked(StatusOf(watcher->service()));
}

}  // namespace modelmux::grpc_internal
