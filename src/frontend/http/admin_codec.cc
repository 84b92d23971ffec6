#include "frontend/http/admin_codec.h"

#include "common/status_macros.h"
#include "fmt/format.h"
#include "frontend/http/json_reader.h"
#include "frontend/http/status_text.h"

namespace modelmux {
namespace {

using simdjson::dom::element;

// The string member `key` of `object`; InvalidArgument when absent or not a string.
absl::StatusOr<std::string> RequiredString(simdjson::dom::object object, std::string_view key) {
  element v;
  if (object[key].get(v)) return InvalidArgument(fmt::format("body must have '{}'", key));
  std::string_view s;
  if (v.get_string().get(s)) return InvalidArgument(fmt::format("field '{}' must be a string", key));
  return std::string(s);
}

// The boolean member `key` of `object`, nullopt when absent.
absl::StatusOr<std::optional<bool>> OptionalBool(simdjson::dom::object object, std::string_view key,
                                                 std::string_view path) {
  element v;
  if (object[key].get(v)) return std::optional<bool>();
  bool b = false;
  if (v.get_bool().get(b)) return InvalidArgument(fmt::format("field '{}' must be true or false", path));
  return std::optional<bool>(b);
}

}  // namespace

absl::StatusOr<RegisterModelBody> DecodeRegisterModelBody(std::string& body) {
  ASSIGN_OR_RETURN(simdjson::dom::object root, ParseJsonObject(body));
  RegisterModelBody out;
  ASSIGN_OR_RETURN(out.model_name, RequiredString(root, "model_name"));
  ASSIGN_OR_RETURN(out.url, RequiredString(root, "url"));
  return out;
}

absl::StatusOr<std::optional<bool>> DecodeRepositoryLoadBody(std::string& body) {
  if (IsBlankBody(body)) return std::optional<bool>();
  ASSIGN_OR_RETURN(simdjson::dom::object root, ParseJsonObject(body));
  element params_value;
  if (root["parameters"].get(params_value)) return std::optional<bool>();
  simdjson::dom::object params;
  if (params_value.get_object().get(params)) {
    return InvalidArgument("field 'parameters' must be an object");
  }
  return OptionalBool(params, "pin", "parameters.pin");
}

absl::StatusOr<bool> DecodeRepositoryIndexBody(std::string& body) {
  if (IsBlankBody(body)) return false;
  ASSIGN_OR_RETURN(simdjson::dom::object root, ParseJsonObject(body));
  ASSIGN_OR_RETURN(std::optional<bool> ready, OptionalBool(root, "ready", "ready"));
  return ready.value_or(false);
}

}  // namespace modelmux
