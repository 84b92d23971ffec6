// Fuzzes the Azure Functions trace reader of modelmux-sim
// (tools/sim/azure_trace.cc), which reads CSV files downloaded from outside.
//
// Checks: a refused trace is InvalidArgument or ResourceExhausted (over the
// request cap); a read trace holds at most max_requests requests (the cap is
// what keeps a hostile count from exhausting memory), sorted by time, each
// naming one of the trace's models, at a time within its minute.
#include <cstddef>
#include <cstdint>
#include <sstream>
#include <string>

#include "fuzz_support.h"
#include "sim/azure_trace.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace modelmux::sim;
  std::istringstream in(std::string(reinterpret_cast<const char*>(data), size));
  AzureTraceOptions options;
  options.max_requests = 10'000;
  absl::StatusOr<Trace> trace = ParseAzureFunctionsTrace(in, options);
  if (!trace.ok()) {
    FUZZ_CHECK(absl::IsInvalidArgument(trace.status()) || absl::IsResourceExhausted(trace.status()),
               "a bad trace is InvalidArgument or ResourceExhausted");
    return 0;
  }
  FUZZ_CHECK(static_cast<int64_t>(trace->requests.size()) <= options.max_requests, "the request cap holds");
  double previous = 0;
  for (const Request& r : trace->requests) {
    FUZZ_CHECK(r.model < trace->models.size(), "a request names a model of the trace");
    FUZZ_CHECK(r.time >= previous, "requests are sorted by time");
    previous = r.time;
  }
  for (const TraceModel& m : trace->models) {
    FUZZ_CHECK(m.bytes > 0 && m.load_seconds > 0, "every model has a size and a load time");
  }
  return 0;
}
