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
#include "server/inference_server.h"

namespace modelmux {

struct RouteCall {
  InferenceServer& server;
  const HttpRequestView& request;
  std::string_view raw_name;  // {name} as it appears in the path
  const std::shared_ptr<ReplySink>& sink;
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

// Runs `decoded` on `model` with the request's deadline and answers through
// the call's sink: SageMaker form, or V2 form when the body was a V2 body.
RouteResult StartInfer(const RouteCall& call, std::string model, DecodedInfer decoded);

// Replies through `sink` once the server's `done` arrives: 200 with `ok_body`,
// or the error.
InferenceServer::DoneCallback ReplyWhenDone(const std::shared_ptr<ReplySink>& sink, std::string ok_body);

// {"message": "<message>"}, the SageMaker acknowledgement.
std::string MessageBody(std::string_view message);

// "2024-05-01T12:00:00.123Z"; nullopt for the epoch (never).
std::optional<std::string> Rfc3339Utc(std::chrono::system_clock::time_point time);

}  // namespace modelmux
