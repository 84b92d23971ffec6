// Writes a plan's files: plan.md (the report), plan.dat (WritePlotData) and
// plan.png, cold-start seconds and CPU against the fleet size, drawn by
// gnuplot (Debian's gnuplot-nox) when it is installed. Not thread-safe
// (runs a child process).
#pragma once

#include <string>

#include "absl/status/status.h"
#include "plan/planner.h"

namespace modelmux::plan {

absl::Status WritePlanFiles(const Plan& plan, const std::string& report, const std::string& dir);

}  // namespace modelmux::plan
