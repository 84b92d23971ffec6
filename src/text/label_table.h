// The labels of a classifier, from labels.txt: one label per line, the label
// of output column i on line i.
//
// Immutable after Create and safe to share between threads. string_views
// returned by label() stay valid while the table is alive (even if moved).
#pragma once

#include <cstdint>
#include <filesystem>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "absl/status/statusor.h"

namespace modelmux {

class LabelTable {
 public:
  // Reads labels.txt. InvalidArgument (naming the file and line) when the file
  // holds no label, a line is empty, or a label repeats; NotFound when it
  // cannot be read. A final newline is optional; "\r\n" line ends are accepted.
  static absl::StatusOr<LabelTable> Create(const std::filesystem::path& labels_path);
  // Same, from the file's contents; `source` names it in errors.
  static absl::StatusOr<LabelTable> FromText(std::string_view text, std::string_view source);

  LabelTable(LabelTable&&) = default;
  LabelTable& operator=(LabelTable&&) = default;

  int size() const { return static_cast<int>(labels_->size()); }
  // REQUIRES: 0 <= i < size().
  std::string_view label(int i) const { return (*labels_)[i]; }
  // Approximate heap bytes held.
  int64_t MemoryBytes() const;

 private:
  LabelTable() = default;

  // Behind a pointer so that views into the strings survive a move (short
  // strings live inside std::string itself).
  std::unique_ptr<std::vector<std::string>> labels_;
};

}  // namespace modelmux
