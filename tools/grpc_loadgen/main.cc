// modelmux-grpc-loadgen: a closed-loop load generator for the KServe V2 gRPC
// front end (bench/grpc.sh). It keeps `-c` ModelInfer calls in flight over
// `--connections` HTTP/2 connections from one thread on one completion queue,
// sending one text model the same 64-word ticket as modelmux-loadgen
// (typed bytes_contents, or raw_input_contents with --raw), and reports
// throughput, latency percentiles and errors by gRPC code. Written in C++
// on gRPC's asynchronous API so that the client costs little CPU next to the
// server it measures on the same machine.
#include <chrono>
#include <cstdio>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "CLI/CLI.hpp"
#include "grpc_predict_v2.grpc.pb.h"
#include "grpcpp/grpcpp.h"
#include "loadgen/latency_histogram.h"
#include "loadgen/request_builder.h"

namespace {

using Clock = std::chrono::steady_clock;
using inference::GRPCInferenceService;
using modelmux::loadgen::LatencyHistogram;

struct Options {
  std::string host = "127.0.0.1";
  int port = 0;
  std::string model;
  int concurrency = 32;
  int connections = 1;
  double seconds = 10;
  double warmup = 1;
  bool raw = false;
  int top_k = 3;
  bool json = false;
};

struct Call {
  grpc::ClientContext context;
  inference::ModelInferResponse reply;
  grpc::Status status;
  std::unique_ptr<grpc::ClientAsyncResponseReader<inference::ModelInferResponse>> reader;
  Clock::time_point sent;
  size_t stub = 0;
};

inference::ModelInferRequest TicketRequest(const Options& o) {
  inference::ModelInferRequest request;
  request.set_model_name(o.model);
  (*request.mutable_parameters())["top_k"].set_int64_param(o.top_k);
  auto* input = request.add_inputs();
  input->set_name("text");
  input->set_datatype("BYTES");
  input->add_shape(1);
  const std::string text = modelmux::loadgen::kDefaultText;
  if (!o.raw) {
    input->mutable_contents()->add_bytes_contents(text);
    return request;
  }
  const auto length = static_cast<uint32_t>(text.size());
  std::string raw(reinterpret_cast<const char*>(&length), sizeof(length));
  request.add_raw_input_contents(raw + text);
  return request;
}

class Runner {
 public:
  explicit Runner(const Options& o) : options_(o), request_(TicketRequest(o)) {
    for (int i = 0; i < o.connections; ++i) {
      grpc::ChannelArguments args;
      args.SetInt(GRPC_ARG_USE_LOCAL_SUBCHANNEL_POOL, 1);  // one connection per channel
      args.SetInt("modelmux.loadgen.channel", i);
      auto channel = grpc::CreateCustomChannel(o.host + ":" + std::to_string(o.port),
                                               grpc::InsecureChannelCredentials(), args);
      stubs_.push_back(GRPCInferenceService::NewStub(channel));
    }
  }

  int Run() {
    const Clock::time_point start = Clock::now();
    measure_from_ =
        start + std::chrono::duration_cast<Clock::duration>(std::chrono::duration<double>(options_.warmup));
    end_ = measure_from_ +
           std::chrono::duration_cast<Clock::duration>(std::chrono::duration<double>(options_.seconds));
    for (int i = 0; i < options_.concurrency; ++i) Send(static_cast<size_t>(i) % stubs_.size());
    int in_flight = options_.concurrency;
    void* tag = nullptr;
    bool ok = false;
    while (in_flight > 0 && queue_.Next(&tag, &ok)) {
      std::unique_ptr<Call> call(static_cast<Call*>(tag));
      const Clock::time_point now = Clock::now();
      if (call->sent >= measure_from_ && now <= end_) Record(*call, now);
      if (now < end_) {
        Send(call->stub);
      } else {
        --in_flight;
      }
    }
    Report();
    return completed_ > 0 ? 0 : 1;
  }

