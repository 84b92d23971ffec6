// Reads per-minute invocation counts in the layout of the Azure Functions 2019
// public trace (invocations_per_function_md.anon.dNN.csv) as a Trace.
//
// The header names the columns: HashFunction (required), HashApp, HashOwner
// and, in any order, the minute columns "1".."1440" or "minute_1".."minute_1440";
// other columns (Trigger) are ignored. Each row with at least one invocation
// is one model, named fn-<row>; its size and load time are drawn from the
// catalog options with a generator seeded by the row's hashes, so a function
// keeps its size whichever rows are read. A minute's count is spread evenly
// over that minute. Thread-compatible.
#pragma once

#include <cstdint>
#include <istream>
#include <ostream>
#include <string>

#include "absl/status/statusor.h"
#include "sim/model_catalog.h"
#include "sim/trace.h"

namespace modelmux::sim {

struct AzureTraceOptions {
  CatalogOptions catalog;
  // Read at most this many functions (rows with invocations); 0: all.
  int64_t max_functions = 0;
  // Refuse traces with more requests than this (memory: 16 bytes each).
  int64_t max_requests = 100'000'000;
};

absl::StatusOr<Trace> ParseAzureFunctionsTrace(std::istream& in, const AzureTraceOptions& options);
absl::StatusOr<Trace> ReadAzureFunctionsTrace(const std::string& path, const AzureTraceOptions& options);

// Writes day `day` (from 0) of `trace` in that layout: the header
// HashOwner,HashApp,HashFunction,Trigger,1..1440 and one row per model with a
// request that day, its hashes derived from the model name (Trigger "http").
// Each request counts in the minute it falls in.
void WriteAzureFunctionsTrace(const Trace& trace, int day, std::ostream& out);

}  // namespace modelmux::sim
