#include "text/tokenizer.h"

#include <algorithm>
#include <array>
#include <cstring>
#include <fstream>
#include <sstream>

#include "absl/strings/ascii.h"
#include "absl/strings/str_cat.h"

namespace modelmux {
namespace {

bool IsWordByte(unsigned char c) { return absl::ascii_isalnum(c); }

}  // namespace

absl::StatusOr<Tokenizer> Tokenizer::Create(const std::filesystem::path& vocab_path) {
  std::ifstream in(vocab_path, std::ios::binary);
  if (!in) return absl::NotFoundError(absl::StrCat("cannot read vocabulary ", vocab_path.string()));
  std::ostringstream buffer;
  buffer << in.rdbuf();
  if (in.bad()) return absl::DataLossError(absl::StrCat("error reading ", vocab_path.string()));
  return FromVocabText(std::move(buffer).str(), vocab_path.string());
}

absl::StatusOr<Tokenizer> Tokenizer::FromVocabText(std::string text, std::string_view source) {
  Tokenizer tok;
  tok.text_size_ = text.size();
  tok.text_ = std::make_unique<char[]>(text.size() + 1);
  std::memcpy(tok.text_.get(), text.data(), text.size());
  const std::string_view all(tok.text_.get(), tok.text_size_);
  tok.ids_.reserve(std::count(all.begin(), all.end(), '\n') + 1);

  size_t pos = 0;
  int64_t id = 0;
  while (pos < all.size()) {
    size_t end = all.find('\n', pos);
    if (end == std::string_view::npos) end = all.size();
    std::string_view line = all.substr(pos, end - pos);
    if (!line.empty() && line.back() == '\r') line.remove_suffix(1);
    if (id == 0 && line != kUnknownToken) {
      return absl::InvalidArgumentError(
          absl::StrCat(std::string(source), ": line 1 must be the unknown token \"<unk>\""));
    }
    // The first occurrence of a repeated token keeps its id, as lookups must be stable.
    if (id > 0 && !line.empty()) tok.ids_.emplace(line, id);
    ++id;
    pos = end + 1;
  }
  if (id == 0) return absl::InvalidArgumentError(absl::StrCat(std::string(source), " is empty"));
  tok.vocab_size_ = id;
  return tok;
}

int Tokenizer::Encode(std::string_view text, int max_tokens, std::vector<int64_t>* ids) const {
  std::array<char, kMaxWordBytes> lowered;
  int count = 0;
  size_t i = 0;
  const size_t n = text.size();
  while (count < max_tokens) {
    while (i < n && !IsWordByte(static_cast<unsigned char>(text[i]))) ++i;
    if (i >= n) break;
    const size_t start = i;
    while (i < n && IsWordByte(static_cast<unsigned char>(text[i]))) ++i;
    const size_t len = i - start;
    int64_t id = kUnknownId;
    if (len <= kMaxWordBytes) {
      for (size_t k = 0; k < len; ++k) {
        lowered[k] = absl::ascii_tolower(static_cast<unsigned char>(text[start + k]));
      }
      auto it = ids_.find(std::string_view(lowered.data(), len));
      if (it != ids_.end()) id = it->second;
    }
    ids->push_back(id);
    ++count;
  }
  return count;
}

std::vector<int64_t> Tokenizer::Encode(std::string_view text, int max_tokens) const {
  std::vector<int64_t> ids;
  Encode(text, max_tokens, &ids);
  return ids;
}

int64_t Tokenizer::MemoryBytes() const {
  const size_t slot = sizeof(std::pair<std::string_view, int64_t>) + 1;  // + control byte
  return static_cast<int64_t>(text_size_ + ids_.capacity() * slot + sizeof(*this));
}

}  // namespace modelmux