 private:
  void Send(size_t stub) {
    auto* call = new Call;
    call->stub = stub;
    call->sent = Clock::now();
    call->reader = stubs_[stub]->PrepareAsyncModelInfer(&call->context, request_, &queue_);
    call->reader->StartCall();
    call->reader->Finish(&call->reply, &call->status, call);
  }

  void Record(const Call& call, Clock::time_point now) {
    if (!call.status.ok()) {
      ++errors_[call.status.error_code()];
      if (first_error_.empty()) first_error_ = call.status.error_message();
      return;
    }
    if (call.reply.outputs_size() != 2) {
      ++errors_[-1];  // an answer without label and score
      return;
    }
    ++completed_;
    latency_.Record(std::chrono::duration_cast<std::chrono::nanoseconds>(now - call.sent).count());
  }

  void Report() const {
    int64_t errors = 0;
    for (const auto& [code, n] : errors_) errors += n;
    const double rps = static_cast<double>(completed_) / options_.seconds;
    auto us = [&](double q) { return static_cast<double>(latency_.Percentile(q)) / 1000.0; };
    if (options_.json) {
      std::printf(
          "{\"throughput_rps\": %.1f, \"completed\": %lld, \"error_count\": %lld, \"seconds\": %.3f, "
          "\"concurrency\": %d, \"connections\": %d, \"raw\": %s, "
          "\"latency_us\": {\"p50\": %.1f, \"p90\": %.1f, \"p99\": %.1f, \"p99.9\": %.1f, \"max\": %.1f}}\n",
          rps, static_cast<long long>(completed_), static_cast<long long>(errors), options_.seconds,
          options_.concurrency, options_.connections, options_.raw ? "true" : "false", us(0.5), us(0.9),
          us(0.99), us(0.999), static_cast<double>(latency_.max()) / 1000.0);
    } else {
      std::printf("%lld calls in %.1f s: %.0f calls/s, %lld errors\n", static_cast<long long>(completed_),
                  options_.seconds, rps, static_cast<long long>(errors));
      std::printf("latency us: p50 %.0f  p90 %.0f  p99 %.0f  p99.9 %.0f  max %.0f\n", us(0.5), us(0.9),
                  us(0.99), us(0.999), static_cast<double>(latency_.max()) / 1000.0);
    }
    for (const auto& [code, n] : errors_) {
      std::fprintf(stderr, "errors with code %d: %lld\n", code, static_cast<long long>(n));
    }
    if (!first_error_.empty()) std::fprintf(stderr, "first error: %s\n", first_error_.c_str());
  }

  const Options options_;
  const inference::ModelInferRequest request_;
  std::vector<std::unique_ptr<GRPCInferenceService::Stub>> stubs_;
  grpc::CompletionQueue queue_;
  Clock::time_point measure_from_;
  Clock::time_point end_;
  LatencyHistogram latency_;
  int64_t completed_ = 0;
  std::map<int, int64_t> errors_;
  std::string first_error_;
};

}  // namespace

int main(int argc, char** argv) {
  Options o;
  CLI::App app("Closed-loop KServe V2 gRPC load on one text model (ModelInfer)");
  app.add_option("--host", o.host, "Server address");
  app.add_option("--port", o.port, "gRPC port")->required();
  app.add_option("-m,--model", o.model, "Model name")->required();
  app.add_option("-c,--concurrency", o.concurrency, "Calls in flight")->check(CLI::Range(1, 100000));
  app.add_option("--connections", o.connections, "HTTP/2 connections")->check(CLI::Range(1, 1024));
  app.add_option("-d,--seconds", o.seconds, "Measured seconds")->check(CLI::PositiveNumber);
  app.add_option("--warmup", o.warmup, "Seconds of load before measuring")->check(CLI::NonNegativeNumber);
  app.add_option("--top-k", o.top_k, "Parameter top_k")->check(CLI::Range(1, 1000));
  app.add_flag("--raw", o.raw, "Send the text as raw_input_contents (answered raw)");
  app.add_flag("--json", o.json, "Print JSON");
  CLI11_PARSE(app, argc, argv);
  return Runner(o).Run();
}
