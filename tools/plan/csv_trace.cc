#include "plan/csv_trace.h"

#include <algorithm>
#include <cmath>
#include <fstream>
#include <limits>
#include <string_view>
#include <vector>

#include "absl/container/flat_hash_map.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "absl/strings/strip.h"
#include "common/byte_size.h"

namespace modelmux::plan {
namespace {

// "a,b" split once, both sides trimmed; false when there is no comma.
bool SplitPair(const std::string& line, absl::string_view& a, absl::string_view& b) {
  std::pair<absl::string_view, absl::string_view> p = absl::StrSplit(line, absl::MaxSplits(',', 1));
  if (p.first.size() == line.size()) return false;
  a = absl::StripAsciiWhitespace(p.first);
  b = absl::StripAsciiWhitespace(p.second);
  return true;
}

}  // namespace

absl::StatusOr<sim::Trace> ParseCsvTrace(std::istream& in, const sim::CatalogOptions& catalog) {
  sim::Trace trace;
  trace.name = "csv";
  absl::flat_hash_map<std::string, uint32_t> ids;
  double first = std::numeric_limits<double>::infinity();
  std::string line;
  for (int64_t number = 1; std::getline(in, line); ++number) {
    if (absl::StripAsciiWhitespace(line).empty()) continue;
    absl::string_view time_text, model;
    double time = 0;
    const bool pair = SplitPair(line, time_text, model);
    if (!pair || !absl::SimpleAtod(time_text, &time) || model.empty() || !std::isfinite(time)) {
      if (number == 1 && pair) continue;  // a header
      return absl::InvalidArgumentError(absl::StrCat(
          "CSV trace line ", number, ": expected \"timestamp,model\", got '", line.substr(0, 200), "'"));
    }
    auto [it, added] = ids.try_emplace(std::string(model), static_cast<uint32_t>(trace.models.size()));
    if (added) trace.models.push_back(sim::MakeModel(it->first, it->first, catalog));
    trace.requests.push_back(sim::Request{time, it->second, false});
    first = std::min(first, time);
  }
  if (trace.requests.empty()) return absl::InvalidArgumentError("CSV trace: no requests");
  for (sim::Request& r : trace.requests) r.time -= first;
  sim::SortByTime(trace.requests);
  return trace;
}

absl::StatusOr<sim::Trace> ReadCsvTrace(const std::string& path, const sim::CatalogOptions& catalog) {
  std::ifstream in(path);
  if (!in) return absl::NotFoundError(absl::StrCat("cannot open CSV trace '", path, "'"));
  return ParseCsvTrace(in, catalog);
}

absl::Status ApplyModelSizes(std::istream& in, const sim::LoadTimeModel& load, sim::Trace& trace) {
  absl::flat_hash_map<std::string, uint32_t> ids;
  for (uint32_t m = 0; m < trace.models.size(); ++m) ids.emplace(trace.models[m].name, m);
  std::string line;
  for (int64_t number = 1; std::getline(in, line); ++number) {
    if (absl::StripAsciiWhitespace(line).empty() || line[0] == '#') continue;
    absl::string_view model, size_text;
    if (!SplitPair(line, model, size_text)) {
      return absl::InvalidArgumentError(absl::StrCat("sizes line ", number, ": expected \"model,size\""));
    }
    absl::StatusOr<int64_t> bytes = ParseByteSize(std::string_view(size_text.data(), size_text.size()));
    if (!bytes.ok() || *bytes <= 0) {
      if (number == 1) continue;  // a header
      return absl::InvalidArgumentError(absl::StrCat("sizes line ", number, ": bad size '", size_text, "'"));
    }
    auto it = ids.find(std::string(model));
    if (it == ids.end()) continue;
    sim::TraceModel& m = trace.models[it->second];
    m.bytes = *bytes;
    m.load_seconds = load.fixed_seconds + static_cast<double>(*bytes) / load.bytes_per_second;
  }
  return absl::OkStatus();
}

absl::Status ReadModelSizes(const std::string& path, const sim::LoadTimeModel& load, sim::Trace& trace) {
  std::ifstream in(path);
  if (!in) return absl::NotFoundError(absl::StrCat("cannot open model sizes '", path, "'"));
  return ApplyModelSizes(in, load, trace);
}

absl::Status RenameModels(std::istream& in, sim::Trace& trace) {
  std::vector<std::string> names;
  for (std::string line; std::getline(in, line);) {
    std::string name(absl::StripAsciiWhitespace(line));
    if (!name.empty() && name[0] != '#') names.push_back(std::move(name));
  }
  if (names.empty()) return absl::InvalidArgumentError("model names: the file names no model");
  std::vector<sim::TraceModel> models;
  absl::flat_hash_map<std::string, uint32_t> merged;
  std::vector<uint32_t> to(trace.models.size());
  for (uint32_t m = 0; m < trace.models.size(); ++m) {
    const std::string& name = names[m % names.size()];
    auto [it, added] = merged.try_emplace(name, static_cast<uint32_t>(models.size()));
    if (added) {
      models.push_back(trace.models[m]);
      models.back().name = name;
    }
    to[m] = it->second;
  }
  for (sim::Request& r : trace.requests) r.model = to[r.model];
  trace.models = std::move(models);
  return absl::OkStatus();
}

}  // namespace modelmux::plan
