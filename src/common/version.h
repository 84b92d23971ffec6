// What modelmux calls itself in protocol metadata (KServe V2 server metadata).
#pragma once

#include <string_view>

namespace modelmux {

inline constexpr std::string_view kModelmuxName = "modelmux";
inline constexpr std::string_view kModelmuxVersion = "0.1.0";

}  // namespace modelmux
