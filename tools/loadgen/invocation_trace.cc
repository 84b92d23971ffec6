#include "loadgen/invocation_trace.h"

#include <charconv>
#include <fstream>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"

namespace modelmux::loadgen {
namespace {

constexpr int kMaxMinutes = 1440;

// The minute a header column names (1..1440), or 0 for another column.
int MinuteOf(absl::string_view column) {
  absl::ConsumePrefix(&column, "minute_");
  int minute = 0;
  const auto [end, ec] = std::from_chars(column.data(), column.data() + column.size(), minute);
  if (ec != std::errc() || end != column.data() + column.size()) return 0;
  return minute >= 1 && minute <= kMaxMinutes ? minute : 0;
}

struct Header {
  std::vector<int> minute_of_column;  // 0: not a minute column
  int minutes = 0;
};

absl::StatusOr<Header> ParseHeader(const std::string& line) {
  Header header;
  int required = 0;
  for (absl::string_view column : absl::StrSplit(line, ',')) {
    absl::ConsumeSuffix(&column, "\r");
    if (column == "HashFunction" || column == "HashApp" || column == "HashOwner") ++required;
    const int minute = MinuteOf(column);
    header.minute_of_column.push_back(minute);
    header.minutes = std::max(header.minutes, minute);
  }
  if (required != 3) {
    return absl::InvalidArgumentError("trace header lacks HashFunction, HashApp or HashOwner");
  }
  if (header.minutes == 0) return absl::InvalidArgumentError("trace header has no minute columns");
  return header;
}

absl::Status ParseRow(const Header& header, const std::string& line, int64_t line_number,
                      InvocationTrace& trace) {
  std::vector<int32_t> row(header.minutes, 0);
  int64_t row_total = 0;
  size_t column = 0;
  for (absl::string_view field : absl::StrSplit(line, ',')) {
    absl::ConsumeSuffix(&field, "\r");
    if (column >= header.minute_of_column.size()) {
      return absl::InvalidArgumentError(absl::StrCat("trace line ", line_number, ": too many fields"));
    }
    const int minute = header.minute_of_column[column++];
    if (minute == 0) continue;
    int32_t count = 0;
    const auto [end, ec] = std::from_chars(field.data(), field.data() + field.size(), count);
    if (ec != std::errc() || end != field.data() + field.size() || count < 0) {
      return absl::InvalidArgumentError(
          absl::StrCat("trace line ", line_number, ": bad count '", std::string(field), "'"));
    }
    row[minute - 1] = count;
    row_total += count;
  }
  if (column != header.minute_of_column.size()) {
    return absl::InvalidArgumentError(absl::StrCat("trace line ", line_number, ": too few fields"));
  }
  if (row_total == 0) return absl::OkStatus();
  trace.counts.push_back(std::move(row));
  trace.total += row_total;
  return absl::OkStatus();
}

}  // namespace

absl::StatusOr<InvocationTrace> ParseInvocationTrace(std::istream& in) {
  std::string line;
  if (!std::getline(in, line)) return absl::InvalidArgumentError("trace is empty");
  absl::StatusOr<Header> header = ParseHeader(line);
  if (!header.ok()) return header.status();
  InvocationTrace trace;
  trace.minutes = header->minutes;
  for (int64_t number = 2; std::getline(in, line); ++number) {
    if (line.empty() || line == "\r") continue;
    if (absl::Status s = ParseRow(*header, line, number, trace); !s.ok()) return s;
  }
  if (trace.counts.empty()) return absl::InvalidArgumentError("trace has no invocations");
  return trace;
}

absl::StatusOr<InvocationTrace> ReadInvocationTrace(const std::string& path) {
  std::ifstream in(path);
  if (!in) return absl::NotFoundError(absl::StrCat("cannot open trace ", path));
  return ParseInvocationTrace(in);
}

}  // namespace modelmux::loadgen
