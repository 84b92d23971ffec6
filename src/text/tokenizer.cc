#include "text/tokenizer.h"

#include <algorithm>
#include <array>
#include <bit>
#include <cstdio>
#include <cstring>
#include <limits>

#include "absl/strings/ascii.h"
#include "absl/strings/str_cat.h"

namespace modelmux {
namespace {

bool IsWordByte(unsigned char c) { return absl::ascii_isalnum(c); }

// A multiply-xorshift hash over 8-byte chunks: words are short, and this runs
// once per vocabulary line on every load and once per word on every request.
uint64_t HashWord(std::string_view word) {
  uint64_t h = word.size() * 0x9E3779B97F4A7C15ull;
  size_t i = 0;
  for (; i + 8 <= word.size(); i += 8) {
    uint64_t chunk;
    std::memcpy(&chunk, word.data() + i, 8);
    h = (h ^ chunk) * 0xBF58476D1CE4E5B9ull;
    h ^= h >> 31;
  }
  if (i < word.size()) {
    uint64_t chunk = 0;
    std::memcpy(&chunk, word.data() + i, word.size() - i);
    h = (h ^ chunk) * 0xBF58476D1CE4E5B9ull;
  }
  h ^= h >> 29;
  h *= 0x94D049BB133111EBull;
  return h ^ (h >> 32);
}

}  // namespace

absl::StatusOr<Tokenizer> Tokenizer::Create(const std::filesystem::path& vocab_path) {
  // Read straight into the buffer the tokenizer keeps: no stream copies.
  std::FILE* file = std::fopen(vocab_path.c_str(), "rb");
  if (file == nullptr) return absl::NotFoundError(absl::StrCat("cannot read vocabulary ", vocab_path.string()));
  std::error_code ec;
  const uintmax_t size = std::filesystem::file_size(vocab_path, ec);
  if (ec || size >= std::numeric_limits<uint32_t>::max()) {
    std::fclose(file);
    return absl::DataLossError(absl::StrCat("cannot size ", vocab_path.string()));
  }
  auto text = std::make_unique<char[]>(size + 1);
  const size_t read = std::fread(text.get(), 1, size, file);
  const bool failed = std::ferror(file) != 0 || read != size;
  std::fclose(file);
  if (failed) return absl::DataLossError(absl::StrCat("error reading ", vocab_path.string()));
  return FromOwnedText(std::move(text), size, vocab_path.string());
}

absl::StatusOr<Tokenizer> Tokenizer::FromVocabText(std::string text, std::string_view source) {
  auto owned = std::make_unique<char[]>(text.size() + 1);
  std::memcpy(owned.get(), text.data(), text.size());
  return FromOwnedText(std::move(owned), text.size(), source);
}

absl::StatusOr<Tokenizer> Tokenizer::FromOwnedText(std::unique_ptr<char[]> text, size_t size,
                                                   std::string_view source) {
  if (size >= std::numeric_limits<uint32_t>::max()) {
    return absl::InvalidArgumentError(absl::StrCat(std::string(source), " is too large"));
  }
  Tokenizer tok;
  tok.text_ = std::move(text);
  tok.text_size_ = size;
  const std::string_view all(tok.text_.get(), size);
  tok.words_.reserve(std::count(all.begin(), all.end(), '\n') + 1);
  size_t pos = 0;
  while (pos < all.size()) {
    size_t end = all.find('\n', pos);
    if (end == std::string_view::npos) end = all.size();
    std::string_view line = all.substr(pos, end - pos);
    if (!line.empty() && line.back() == '\r') line.remove_suffix(1);
    if (tok.words_.empty() && line != kUnknownToken) {
      return absl::InvalidArgumentError(
          absl::StrCat(std::string(source), ": line 1 must be the unknown token \"<unk>\""));
    }
    tok.words_.push_back({static_cast<uint32_t>(pos), static_cast<uint32_t>(line.size())});
    pos = end + 1;
  }
  if (tok.words_.empty()) return absl::InvalidArgumentError(absl::StrCat(std::string(source), " is empty"));
  tok.vocab_size_ = static_cast<int64_t>(tok.words_.size());
  tok.BuildTable();
  return tok;
}

void Tokenizer::BuildTable() {
  // At most half full, so probes stay short.
  slots_.assign(std::bit_ceil(std::max<size_t>(2 * words_.size(), 8)), 0);
  const size_t mask = slots_.size() - 1;
  for (uint32_t id = 1; id < words_.size(); ++id) {
    const std::string_view word = WordAt(id);
    // Longer words are never looked up (see kMaxWordBytes).
    if (word.empty() || word.size() > kMaxWordBytes) continue;
    for (size_t i = HashWord(word) & mask;; i = (i + 1) & mask) {
      if (slots_[i] == 0) {
        slots_[i] = id;
        break;
      }
      // The first occurrence of a repeated token keeps its id, as lookups must be stable.
      if (WordAt(slots_[i]) == word) break;
    }
  }
}

int64_t Tokenizer::Find(std::string_view word) const {
  const size_t mask = slots_.size() - 1;
  for (size_t i = HashWord(word) & mask;; i = (i + 1) & mask) {
    const uint32_t id = slots_[i];
    if (id == 0) return kUnknownId;
    if (WordAt(id) == word) return id;
  }
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
      id = Find(std::string_view(lowered.data(), len));
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
  return static_cast<int64_t>(text_size_ + words_.capacity() * sizeof(Word) +
                              slots_.capacity() * sizeof(uint32_t) + sizeof(*this));
}

}  // namespace modelmux
