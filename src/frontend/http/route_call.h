// What a route handler is given, and the pieces several handlers share:
// reading the {name} of a path, and running an inference whose answer comes
// back later through the session's ReplySink.
//
// Handlers run on the session's io thread and must not block on the server;
// anything that waits (inference, load, unload) goes through a callback.
#pragma once

#include <chrono>
#include <memory>
#include <optional>
#include <string>
#include <string_view>

#include "absl/status/statusor.h"
#include "frontend/http/codec.h"
#include "frontend/http/http_reply.h"
#include "frontend/http/route_options.h"
#include "server/inference_server.h"

namespace modelmux {

struct RouteCall {
  InferenceServer& server;
  const HttpRequestView& request;
  std::string_view raw_name;  // {name} as it appears in the path
  const std::shared_ptr<ReplySink>& sink;
  const RouteOptions& options;
};

// A reply now, or nullopt: the handler answers later through the sink.
using RouteResult = std::optional<HttpReply>;

// The percent-decoded, validated model name of a path (InvalidArgument).
absl::StatusOr<std::string> ModelNameFromPath(std::string_view raw_name);

// The header that sets one request's deadline: this many milliseconds after
// the server received the request (the server's --request-timeout still caps it).
inline constexpr std::string_view kTimeoutHeader = "X-Modelmux-Timeout-Ms";

// The deadline `timeout_ms` (the header's value; empty: none) sets for a
// request received at `received`. InvalidArgument unless a positive integer.
absl::StatusOr<Deadline> DeadlineFromHeader(std::string_view timeout_ms,
                                            std::chrono::steady_clock::time_point received);

// The InferRequest that runs `decoded` (its texts and tensors are moved out)
// on `model`, by the deadline of the call's X-Modelmux-Timeout-Ms header.
// InvalidArgument when that header is malformed.
absl::StatusOr<InferRequest> MakeInferRequest(const RouteCall& call, std::string model,
                                              DecodedInfer& decoded);

// Runs `request` and answers through the call's sink with `reply(result)`,
// an HttpReply(absl::StatusOr<InferResponse>) functor. It runs on the thread
// that finished the inference: encoding is short work, and the labels it
// reads live only as long as the response's handle. Every inference route
// goes through here, whatever the form of its answers.
template <typename ReplyFn>
RouteResult RunInfer(const RouteCall& call, InferRequest request, ReplyFn reply) {
  call.server.Infer(std::move(request), [sink = call.sink, reply = std::move(reply)](
                                            absl::StatusOr<InferResponse> response) mutable {
    sink->Reply(reply(std::move(response)));
  });
  return std::nullopt;
}

// The 200 reply to a successful inference: SageMaker form, or V2 form when
// the body was a V2 body (`v2`; with its `id`), with the outputs `outputs`
// asks for, as JSON or JSON followed by binary tensor data. InvalidArgument
// when `outputs` names an output the model does not have.
absl::StatusOr<HttpReply> InferReply(const InferResponse& response, bool v2,
                                     const std::optional<std::string>& id, const V2OutputRequest& outputs);

// Runs `decoded` on `model` with the request's deadline and answers through
// the call's sink with InferReply, or with the error (StatusReply).
RouteResult StartInfer(const RouteCall& call, std::string model, DecodedInfer decoded);

// Replies through `sink` once the server's `done` arrives: 200 with `ok_body`,
// or the error.
InferenceServer::DoneCallback ReplyWhenDone(const std::shared_ptr<ReplySink>& sink, std::string ok_body);

// {"message": "<message>"}, the SageMaker acknowledgement.
std::string MessageBody(std::string_view message);

// "2024-05-01T12:00:00.123Z"; nullopt for the epoch (never).
std::optional<std::string> Rfc3339Utc(std::chrono::system_clock::time_point time);

}  // namespace modelmux
