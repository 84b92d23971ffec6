// Fuzzes the readers of an artifact's vocab.txt (Tokenizer) and labels.txt
// (LabelTable): the same bytes are read as both, and the input's text is
// then tokenized with the vocabulary it describes.
//
// Checks, vocabulary: accepted only when line 1 is "<unk>"; every id the
// tokenizer gives is within the vocabulary; every line that is one whole
// word (ASCII lower-case letters and digits, at most 64 bytes) maps back to
// the id of its first occurrence; at most max_tokens ids per text.
// Labels: accepted only when every line is a distinct non-empty label, and
// then label(i) is line i (without its "\r").
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "fuzz_support.h"
#include "text/label_table.h"
#include "text/tokenizer.h"

namespace modelmux {
namespace {

std::vector<std::string_view> Lines(std::string_view text) {
  std::vector<std::string_view> lines;
  size_t pos = 0;
  while (pos < text.size()) {
    size_t end = text.find('\n', pos);
    if (end == std::string_view::npos) end = text.size();
    std::string_view line = text.substr(pos, end - pos);
    if (!line.empty() && line.back() == '\r') line.remove_suffix(1);
    lines.push_back(line);
    pos = end + 1;
  }
  return lines;
}

bool IsWholeWord(std::string_view s) {
  if (s.empty() || s.size() > Tokenizer::kMaxWordBytes) return false;
  for (char c : s) {
    if (!((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9'))) return false;
  }
  return true;
}

void CheckVocabulary(std::string_view text) {
  absl::StatusOr<Tokenizer> tokenizer = Tokenizer::FromVocabText(std::string(text), "vocab.txt");
  const std::vector<std::string_view> lines = Lines(text);
  if (!tokenizer.ok()) {
    FUZZ_CHECK(absl::IsInvalidArgument(tokenizer.status()), "a bad vocab.txt is InvalidArgument");
    FUZZ_CHECK(lines.empty() || lines[0] != Tokenizer::kUnknownToken, "a vocabulary starting <unk> is read");
    return;
  }
  FUZZ_CHECK(!lines.empty() && lines[0] == Tokenizer::kUnknownToken, "line 1 is <unk>");
  FUZZ_CHECK(tokenizer->vocab_size() == static_cast<int64_t>(lines.size()), "one id per line");
  std::unordered_map<std::string_view, int64_t> first_id;
  for (size_t id = 1; id < lines.size(); ++id) {
    if (!IsWholeWord(lines[id]) || !first_id.emplace(lines[id], static_cast<int64_t>(id)).second) continue;
    const std::vector<int64_t> ids = tokenizer->Encode(lines[id], 4);
    FUZZ_CHECK(ids.size() == 1 && ids[0] == static_cast<int64_t>(id), "a vocabulary word maps to its line");
  }
  for (int max_tokens : {1, 7, 128}) {
    const std::vector<int64_t> ids = tokenizer->Encode(text, max_tokens);
    FUZZ_CHECK(ids.size() <= static_cast<size_t>(max_tokens), "at most max_tokens ids");
    for (int64_t id : ids) FUZZ_CHECK(id >= 0 && id < tokenizer->vocab_size(), "ids within the vocabulary");
  }
}

void CheckLabels(std::string_view text) {
  absl::StatusOr<LabelTable> labels = LabelTable::FromText(text, "labels.txt");
  if (!labels.ok()) {
    FUZZ_CHECK(absl::IsInvalidArgument(labels.status()), "a bad labels.txt is InvalidArgument");
    return;
  }
  const std::vector<std::string_view> lines = Lines(text);
  FUZZ_CHECK(labels->size() == static_cast<int>(lines.size()), "one label per line");
  std::unordered_map<std::string_view, int> seen;
  for (int i = 0; i < labels->size(); ++i) {
    FUZZ_CHECK(labels->label(i) == lines[i], "label i is line i");
    FUZZ_CHECK(!lines[i].empty() && seen.emplace(lines[i], i).second, "labels are non-empty and distinct");
  }
}

}  // namespace
}  // namespace modelmux

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string_view text(reinterpret_cast<const char*>(data), size);
  modelmux::CheckVocabulary(text);
  modelmux::CheckLabels(text);
  return 0;
}
