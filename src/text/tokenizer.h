// Tokenizer for text classifiers: maps a text to vocabulary ids.
//
// The vocabulary comes from vocab.txt, one token per line, id = line number;
// line 0 must be "<unk>", the id given to every word not in the vocabulary.
// A text is lower-cased (ASCII) and split on every byte that is not an ASCII
// letter or digit; each piece is looked up as a whole word.
//
// Immutable after Create and safe to call from many threads at once. Encode
// allocates nothing beyond growing the caller's output vector.
//
// The lookup table is built on every model load, so it is built for that:
// one open-addressing array of 32-bit slots over the vocabulary text itself
// (about 16 bytes per word, no per-word allocation), rather than a node or
// string-keyed hash map, which cost most of a cold start for a 32k vocabulary.
// A slot holds an id and 8 bits of the word's hash, so a probe rarely has to
// read the word itself, and the build prefetches each word's slot a few words
// ahead: the table does not fit in a core's cache, and waiting for memory was
// most of the build.
#pragma once

#include <cstdint>
#include <filesystem>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "absl/status/statusor.h"

namespace modelmux {

class Tokenizer {
 public:
  static constexpr int64_t kUnknownId = 0;
  static constexpr std::string_view kUnknownToken = "<unk>";
  // Words longer than this are unknown without a lookup: real vocabulary words
  // are far shorter, and it bounds the stack buffer used to lower-case a word.
  static constexpr size_t kMaxWordBytes = 64;
  // Ids fit in the low 24 bits of a slot (16.7 million words; real
  // vocabularies have tens of thousands).
  static constexpr size_t kMaxVocabulary = size_t{1} << 24;

  // Reads vocab.txt. InvalidArgument (naming the file) when it is empty, has
  // more than kMaxVocabulary lines or its first line is not "<unk>"; NotFound
  // when it cannot be read.
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

  // Where a word sits in text_.
  struct Word {
    uint32_t offset = 0;
    uint32_t size = 0;
  };

  static absl::StatusOr<Tokenizer> FromOwnedText(std::unique_ptr<char[]> text, size_t size,
                                                 std::string_view source);
  void BuildTable();
  // Adds word `id`, whose HashWord is `hash`, unless its word is already there.
  void Insert(uint32_t id, uint64_t hash);
  size_t Probe(std::string_view word, uint64_t hash) const;
  // The id of `word`, or kUnknownId.
  int64_t Find(std::string_view word) const;
  std::string_view WordAt(uint32_t id) const { return {text_.get() + words_[id].offset, words_[id].size}; }

  // Owns the vocabulary text; words_ points into it. A unique_ptr keeps the
  // bytes in place when the Tokenizer moves.
  std::unique_ptr<char[]> text_;
  size_t text_size_ = 0;
  std::vector<Word> words_;     // by id
  // Power-of-two size; 0 = empty, else (8-bit hash tag << 24) | id, id >= 1
  // (<unk> is never stored).
  std::vector<uint32_t> slots_;
  int64_t vocab_size_ = 0;
};

}  // namespace modelmux
