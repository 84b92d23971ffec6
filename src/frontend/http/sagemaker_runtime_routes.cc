#include "frontend/http/sagemaker_runtime_routes.h"

#include <cctype>
#include <cstdint>
#include <optional>
#include <random>
#include <string>
#include <utility>

#include "common/model_name.h"
#include "fmt/format.h"
#include "frontend/http/request_target.h"
#include "frontend/http/sagemaker_routes.h"
#include "frontend/http/sagemaker_runtime_errors.h"
#include "frontend/http/status_text.h"

namespace modelmux {
namespace {

constexpr size_t kMaxEndpointName = 63;
constexpr size_t kMaxCustomAttributes = 1024;

// The headers of an invocation this route reads, found in one pass.
struct InvocationHeaders {
  std::string_view custom_attributes;
  std::string_view target_variant;
  std::string_view target_container_hostname;
  std::string_view enable_explanations;
  std::string_view inference_component;
  std::string_view accept;
};

bool EqualsIgnoreCase(std::string_view a, std::string_view b) {
  if (a.size() != b.size()) return false;
  for (size_t i = 0; i < a.size(); ++i) {
    if ((a[i] | 0x20) != (b[i] | 0x20)) return false;  // ASCII letters, digits and '-' only
  }
  return true;
}

InvocationHeaders ReadHeaders(const HttpRequestView& request) {
  InvocationHeaders h;
  if (request.headers == nullptr) return h;
  constexpr std::string_view kPrefix = "x-amzn-sagemaker-";
  request.headers->ForEachField([&h, kPrefix](std::string_view name, std::string_view value) {
    if (name.size() <= kPrefix.size() || !EqualsIgnoreCase(name.substr(0, kPrefix.size()), kPrefix)) {
      if (EqualsIgnoreCase(name, "accept")) h.accept = value;
      return;
    }
    const std::string_view rest = name.substr(kPrefix.size());
    if (EqualsIgnoreCase(rest, "custom-attributes")) {
      h.custom_attributes = value;
    } else if (EqualsIgnoreCase(rest, "target-variant")) {
      h.target_variant = value;
    } else if (EqualsIgnoreCase(rest, "target-container-hostname")) {
      h.target_container_hostname = value;
    } else if (EqualsIgnoreCase(rest, "enable-explanations")) {
      h.enable_explanations = value;
    } else if (EqualsIgnoreCase(rest, "inference-component")) {
      h.inference_component = value;
    }
  });
  return h;
}

// x-amzn-RequestId: a random UUID (version 4), drawn per io thread.
std::string NewRequestId() {
  thread_local std::mt19937_64 random(std::random_device{}());
  const uint64_t hi = (random() & ~uint64_t{0xf000}) | 0x4000;                    // version 4
  const uint64_t lo = (random() & ~(uint64_t{0xc} << 60)) | (uint64_t{8} << 60);  // variant 10
  constexpr char kHex[] = "0123456789abcdef";
  std::string id(36, '-');
  size_t pos = 0;
  // 8-4-4-4-12 hex digits; put() skips the '-' after each group.
  auto put = [&](uint64_t bits, int digits) {
    for (int i = digits - 1; i >= 0; --i) id[pos++] = kHex[(bits >> (4 * i)) & 0xf];
    ++pos;
  };
  put(hi >> 32, 8);
  put(hi >> 16, 4);
  put(hi, 4);
  put(lo >> 48, 4);
  put(lo, 12);
  return id;
}

// Letters, digits and hyphens, starting and ending with a letter or digit;
// SageMaker's EndpointName.
bool IsEndpointName(std::string_view name) {
  if (name.empty() || name.size() > kMaxEndpointName || name.front() == '-' || name.back() == '-')
    return false;
  for (char c : name) {
    if (!std::isalnum(static_cast<unsigned char>(c)) && c != '-') return false;
  }
  return true;
}

std::optional<SageMakerRuntimeError> CheckEndpoint(std::string_view raw_name, const RouteOptions& options) {
  std::string name(raw_name);
  if (raw_name.find('%') != std::string_view::npos) {
    absl::StatusOr<std::string> decoded = PercentDecode(raw_name, /*plus_is_space=*/false);
    if (!decoded.ok()) return RuntimeValidationError(std::string(StatusMessage(decoded.status())));
    name = *std::move(decoded);
  }
  if (!IsEndpointName(name)) {
    return RuntimeValidationError(fmt::format(
        "Endpoint name '{}' is invalid: use 1 to {} letters, digits and hyphens, starting and ending with "
        "a letter or digit",
        name.substr(0, kMaxEndpointName + 1), kMaxEndpointName));
  }
  if (!options.endpoint_name.empty() && name != options.endpoint_name) {
    return RuntimeValidationError(fmt::format("Endpoint {} not found.", name));
  }
  return std::nullopt;
}

bool IsVisibleAscii(std::string_view text) {
  for (char c : text) {
    if (c < 0x20 || c > 0x7e) return false;
  }
  return true;
}

// Whether an Accept header admits application/json: one of its media ranges
// is application/json, application/* or */* (parameters ignored).
bool AcceptsJson(std::string_view accept) {
  while (!accept.empty()) {
    size_t comma = accept.find(',');
    std::string_view range = accept.substr(0, comma);
    accept = comma == std::string_view::npos ? std::string_view() : accept.substr(comma + 1);
    range = range.substr(0, range.find(';'));
    while (!range.empty() && range.front() == ' ') range.remove_prefix(1);
    while (!range.empty() && range.back() == ' ') range.remove_suffix(1);
    if (EqualsIgnoreCase(range, "application/json") || range == "application/*" || range == "*/*")
      return true;
  }
  return false;
}

// What SageMaker refuses before the model sees the request: a missing or
// unknown target, a variant or feature this endpoint does not have, attributes
// it cannot pass on. nullopt when the request may go to the model; `model` is
// then the target model's name.
std::optional<SageMakerRuntimeError> CheckHeaders(const RouteCall& call, const InvocationHeaders& h,
                                                  std::string& model) {
  if (call.request.target_model.empty()) {
    return RuntimeValidationError(
        "This is a multi-model endpoint: name the model to invoke with TargetModel (header "
        "X-Amzn-SageMaker-Target-Model)");
  }
  model = std::string(StripArchiveSuffix(call.request.target_model));
  if (absl::Status valid = ValidateModelName(model); !valid.ok()) {
    return RuntimeValidationError(
        fmt::format("Failed to find the model data of the target model: {}", StatusMessage(valid)));
  }
  if (!h.target_variant.empty() && h.target_variant != call.options.production_variant) {
    return RuntimeValidationError(
        fmt::format("Variant {} does not exist on this endpoint; its variant is {}.",
                    h.target_variant.substr(0, kMaxEndpointName + 1), call.options.production_variant));
  }
  if (!h.target_container_hostname.empty()) {
    return RuntimeValidationError(
        "TargetContainerHostname is for endpoints with several containers and direct invocation; this "
        "endpoint has one container");
  }
  if (!h.enable_explanations.empty()) {
    return RuntimeValidationError(
        "EnableExplanations needs an endpoint with an explainer; this endpoint has none");
  }
  if (!h.inference_component.empty()) {
    return RuntimeValidationError(
        "InferenceComponentName is for endpoints with inference components; this endpoint has none");
  }
  if (h.custom_attributes.size() > kMaxCustomAttributes || !IsVisibleAscii(h.custom_attributes)) {
    return RuntimeValidationError(
        fmt::format("CustomAttributes must be at most {} visible US-ASCII characters", kMaxCustomAttributes));
  }
  return std::nullopt;
}

// Answers an invocation once the server has: the container's answer with
// SageMaker's headers, or SageMaker Runtime's error. Runs on the thread that
// finished the inference (RunInfer).
struct InvocationAnswer {
  InferenceServer* server;
  const RouteOptions* options;
  std::string model;
  std::string custom_attributes;
  std::string request_id;
  bool v2 = false;
  std::optional<std::string> id;

