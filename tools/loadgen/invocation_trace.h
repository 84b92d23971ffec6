// Per-minute invocation counts in the layout of the Azure Functions 2019
// public trace: a CSV whose header names HashFunction, HashApp, HashOwner
// (required, in any position) and the minute columns "minute_1".."minute_N"
// or "1".."N" (N <= 1440, in any order; other columns such as Trigger are
// ignored). Each row with at least one invocation is one model, in file order;
// modelmux-loadgen sends row r's requests to its model r mod (number of models).
// Thread-compatible.
#pragma once

#include <cstdint>
#include <istream>
#include <string>
#include <vector>

#include "absl/status/statusor.h"

namespace modelmux::loadgen {

struct InvocationTrace {
  int minutes = 0;                           // highest minute column present
  std::vector<std::vector<int32_t>> counts;  // counts[row][minute - 1]
  int64_t total = 0;                         // sum of every count
};

absl::StatusOr<InvocationTrace> ParseInvocationTrace(std::istream& in);
absl::StatusOr<InvocationTrace> ReadInvocationTrace(const std::string& path);

}  // namespace modelmux::loadgen
