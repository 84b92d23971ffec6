#include "text/label_table.h"

#include <fstream>
#include <sstream>

#include "absl/container/flat_hash_set.h"
#include "absl/strings/str_cat.h"

namespace modelmux {

absl::StatusOr<LabelTable> LabelTable::Create(const std::filesystem::path& labels_path) {
  std::ifstream in(labels_path, std::ios::binary);
  if (!in) return absl::NotFoundError(absl::StrCat("cannot read labels ", labels_path.string()));
  std::ostringstream buffer;
  buffer << in.rdbuf();
  if (in.bad()) return absl::DataLossError(absl::StrCat("error reading ", labels_path.string()));
  return FromText(buffer.view(), labels_path.string());
}

absl::StatusOr<LabelTable> LabelTable::FromText(std::string_view text, std::string_view source) {
  LabelTable table;
  table.labels_ = std::make_unique<std::vector<std::string>>();
  absl::flat_hash_set<std::string_view> seen;
  if (!text.empty() && text.back() == '\n') text.remove_suffix(1);
  if (text.empty()) return absl::InvalidArgumentError(absl::StrCat(std::string(source), " holds no label"));
  size_t pos = 0;
  for (int line_no = 1; pos <= text.size(); ++line_no) {
    size_t end = text.find('\n', pos);
    if (end == std::string_view::npos) end = text.size();
    std::string_view line = text.substr(pos, end - pos);
    if (!line.empty() && line.back() == '\r') line.remove_suffix(1);
    if (line.empty()) {
      return absl::InvalidArgumentError(
          absl::StrCat(std::string(source), ": line ", line_no, " is an empty label"));
    }
    if (!seen.insert(line).second) {
      return absl::InvalidArgumentError(absl::StrCat(std::string(source), ": line ", line_no,
                                                     " repeats the label '", std::string(line), "'"));
    }
    table.labels_->emplace_back(line);
    pos = end + 1;
  }
  return table;
}

int64_t LabelTable::MemoryBytes() const {
  int64_t bytes = sizeof(*this) + sizeof(*labels_) + labels_->capacity() * sizeof(std::string);
  for (const std::string& label : *labels_) {
    if (label.capacity() > 15) bytes += label.capacity() + 1;
  }
  return bytes;
}

}  // namespace modelmux