  HttpReply operator()(absl::StatusOr<InferResponse> response) {
    absl::StatusOr<HttpReply> reply = response.ok() ? InferReply(*response, v2, id, {}) : response.status();
    if (!reply.ok()) return Refusal(reply.status());
    reply->headers.reserve(3);
    reply->headers.push_back({"x-Amzn-Invoked-Production-Variant", options->production_variant});
    if (!custom_attributes.empty()) {
      reply->headers.push_back({"X-Amzn-SageMaker-Custom-Attributes", std::move(custom_attributes)});
    }
    reply->headers.push_back({"x-amzn-RequestId", std::move(request_id)});
    return *std::move(reply);
  }

  HttpReply Refusal(const absl::Status& status) {
    bool loading = false;
    if (status.code() == absl::StatusCode::kDeadlineExceeded) {  // still loading, or too slow to answer?
      std::optional<ModelStatus> model_status = server->GetStatus(model);
      loading = model_status.has_value() && model_status->state == ModelState::kLoading;
    }
    return RuntimeErrorReply(RuntimeErrorFor(status, loading), std::move(request_id));
  }
};

}  // namespace

HttpReply InvokeEndpointRefusal(int status, std::string_view message) {
  HttpReply reply = RuntimeErrorReply(RuntimeValidationError(std::string(message)), NewRequestId());
  reply.status = status;
  return reply;
}

RouteResult HandleInvokeEndpoint(const RouteCall& call) {
  std::string request_id = NewRequestId();
  auto refuse = [&request_id](const SageMakerRuntimeError& error) {
    return RuntimeErrorReply(error, std::move(request_id));
  };
  if (auto error = CheckEndpoint(call.raw_name, call.options)) return refuse(*error);
  const InvocationHeaders headers = ReadHeaders(call.request);
  std::string model;
  if (auto error = CheckHeaders(call, headers, model)) return refuse(*error);
  // From here on the model container would see the request: what it refuses
  // is a ModelError.
  if (!headers.accept.empty() && !AcceptsJson(headers.accept)) {
    return refuse(
        RuntimeModelError(406, fmt::format("cannot answer in '{}': modelmux models answer application/json",
                                           headers.accept.substr(0, kMaxCustomAttributes))));
  }
  absl::StatusOr<DecodedInfer> decoded = DecodeInvokeBody(*call.request.body);
  if (!decoded.ok()) return refuse(RuntimeErrorFor(decoded.status(), false));
  absl::StatusOr<InferRequest> request = MakeInferRequest(call, model, *decoded);
  if (!request.ok()) return refuse(RuntimeValidationError(std::string(StatusMessage(request.status()))));
  return RunInfer(call, *std::move(request),
                  InvocationAnswer{.server = &call.server,
                                   .options = &call.options,
                                   .model = std::move(model),
                                   .custom_attributes = std::string(headers.custom_attributes),
                                   .request_id = std::move(request_id),
                                   .v2 = decoded->v2,
                                   .id = std::move(decoded->id)});
}

}  // namespace modelmux
