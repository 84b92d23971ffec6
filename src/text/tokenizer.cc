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
  if (const size_t rest = word.size() - i; rest > 0) {
    // 1-7 bytes without a variable-length memcpy (a library call): two
    // overlapping 4-byte loads, or three single bytes. The length is already
    // in h, so every tail maps to its own chunk.
    const char* p = word.data() + i;
    uint64_t chunk;
    if (rest >= 4) {
      uint32_t lo, hi;
      std::memcpy(&lo, p, 4);
      std::memcpy(&hi, p + rest - 4, 4);
      chunk = lo | (uint64_t{hi} << 32);
    } else {
      chunk = uint64_t{static_cast<unsigned char>(p[0])} |
              uint64_t{static_cast<unsigned char>(p[rest / 2])} << 8 |
              uint64_t{static_cast<unsigned char>(p[rest - 1])} << 16;
    }
    h = (h ^ chunk) * 0xBF58476D1CE4E5B9ull;
  }
  h ^= h >> 29;
  h *= 0x94D049BB133111EBull;
  return h ^ (h >> 32);
}

constexpr uint32_t kIdMask = (uint32_t{1} << 24) - 1;
static_assert(Tokenizer::kMaxVocabulary == size_t{kIdMask} + 1);

// The hash's top byte, kept beside the id; the slot index uses its low bits.
uint32_t TagOf(uint64_t hash) { return static_cast<uint32_t>(hash >> 56) << 24; }

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
  const char* const text_begin = tok.text_.get();
  const char* const text_end = text_begin + size;
  // Lines average under 10 bytes; a generous guess avoids a counting pass.
  tok.words_.reserve(size / 6 + 1);
  for (const char* line = text_begin; line < text_end;) {
    const char* newline = static_cast<const char*>(std::memchr(line, '\n', text_end - line));
    const char* line_end = newline != nullptr ? newline : text_end;
    const size_t length = (line_end - line) - (line_end > line && line_end[-1] == '\r' ? 1 : 0);
    tok.words_.push_back({static_cast<uint32_t>(line - text_begin), static_cast<uint32_t>(length)});
    line = line_end + 1;
  }
  if (!tok.words_.empty() && tok.WordAt(0) != kUnknownToken) {
    return absl::InvalidArgumentError(
        absl::StrCat(std::string(source), ": line 1 must be the unknown token \"<unk>\""));
  }
  if (tok.words_.empty()) return absl::InvalidArgumentError(absl::StrCat(std::string(source), " is empty"));
  if (tok.words_.size() > kMaxVocabulary) {
    return absl::InvalidArgumentError(absl::StrCat(std::string(source), " has ", tok.words_.size(),
                                                   " lines; at most ", kMaxVocabulary, " are supported"));
  }
  tok.vocab_size_ = static_cast<int64_t>(tok.words_.size());
  tok.BuildTable();
  return tok;
}

void Tokenizer::BuildTable() {
  // At most half full, so probes stay short.
  slots_.assign(std::bit_ceil(std::max<size_t>(2 * words_.size(), 8)), 0);
  const size_t mask = slots_.size() - 1;
  // Words are hashed kAhead ahead of their insertion, and their slot is
  // prefetched then, so it has arrived from memory by the time it is needed.
  constexpr uint32_t kAhead = 16;
  std::array<uint64_t, kAhead> hashes;
  const auto n = static_cast<uint32_t>(words_.size());
  for (uint32_t id = 1; id < n + kAhead; ++id) {
    // Insert first: word id - kAhead's hash sits where word id's will go.
    if (id > kAhead) Insert(id - kAhead, hashes[id % kAhead]);
    if (id < n) {
      const uint64_t hash = HashWord(WordAt(id));
      hashes[id % kAhead] = hash;
      __builtin_prefetch(&slots_[hash & mask], /*rw=*/1);
    }
  }
}

// The slot holding `word` (whose HashWord is `hash`), or the empty slot
// where it would go. The table is never full, so the probe ends.
size_t Tokenizer::Probe(std::string_view word, uint64_t hash) const {
  const size_t mask = slots_.size() - 1;
  const uint32_t tag = TagOf(hash);
  size_t i = hash & mask;
  for (uint32_t slot = slots_[i]; slot != 0; slot = slots_[i]) {
    if ((slot & ~kIdMask) == tag && WordAt(slot & kIdMask) == word) break;
    i = (i + 1) & mask;
  }
  return i;
}

void Tokenizer::Insert(uint32_t id, uint64_t hash) {
  const std::string_view word = WordAt(id);
  // Longer words are never looked up (see kMaxWordBytes).
  if (word.empty() || word.size() > kMaxWordBytes) return;
  // The first occurrence of a repeated token keeps its id, as lookups must be stable.
  if (uint32_t& slot = slots_[Probe(word, hash)]; slot == 0) slot = TagOf(hash) | id;
}

int64_t Tokenizer::Find(std::string_view word) const {
  const uint32_t slot = slots_[Probe(word, HashWord(word))];
  return slot == 0 ? kUnknownId : slot & kIdMask;
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
