// Status construction and inspection with std::string_view.
//
// Debian's Abseil is built with its own absl::string_view type
// (ABSL_OPTION_USE_STD_STRING_VIEW 0), which does not convert to or from
// std::string_view: these helpers cross that boundary in one place.
#pragma once

#include <string_view>

#include "absl/status/status.h"

namespace modelmux {

inline absl::string_view ToAbsl(std::string_view s) { return absl::string_view(s.data(), s.size()); }

inline std::string_view StatusMessage(const absl::Status& status) {
  absl::string_view message = status.message();
  return std::string_view(message.data(), message.size());
}

inline absl::Status InvalidArgument(std::string_view message) {
  return absl::InvalidArgumentError(ToAbsl(message));
}

inline absl::Status NotFound(std::string_view message) { return absl::NotFoundError(ToAbsl(message)); }

}  // namespace modelmux
