#include "frontend/http/kserve_routes.h"

#include <utility>

#include "fmt/format.h"
#include "frontend/http/admin_codec.h"
#include "frontend/http/json_writer.h"
#include "frontend/http/status_text.h"

namespace modelmux {
namespace {

constexpr int kIndexPageSize = 1000;

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

// Every model of the store, merged (by name; both lists are sorted) with
// what the registry knows, including registry models no longer in the store.
absl::Status WriteFullIndex(JsonWriter& w, const InferenceServer& server) {
  const std::vector<ModelStatus> known = server.LoadedModels();
  size_t next_known = 0;
  std::string token;
  do {
    absl::StatusOr<ModelListPage> page = server.ListStore(token, kIndexPageSize);
    if (!page.ok()) return page.status();
    for (const std::string& name : page->names) {
      for (; next_known < known.size() && known[next_known].name < name; ++next_known) {
        WriteIndexEntry(w, known[next_known]);
      }
      if (next_known < known.size() && known[next_known].name == name) {
        WriteIndexEntry(w, known[next_known++]);
      } else {
        ModelStatus unloaded;
        unloaded.name = name;
        WriteIndexEntry(w, unloaded);
      }
    }
    token = std::move(page->next_page_token);
  } while (!token.empty());
  for (; next_known < known.size(); ++next_known) WriteIndexEntry(w, known[next_known]);
  return absl::OkStatus();
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
  w.Key("extensions").BeginArray().String("model_repository").EndArray().EndObject();
  return JsonReply(200, std::move(out));
}

RouteResult HandleV2ModelMetadata(const RouteCall& call) {
  absl::StatusOr<std::string> name = ModelNameFromPath(call.raw_name);
  if (!name.ok()) return StatusReply(name.status());
  absl::StatusOr<ModelDescription> description = call.server.Describe(*name);
  if (!description.ok()) return StatusReply(description.status());
  std::string out;
  JsonWriter w(&out);
  w.BeginObject().Key("name").String(description->name);
  w.Key("versions").BeginArray().String("1").EndArray();
  // The backend is known once the model is loaded (config.json is read then).
  const std::string_view platform =
      description->config.has_value() ? std::string_view(description->config->backend) : "";
  w.Key("platform").String(platform);
  WriteSignature(w, description->config);
  w.Key("state").String(ModelStateName(description->status.state)).EndObject();
  return JsonReply(200, std::move(out));
}

RouteResult HandleV2ModelReady(const RouteCall& call) {
  absl::StatusOr<std::string> name = ModelNameFromPath(call.raw_name);
  if (!name.ok()) return StatusReply(name.status());
  std::optional<ModelStatus> status = call.server.registry().GetStatus(*name);
  if (status.has_value() && status->state == ModelState::kReady) {
    std::string out;
    JsonWriter(&out).BeginObject().Key("name").String(*name).Key("ready").Bool(true).EndObject();
    return JsonReply(200, std::move(out));
  }
  absl::StatusOr<ModelDescription> description = call.server.Describe(*name);
  if (!description.ok()) return StatusReply(description.status());
  return StatusReply(absl::UnavailableError(ToAbsl(
      fmt::format("model '{}' is not ready (state {})", *name, ModelStateName(description->status.state)))));
}

RouteResult HandleV2Infer(const RouteCall& call) {
  absl::StatusOr<std::string> name = ModelNameFromPath(call.raw_name);
  if (!name.ok()) return StatusReply(name.status());
  absl::StatusOr<DecodedInfer> decoded = DecodeV2InferBody(*call.request.body);
  if (!decoded.ok()) return StatusReply(decoded.status());
  return StartInfer(call.server, *std::move(name), *std::move(decoded), call.sink);
}

RouteResult HandleV2RepositoryIndex(const RouteCall& call) {
  absl::StatusOr<bool> ready_only = DecodeRepositoryIndexBody(*call.request.body);
  if (!ready_only.ok()) return StatusReply(ready_only.status());
  std::string out;
  JsonWriter w(&out);
  w.BeginArray();
  if (*ready_only) {
    for (const ModelStatus& m : call.server.LoadedModels()) {
      if (m.state == ModelState::kReady) WriteIndexEntry(w, m);
    }
  } else if (absl::Status written = WriteFullIndex(w, call.server); !written.ok()) {
    return StatusReply(written);
  }
  w.EndArray();
  return JsonReply(200, std::move(out));
}

RouteResult HandleV2RepositoryLoad(const RouteCall& call) {
  absl::StatusOr<std::string> name = ModelNameFromPath(call.raw_name);
  if (!name.ok()) return StatusReply(name.status());
  absl::StatusOr<std::optional<bool>> pin = DecodeRepositoryLoadBody(*call.request.body);
  if (!pin.ok()) return StatusReply(pin.status());
  ModelRegistry::LoadOptions options;
  options.pin = pin->value_or(false);
  std::string ok_body;
  JsonWriter(&ok_body).BeginObject().Key("name").String(*name).Key("load").Bool(true).EndObject();
  // "pin": false unpins a model that is already loaded and pinned; no "pin"
  // leaves its pin as it is.
  const bool unpin = pin->has_value() && !**pin;
  call.server.Load(*name, options,
                   [server = &call.server, name = *name, unpin,
                    ok = ReplyWhenDone(call.sink, std::move(ok_body))](absl::Status status) mutable {
                     if (status.ok() && unpin) status = server->SetPinned(name, false);
                     std::move(ok)(std::move(status));
                   });
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
