#include "sim/azure_trace.h"

#include <algorithm>
#include <cctype>
#include <cmath>
#include <fstream>
#include <vector>

#include "absl/status/status.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "absl/strings/string_view.h"
#include "absl/strings/strip.h"

namespace modelmux::sim {
namespace {

struct Columns {
  int function = -1;
  int app = -1;
  int owner = -1;
  std::vector<std::pair<int, int>> minutes;  // (column, minute number from 1)
};

absl::StatusOr<Columns> ParseHeader(absl::string_view line) {
  Columns c;
  std::vector<absl::string_view> names = absl::StrSplit(line, ',');
  for (int i = 0; i < static_cast<int>(names.size()); ++i) {
    absl::string_view name = absl::StripAsciiWhitespace(names[i]);
    if (name == "HashFunction") c.function = i;
    if (name == "HashApp") c.app = i;
    if (name == "HashOwner") c.owner = i;
    absl::ConsumePrefix(&name, "minute_");
    int minute = 0;
    if (absl::SimpleAtoi(name, &minute) && minute >= 1) c.minutes.emplace_back(i, minute);
  }
  if (c.function < 0 || c.minutes.empty()) {
    return absl::InvalidArgumentError(
        "Azure Functions trace: the header needs a HashFunction column and minute columns "
        "(\"1\"..\"1440\" or \"minute_1\"..); got: " +
        std::string(line.substr(0, 200)));
  }
  return c;
}

absl::string_view Field(const std::vector<absl::string_view>& fields, int column) {
  return column >= 0 && column < static_cast<int>(fields.size()) ? fields[column] : "";
}

absl::Status TooManyRequests(int64_t max_requests) {
  return absl::ResourceExhaustedError(absl::StrCat("Azure Functions trace: more than ", max_requests,
                                                   " requests; read fewer functions (--azure-functions)"));
}

// Appends row's requests; false when the row has no invocation.
// ResourceExhausted when `out` would hold more than `max_requests`: checked
// per count, before its requests are made, so that one hostile count (a
// trace cell of 10^9) cannot exhaust memory before the cap is looked at.
absl::StatusOr<bool> AddRow(const Columns& c, const std::vector<absl::string_view>& fields, uint32_t model,
                            int64_t line_number, int64_t max_requests, std::vector<Request>& out) {
  const size_t before = out.size();
  for (const auto& [column, minute] : c.minutes) {
    absl::string_view text = absl::StripAsciiWhitespace(Field(fields, column));
    int64_t count = 0;
    if (!text.empty() && (!absl::SimpleAtoi(text, &count) || count < 0)) {
      return absl::InvalidArgumentError(absl::StrCat("Azure Functions trace line ", line_number,
                                                     ": bad count '", text, "' for minute ", minute));
    }
    if (count > max_requests - static_cast<int64_t>(out.size())) return TooManyRequests(max_requests);
    const double start = (minute - 1) * 60.0;
    for (int64_t k = 0; k < count; ++k) {
      out.push_back(
          Request{start + (static_cast<double>(k) + 0.5) * 60.0 / static_cast<double>(count), model, false});
    }
  }
  return out.size() > before;
}

}  // namespace

absl::StatusOr<Trace> ParseAzureFunctionsTrace(std::istream& in, const AzureTraceOptions& options) {
  std::string line;
  if (!std::getline(in, line)) return absl::InvalidArgumentError("Azure Functions trace: empty input");
  absl::StatusOr<Columns> columns = ParseHeader(absl::StripTrailingAsciiWhitespace(line));
  if (!columns.ok()) return columns.status();
  Trace trace;
  trace.name = "azure";
  int64_t line_number = 1;
  while (std::getline(in, line)) {
    ++line_number;
    if (absl::StripAsciiWhitespace(line).empty()) continue;
    if (options.max_functions > 0 && static_cast<int64_t>(trace.models.size()) >= options.max_functions)
      break;
    std::vector<absl::string_view> fields = absl::StrSplit(line, ',');
    const auto model = static_cast<uint32_t>(trace.models.size());
    absl::StatusOr<bool> added =
        AddRow(*columns, fields, model, line_number, options.max_requests, trace.requests);
    if (!added.ok()) return added.status();
    if (!*added) continue;
    const std::string key = absl::StrCat(Field(fields, columns->owner), "/", Field(fields, columns->app), "/",
                                         Field(fields, columns->function));
    trace.models.push_back(MakeModel(absl::StrCat("fn-", model), key, options.catalog));
  }
  SortByTime(trace.requests);
  return trace;
}

absl::StatusOr<Trace> ReadAzureFunctionsTrace(const std::string& path, const AzureTraceOptions& options) {
  std::ifstream in(path);
  if (!in) return absl::NotFoundError(absl::StrCat("cannot open Azure Functions trace '", path, "'"));
  return ParseAzureFunctionsTrace(in, options);
}

void WriteAzureFunctionsTrace(const Trace& trace, int day, std::ostream& out) {
  constexpr int kMinutes = 1440;
  const double start = day * 86400.0;
  std::vector<std::vector<int32_t>> counts(trace.models.size());
  for (const Request& r : trace.requests) {
    const auto minute = static_cast<int64_t>(std::floor((r.time - start) / 60.0));
    if (minute < 0 || minute >= kMinutes) continue;
    if (counts[r.model].empty()) counts[r.model].assign(kMinutes, 0);
    ++counts[r.model][minute];
  }
  out << "HashOwner,HashApp,HashFunction,Trigger";
  for (int m = 1; m <= kMinutes; ++m) out << ',' << m;
  out << '\n';
  for (size_t i = 0; i < counts.size(); ++i) {
    if (counts[i].empty()) continue;
    const std::string& name = trace.models[i].name;
    out << "owner-" << name << ",app-" << name << ',' << name << ",http";
    for (int32_t c : counts[i]) out << ',' << c;
    out << '\n';
  }
}

}  // namespace modelmux::sim
