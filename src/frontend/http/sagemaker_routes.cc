#include "frontend/http/sagemaker_routes.h"

#include <algorithm>
#include <charconv>
#include <utility>

#include "common/model_name.h"
#include "fmt/format.h"
#include "frontend/http/admin_codec.h"
#include "frontend/http/json_writer.h"
#include "frontend/http/request_target.h"
#include "frontend/http/status_text.h"

namespace modelmux {
namespace {

// A model GET /models lists: in memory or on its way in or out.
bool IsLoaded(ModelState state) {
  return state == ModelState::kReady || state == ModelState::kLoading || state == ModelState::kUnloading;
}

// max_results: an integer from 1; larger than kMaxListPageSize is capped.
absl::StatusOr<int> PageSize(std::string_view query) {
  absl::StatusOr<std::optional<std::string>> raw = FindQueryParam(query, "max_results");
  if (!raw.ok()) return raw.status();
  if (!raw->has_value()) return kDefaultListPageSize;
  const std::string& text = **raw;
  int64_t value = 0;
  auto [end, error] = std::from_chars(text.data(), text.data() + text.size(), value);
  if (error != std::errc() || end != text.data() + text.size() || value < 1) {
    return InvalidArgument(
        fmt::format("query parameter 'max_results' must be a positive integer (at most {}), got '{}'",
                    kMaxListPageSize, text));
  }
  return static_cast<int>(std::min<int64_t>(value, kMaxListPageSize));
}

std::string EncodeModelList(const std::vector<ModelStatus>& models, std::string_view store_root,
                            std::string_view after, int page_size) {
  std::string out;
  JsonWriter w(&out);
  w.BeginObject().Key("models").BeginArray();
  int written = 0;
  std::string_view last;
  bool more = false;
  for (const ModelStatus& m : models) {
    if (!IsLoaded(m.state) || m.name <= after) continue;
    if (written == page_size) {
      more = true;
      break;
    }
    w.BeginObject().Key("modelName").String(m.name);
    w.Key("modelUrl").String(ModelUrl(store_root, m.name)).EndObject();
    last = m.name;
    ++written;
  }
  w.EndArray();
  if (more) w.Key("nextPageToken").String(last);
  w.EndObject();
  return out;
}

RouteResult Invoke(const RouteCall& call, std::string model) {
  absl::StatusOr<DecodedInfer> decoded = DecodeInvokeBody(*call.request.body);
  if (!decoded.ok()) return StatusReply(decoded.status());
  return StartInfer(call, std::move(model), *std::move(decoded));
}

}  // namespace

RouteResult HandlePing(const RouteCall& call) {
  if (!call.server.Ready()) {
    return StatusReply(absl::UnavailableError("not ready: starting (preloading models) or stopping"));
  }
  HttpReply reply;
  reply.content_type = {};
  return reply;
}

RouteResult HandleRegisterModel(const RouteCall& call) {
  absl::StatusOr<RegisterModelBody> body = DecodeRegisterModelBody(*call.request.body);
  if (!body.ok()) return StatusReply(body.status());
  if (absl::Status valid = ValidateModelName(body->model_name); !valid.ok()) {
    return StatusReply(valid);
  }
  absl::StatusOr<std::string> artifact = ArtifactNameFromUrl(body->url, call.server.Info().store);
  if (!artifact.ok()) return StatusReply(artifact.status());
  if (*artifact != body->model_name) {
    return ErrorReply(400, fmt::format("model_name '{}' must equal the name of the artifact the "
                                       "url names ('{}'): models are served under their artifact name",
                                       body->model_name, *artifact));
  }
  call.server.Load(*artifact, {.fail_if_loaded = true},
                   ReplyWhenDone(call.sink, MessageBody(fmt::format("model '{}' loaded", *artifact))));
  return std::nullopt;
}

RouteResult HandleListModels(const RouteCall& call) {
  absl::StatusOr<int> page_size = PageSize(call.request.query);
  if (!page_size.ok()) return StatusReply(page_size.status());
  absl::StatusOr<std::optional<std::string>> token = FindQueryParam(call.request.query, "next_page_token");
  if (!token.ok()) return StatusReply(token.status());
  return JsonReply(200, EncodeModelList(call.server.LoadedModels(), call.server.Info().store,
                                        token->value_or(""), *page_size));
}

RouteResult HandleDescribeModel(const RouteCall& call) {
  absl::StatusOr<std::string> name = ModelNameFromPath(call.raw_name);
  if (!name.ok()) return StatusReply(name.status());
  std::optional<ModelStatus> status = call.server.GetStatus(*name);
  if (!status.has_value() || !IsLoaded(status->state)) {
    std::string message = fmt::format("model '{}' is not loaded", *name);
    if (status.has_value() && status->state == ModelState::kFailed) {
      message += fmt::format("; its last load failed: {}", status->reason);
    }
    return ErrorReply(404, message);
  }
  std::string out;
  JsonWriter w(&out);
  w.BeginObject().Key("modelName").String(status->name);
  w.Key("modelUrl").String(ModelUrl(call.server.Info().store, status->name));
  w.Key("state").String(ModelStateName(status->state));
  w.Key("bytes").Int(status->bytes);
  w.Key("pinned").Bool(status->pinned);
  w.Key("inFlight").Int(status->in_flight);
  if (std::optional<std::string> last_used = Rfc3339Utc(status->last_used)) {
    w.Key("lastUsed").String(*last_used);
  }
  w.EndObject();
  return JsonReply(200, std::move(out));
}

RouteResult HandleUnloadModel(const RouteCall& call) {
  absl::StatusOr<std::string> name = ModelNameFromPath(call.raw_name);
  if (!name.ok()) return StatusReply(name.status());
  call.server.Unload(*name, ReplyWhenDone(call.sink, MessageBody(fmt::format("model '{}' unloaded", *name))));
  return std::nullopt;
}

RouteResult HandleInvokeModel(const RouteCall& call) {
  absl::StatusOr<std::string> name = ModelNameFromPath(call.raw_name);
  if (!name.ok()) return StatusReply(name.status());
  return Invoke(call, *std::move(name));
}

std::string_view StripArchiveSuffix(std::string_view target) {
  constexpr std::string_view kArchiveSuffix = ".tar.gz";
  if (target.size() > kArchiveSuffix.size() && target.ends_with(kArchiveSuffix)) {
    target.remove_suffix(kArchiveSuffix.size());
  }
  return target;
}

RouteResult HandleInvocations(const RouteCall& call) {
  if (call.request.target_model.empty()) {
    return ErrorReply(400, "missing header X-Amzn-SageMaker-Target-Model naming the model");
  }
  std::string name(StripArchiveSuffix(call.request.target_model));
  if (absl::Status valid = ValidateModelName(name); !valid.ok()) return StatusReply(valid);
  return Invoke(call, std::move(name));
}

}  // namespace modelmux
