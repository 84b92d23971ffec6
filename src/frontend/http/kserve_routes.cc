#include "frontend/http/kserve_routes.h"

#include <utility>

#include "fmt/format.h"
#include "frontend/http/admin_codec.h"
#include "frontend/http/json_writer.h"
#include "frontend/http/status_text.h"
#include "frontend/http/v2_binary_data.h"

namespace modelmux {
namespace {

void WriteSpec(JsonWriter& w, std::string_view name, DataType dtype, const std::vector<int64_t>& shape) {
  w.BeginObject().Key("name").String(name).Key("datatype").String(DataTypeName(dtype));
  w.Key("shape").BeginArray();
  for (int64_t d : shape) w.Int(d);
  w.EndArray().EndObject();
}

void WriteSignature(JsonWriter& w, const std::optional<ModelConfig>& config) {
  w.Key("inputs").BeginArray();
  if (config.has_value() && config->task == ModelTask::kTextClassification) {
    WriteSpec(w, "text", DataType::kBytes, {-1});
  } else if (config.has_value() && config->task == ModelTask::kTabular) {
    // issue 14: the one input, with the column each position holds.
    const TensorSpec& spec = config->inputs.at(0);
    w.BeginObject().Key("name").String(spec.name).Key("datatype").String(DataTypeName(spec.dtype));
    w.Key("shape").BeginArray().Int(-1).Int(static_cast<int64_t>(config->features.size())).EndArray();
    w.Key("parameters").BeginObject().Key("features").BeginArray();
    for (const std::string& feature : config->features) w.String(feature);
    w.EndArray().EndObject().EndObject();
  } else if (config.has_value()) {
    for (const TensorSpec& spec : config->inputs) WriteSpec(w, spec.name, spec.dtype, spec.shape);
  }
  w.EndArray().Key("outputs").BeginArray();
  if (config.has_value() && config->task == ModelTask::kTextClassification) {
    WriteSpec(w, "label", DataType::kBytes, {-1, -1});
    WriteSpec(w, "score", DataType::kFp32, {-1, -1});
  } else if (config.has_value()) {
    for (const TensorSpec& spec : config->outputs) WriteSpec(w, spec.name, spec.dtype, spec.shape);
  }
  w.EndArray();
}

void WriteIndexEntry(JsonWriter& w, const ModelStatus& m) {
  w.BeginObject().Key("name").String(m.name).Key("state").String(ModelStateName(m.state));
  w.Key("reason").String(m.reason).Key("bytes").Int(m.bytes);
  if (std::optional<std::string> last_used = Rfc3339Utc(m.last_used)) {
    w.Key("last_used").String(*last_used);
  }
  w.Key("pinned").Bool(m.pinned).EndObject();
}

std::string EncodeModelMetadata(const ModelDescription& description) {
  std::string out;
  JsonWriter w(&out);
  w.BeginObject().Key("name").String(description.name);
  w.Key("versions").BeginArray().String("1").EndArray();
  // The backend is known once the model is loaded (config.json is read then).
  const std::string_view platform =
      description.config.has_value() ? std::string_view(description.config->backend) : "";
  w.Key("platform").String(platform);
  WriteSignature(w, description.config);
  w.Key("state").String(ModelStateName(description.status.state)).EndObject();
  return out;
}

}  // namespace

RouteResult HandleV2Live(const RouteCall&) { return JsonReply(200, R"({"live":true})"); }

RouteResult HandleV2Ready(const RouteCall& call) {
  if (!call.server.Ready()) {
    return StatusReply(absl::UnavailableError("not ready: starting (preloading models) or stopping"));
  }
  return JsonReply(200, R"({"ready":true})");
}

RouteResult HandleV2ServerMetadata(const RouteCall&) {
  std::string out;
  JsonWriter w(&out);
  w.BeginObject().Key("name").String(kServerName).Key("version").String(kServerVersion);
  w.Key("extensions").BeginArray().String("model_repository").String("binary_tensor_data").EndArray();
  w.EndObject();
  return JsonReply(200, std::move(out));
}

RouteResult HandleV2ModelMetadata(const RouteCall& call) {
  absl::StatusOr<std::string> name = ModelNameFromPath(call.raw_name);
  if (!name.ok()) return StatusReply(name.status());
  call.server.Describe(*name, [sink = call.sink](absl::StatusOr<ModelDescription> description) {
    sink->Reply(description.ok() ? JsonReply(200, EncodeModelMetadata(*description))
                                 : StatusReply(description.status()));
  });
  return std::nullopt;
}

RouteResult HandleV2ModelReady(const RouteCall& call) {
  absl::StatusOr<std::string> name = ModelNameFromPath(call.raw_name);
  if (!name.ok()) return StatusReply(name.status());
  auto ready_reply = [](const std::string& model) {
    std::string out;
    JsonWriter(&out).BeginObject().Key("name").String(model).Key("ready").Bool(true).EndObject();
    return JsonReply(200, std::move(out));
  };
  std::optional<ModelStatus> status = call.server.GetStatus(*name);
  if (status.has_value() && status->state == ModelState::kReady) return ready_reply(*name);
  // Not loaded: the store says whether it exists at all (404) or not yet (503).
  call.server.Describe(*name, [sink = call.sink, ready_reply](absl::StatusOr<ModelDescription> description) {
    if (!description.ok()) return sink->Reply(StatusReply(description.status()));
    if (description->status.state == ModelState::kReady) return sink->Reply(ready_reply(description->name));
    sink->Reply(StatusReply(absl::UnavailableError(ToAbsl(fmt::format(
        "model '{}' is not ready (state {})", description->name, ModelStateName(description->status.state))))));
  });
  return std::nullopt;
}

RouteResult HandleV2Infer(const RouteCall& call) {
  absl::StatusOr<std::string> name = ModelNameFromPath(call.raw_name);
  if (!name.ok()) return StatusReply(name.status());
  absl::StatusOr<std::optional<size_t>> json_size = ParseInferenceHeaderLength(
      call.request.Header(kInferenceHeaderContentLength), call.request.body->size());
  if (!json_size.ok()) return StatusReply(json_size.status());
  absl::StatusOr<DecodedInfer> decoded = DecodeV2InferBody(*call.request.body, *json_size);
  if (!decoded.ok()) return StatusReply(decoded.status());
  return StartInfer(call, *std::move(name), *std::move(decoded));
}

RouteResult HandleV2RepositoryIndex(const RouteCall& call) {
  absl::StatusOr<bool> ready_only = DecodeRepositoryIndexBody(*call.request.body);
  if (!ready_only.ok()) return StatusReply(ready_only.status());
  call.server.RepositoryIndex(*ready_only, [sink = call.sink](absl::StatusOr<std::vector<ModelStatus>> index) {
    if (!index.ok()) return sink->Reply(StatusReply(index.status()));
    std::string out;
    JsonWriter w(&out);
    w.BeginArray();
    for (const ModelStatus& m : *index) WriteIndexEntry(w, m);
    w.EndArray();
    sink->Reply(JsonReply(200, std::move(out)));
  });
  return std::nullopt;
}

RouteResult HandleV2RepositoryLoad(const RouteCall& call) {
  absl::StatusOr<std::string> name = ModelNameFromPath(call.raw_name);
  if (!name.ok()) return StatusReply(name.status());
  absl::StatusOr<std::optional<bool>> pin = DecodeRepositoryLoadBody(*call.request.body);
  if (!pin.ok()) return StatusReply(pin.status());
  std::string ok_body;
  JsonWriter(&ok_body).BeginObject().Key("name").String(*name).Key("load").Bool(true).EndObject();
  // "pin": false unpins a model that is already loaded and pinned; no "pin"
  // leaves its pin as it is.
  const bool pin_now = pin->value_or(false);
  const bool unpin = pin->has_value() && !**pin;
  call.server.Load(*name, {.pin = pin_now, .unpin = unpin}, ReplyWhenDone(call.sink, std::move(ok_body)));
  return std::nullopt;
}

RouteResult HandleV2RepositoryUnload(const RouteCall& call) {
  absl::StatusOr<std::string> name = ModelNameFromPath(call.raw_name);
  if (!name.ok()) return StatusReply(name.status());
  std::string ok_body;
  JsonWriter(&ok_body).BeginObject().Key("name").String(*name).Key("unload").Bool(true).EndObject();
  call.server.Unload(*name, ReplyWhenDone(call.sink, std::move(ok_body)));
  return std::nullopt;
}

}  // namespace modelmux
