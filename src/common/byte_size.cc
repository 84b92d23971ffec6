#include "common/byte_size.h"

#include <unistd.h>

#include <cctype>
#include <charconv>
#include <limits>

#include "absl/strings/ascii.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"

namespace modelmux {

absl::StatusOr<int64_t> ParseByteSize(std::string_view text) {
  // Debian's Abseil has its own string_view type, distinct from std::string_view.
  absl::string_view stripped = absl::StripAsciiWhitespace(absl::string_view(text.data(), text.size()));
  std::string_view s(stripped.data(), stripped.size());
  const std::string quoted(text);
  int64_t value = 0;
  auto [end, ec] = std::from_chars(s.data(), s.data() + s.size(), value);
  if (ec != std::errc() || end == s.data() || value < 0) {
    return absl::InvalidArgumentError(
        absl::StrCat("invalid byte size '", quoted, "': expected a number with an optional K/M/G/T suffix"));
  }
  std::string suffix = absl::AsciiStrToUpper(absl::string_view(end, s.data() + s.size() - end));
  if (suffix.ends_with("IB")) suffix.resize(suffix.size() - 2);
  else if (suffix.size() > 1 && suffix.ends_with("B")) suffix.resize(suffix.size() - 1);
  else if (suffix == "B") suffix.clear();
  int shift = 0;
  if (suffix.empty()) shift = 0;
  else if (suffix == "K") shift = 10;
  else if (suffix == "M") shift = 20;
  else if (suffix == "G") shift = 30;
  else if (suffix == "T") shift = 40;
  else {
    return absl::InvalidArgumentError(
        absl::StrCat("invalid byte size '", quoted, "': unknown suffix '", suffix, "'"));
  }
  if (value > (std::numeric_limits<int64_t>::max() >> shift)) {
    return absl::InvalidArgumentError(absl::StrCat("byte size '", quoted, "' is too large"));
  }
  return value << shift;
}

std::string FormatBytes(int64_t bytes) {
  const char* units[] = {"B", "KiB", "MiB", "GiB", "TiB"};
  double v = static_cast<double>(bytes);
  int u = 0;
  while (v >= 1024.0 && u < 4) {
    v /= 1024.0;
    ++u;
  }
  if (u == 0) return absl::StrCat(bytes, " B");
  return absl::StrFormat("%.1f %s", v, units[u]);
}

int64_t PhysicalMemoryBytes() {
  long pages = sysconf(_SC_PHYS_PAGES);
  long page_size = sysconf(_SC_PAGE_SIZE);
  if (pages <= 0 || page_size <= 0) return 0;
  return static_cast<int64_t>(pages) * page_size;
}

}  // namespace modelmux
