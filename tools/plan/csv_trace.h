// Inputs of modelmux-plan besides the Azure Functions format (sim/azure_trace.h):
//   - a request trace as CSV lines "timestamp,model" (seconds, any origin; the
//     first request becomes time 0; lines need not be sorted; a first line
//     whose timestamp is not a number is a header);
//   - model sizes as lines "model,size" (bytes, or 20M / 1.5G as
//     ParseByteSize reads them), overriding the drawn sizes of those models.
// Thread-compatible.
#pragma once

#include <istream>
#include <string>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "sim/model_catalog.h"
#include "sim/trace.h"

namespace modelmux::plan {

// Models are named as in the file; their sizes and load times are drawn from
// `catalog`, keyed by name.
absl::StatusOr<sim::Trace> ParseCsvTrace(std::istream& in, const sim::CatalogOptions& catalog);
absl::StatusOr<sim::Trace> ReadCsvTrace(const std::string& path, const sim::CatalogOptions& catalog);

// Sets the sizes (and, from `load`, the load times) of the models named in
// the file; InvalidArgument for a bad line, NotFound for an unknown file.
// Models of the trace that the file does not name keep theirs.
absl::Status ApplyModelSizes(std::istream& in, const sim::LoadTimeModel& load, sim::Trace& trace);
absl::Status ReadModelSizes(const std::string& path, const sim::LoadTimeModel& load, sim::Trace& trace);

// Renames model i of `trace` to names[i % names.size()] (for a trace replayed
// by modelmux-loadgen, which sends row r to model r mod the number of names).
absl::Status RenameModels(std::istream& names, sim::Trace& trace);

}  // namespace modelmux::plan
