// Tokenizer for text classifiers: maps a text to vocabulary ids.
//
// The vocabulary comes from vocab.txt, one token per line, id = line number;
// line 0 must be "<unk>", the id given to every word not in the vocabulary.
// A text is lower-cased (ASCII) and split on every byte that is not an ASCII
// letter or digit; each piece is looked up as a whole word.
//
// Immutable after Create and safe to call from many threads at once. Encode
// allocates nothing beyond growing the caller's output vector.
#pragma once

#include <cstdint>
#include <filesystem>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "absl/container/flat_hash_map.h"
#include "absl/status/statusor.h"

namespace modelmux {

class Tokenizer {
 public:
  static constexpr int64_t kUnknownId = 0;
  static constexpr std::string_view kUnknownToken = "<unk>";
  // Words longer than this are unknown without a lookup: real vocabulary words
  // are far shorter, and it bounds the stack buffer used to lower-case a word.
  static constexpr size_t kMaxWordBytes = 64;

  // Reads vocab.txt. InvalidArgument (naming the file) when it is empty or its
  // first line is not "<unk>"; NotFound when it cannot be read.
  static absl::StatusOr<Tokenizer> Create(const std::filesystem::path& vocab_path);
  // Same, from the file's contents; `source` names it in errors.
  static absl::StatusOr<Tokenizer> FromVocabText(std::string text, std::string_view source);

  Tokenizer(Tokenizer&&) = default;
  Tokenizer& operator=(Tokenizer&&) = default;

  // Appends the ids of at most `max_tokens` words of `text` to `ids`.
  // Returns how many were appended.
  int Encode(std::string_view text, int max_tokens, std::vector<int64_t>* ids) const;
  std::vector<int64_t> Encode(std::string_view text, int max_tokens) const;

  // Number of ids, including <unk>.
  int64_t vocab_size() const { return vocab_size_; }
  // Approximate heap bytes held (text and hash table).
  int64_t MemoryBytes() const;

 private:
  Tokenizer() = default;

  // Owns the vocabulary text; the map's keys point into it. A unique_ptr keeps
  // the bytes in place when the Tokenizer moves.
  std::unique_ptr<char[]> text_;
  size_t text_size_ = 0;
  absl::flat_hash_map<std::string_view, int64_t> ids_;
  int64_t vocab_size_ = 0;
};

}  // namespace modelmux
