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

namespace modelmux {
namespace {

std::string EncodeInferResponse(const InferResponse& response, bool v2,
                                const std::optional<std::string>& id) {
  const bool text = response.task == ModelTask::kTextClassification;
  // issue 14: tabular and tensor models answer rows of numbers per row.
  if (!v2) return text ? EncodePredictions(response.classifications) : EncodeRowPredictions(response.tensors);
  if (text) return EncodeV2Classifications(response.handle.name(), id, response.classifications);
  return EncodeV2Tensors(response.handle.name(), id, response.tensors);
}

}  // namespace

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

RouteResult StartInfer(const RouteCall& call, std::string model, DecodedInfer decoded) {
  absl::StatusOr<Deadline> deadline = DeadlineFromHeader(call.request.timeout_ms, call.request.received);
  if (!deadline.ok()) return StatusReply(deadline.status());
  InferRequest request;
  request.deadline = *deadline;
  request.model = std::move(model);
  request.texts = std::move(decoded.texts);
  request.top_k = decoded.top_k;
  request.tensors = std::move(decoded.tensors);
  request.tensors_given = decoded.v2 || decoded.rows;  // issue 14: "instances" of numbers
  // The answer is encoded on the worker thread that finished the inference:
  // it is short work, and the labels it reads live only as long as the handle.
  call.server.Infer(std::move(request), [sink = call.sink, v2 = decoded.v2, id = std::move(decoded.id)](
                                       absl::StatusOr<InferResponse> response) mutable {
    if (!response.ok()) {
      sink->Reply(StatusReply(response.status()));
      return;
    }
    sink->Reply(JsonReply(200, EncodeInferResponse(*response, v2, id)));
  });
  return std::nullopt;
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
