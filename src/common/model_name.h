// Validation of model names. A name is checked before it touches a path, a
// store key or a log line: [A-Za-z0-9][A-Za-z0-9._-]{0,127}.
#pragma once

#include <string_view>

#include "absl/status/status.h"

namespace modelmux {

inline constexpr size_t kMaxModelNameLength = 128;

// OK, or InvalidArgument naming what is wrong with `name`.
absl::Status ValidateModelName(std::string_view name);

}  // namespace modelmux
