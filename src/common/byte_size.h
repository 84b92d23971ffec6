// Parsing and printing of byte counts such as "512M", "8G" or "1048576".
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

#include "absl/status/statusor.h"

namespace modelmux {

// Accepts a non-negative integer with an optional binary suffix K, M, G or T
// (case-insensitive, an optional trailing "B"/"iB"): "512M" is 512 * 2^20.
absl::StatusOr<int64_t> ParseByteSize(std::string_view text);

// "8.0 MiB" style, for logs.
std::string FormatBytes(int64_t bytes);

// Physical memory of this machine in bytes (sysconf), or 0 when unknown.
int64_t PhysicalMemoryBytes();

}  // namespace modelmux
