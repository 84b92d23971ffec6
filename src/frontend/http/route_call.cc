#include "frontend/http/route_call.h"

#include <charconv>
#include <ctime>
#include <utility>

#include "common/model_name.h"
#include "fmt/format.h"
#include "frontend/http/json_writer.h"
#include "frontend/http/request_target.h"
#include "frontend/http/row_codec.h"
#include "frontend/http/status_text.h"
#include "frontend/http/v2_binary_data.h"

namespace modelmux {

absl::StatusOr<std::string> ModelNameFromPath(std::string_view raw_name) {
  std::string name;
  if (raw_name.find('%') == std::string_view::npos) {
    name = std::string(raw_name);
  } else {
    absl::StatusOr<std::string> decoded = PercentDecode(raw_name, /*plus_is_space=*/false);
    if (!decoded.ok()) return decoded.status();
    name = *std::move(decoded);
  }
  if (absl::Status valid = ValidateModelName(name); !valid.ok()) return valid;
  return name;
}

absl::StatusOr<Deadline> DeadlineFromHeader(std::string_view timeout_ms,
                                            std::chrono::steady_clock::time_point received) {
  if (timeout_ms.empty()) return Deadline::Never();
  int64_t ms = 0;
  auto [end, error] = std::from_chars(timeout_ms.data(), timeout_ms.data() + timeout_ms.size(), ms);
  if (error != std::errc() || end != timeout_ms.data() + timeout_ms.size() || ms <= 0) {
    return InvalidArgument(fmt::format("header {} must be a positive number of milliseconds, got '{}'",
                                       kTimeoutHeader, timeout_ms));
  }
  constexpr int64_t kMaxMs = int64_t{1} << 40;  // decades: no overflow below
  return Deadline::At(received + std::chrono::milliseconds(std::min(ms, kMaxMs)));
}

absl::StatusOr<InferRequest> MakeInferRequest(const RouteCall& call, std::string model,
                                              DecodedInfer& decoded) {
  absl::StatusOr<Deadline> deadline = DeadlineFromHeader(call.request.timeout_ms, call.request.received);
  if (!deadline.ok()) return deadline.status();
  InferRequest request;
  request.deadline = *deadline;
  request.model = std::move(model);
  request.texts = std::move(decoded.texts);
  request.top_k = decoded.top_k;
  request.tensors = std::move(decoded.tensors);
  request.tensors_given = decoded.v2 || decoded.rows;  // issue 14: "instances" of numbers
  return request;
}

absl::StatusOr<HttpReply> InferReply(const InferResponse& response, bool v2,
                                     const std::optional<std::string>& id, const V2OutputRequest& outputs) {
  const bool text = response.task == ModelTask::kTextClassification;
  // issue 14: tabular and tensor models answer rows of numbers per row.
  if (!v2) {
    return JsonReply(
        200, text ? EncodePredictions(response.classifications) : EncodeRowPredictions(response.tensors));
  }
  if (outputs.IsDefault()) {  // the common case: every output, as JSON
    return JsonReply(200, text ? EncodeV2Classifications(response.handle.name(), id, response.classifications)
                               : EncodeV2Tensors(response.handle.name(), id, response.tensors));
  }
  absl::StatusOr<EncodedV2Response> encoded =
      text ? EncodeV2Response(response.handle.name(), id, ClassificationTensors(response.classifications),
                              outputs)
           : EncodeV2Response(response.handle.name(), id, response.tensors, outputs);
  if (!encoded.ok()) return encoded.status();
  HttpReply reply = JsonReply(200, std::move(encoded->body));
  if (encoded->binary) {
    reply.content_type = kOctetStreamContentType;
    reply.headers.push_back({kInferenceHeaderContentLength, std::to_string(encoded->json_size)});
  }
  return reply;
}

RouteResult StartInfer(const RouteCall& call, std::string model, DecodedInfer decoded) {
  absl::StatusOr<InferRequest> request = MakeInferRequest(call, std::move(model), decoded);
  if (!request.ok()) return StatusReply(request.status());
  return RunInfer(call, *std::move(request),
                  [v2 = decoded.v2, id = std::move(decoded.id),
                   outputs = std::move(decoded.outputs)](absl::StatusOr<InferResponse> response) {
                    if (!response.ok()) return StatusReply(response.status());
                    absl::StatusOr<HttpReply> reply = InferReply(*response, v2, id, outputs);
                    return reply.ok() ? *std::move(reply) : StatusReply(reply.status());
                  });
}

InferenceServer::DoneCallback ReplyWhenDone(const std::shared_ptr<ReplySink>& sink, std::string ok_body) {
  return [sink, ok_body = std::move(ok_body)](absl::Status status) mutable {
    sink->Reply(status.ok() ? JsonReply(200, std::move(ok_body)) : StatusReply(status));
  };
}

std::optional<std::string> Rfc3339Utc(std::chrono::system_clock::time_point time) {
  if (time.time_since_epoch().count() == 0) return std::nullopt;
  const auto millis = std::chrono::duration_cast<std::chrono::milliseconds>(time.time_since_epoch()).count();
  const std::time_t seconds = static_cast<std::time_t>(millis / 1000);
  std::tm utc{};
  gmtime_r(&seconds, &utc);
  return fmt::format("{:04}-{:02}-{:02}T{:02}:{:02}:{:02}.{:03}Z", utc.tm_year + 1900, utc.tm_mon + 1,
                     utc.tm_mday, utc.tm_hour, utc.tm_min, utc.tm_sec, millis % 1000);
}

std::string MessageBody(std::string_view message) {
  std::string out;
  JsonWriter(&out).BeginObject().Key("message").String(message).EndObject();
  return out;
}

}  // namespace modelmux
