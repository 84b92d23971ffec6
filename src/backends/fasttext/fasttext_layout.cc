#include "backends/fasttext/fasttext_layout.h"

#include <fstream>
#include <limits>

#include "absl/strings/str_cat.h"
#include "common/status_macros.h"

namespace modelmux {
namespace {

constexpr int32_t kMagic = 793712314;
constexpr int32_t kNewestVersion = 12;
constexpr int64_t kCentroidsPerSubquantizer = 256;
// A dictionary entry on disk: at least one character and its NUL, an int64
// count and an int8 type.
constexpr int64_t kSmallestEntry = 2 + 8 + 1;
constexpr std::streamsize kLongestWord = 1 << 16;

// Reads a file front to back, keeping its own position (no tellg per read).
class LayoutReader {
 public:
  LayoutReader(const std::filesystem::path& path, int64_t size)
      : path_(path), in_(path, std::ios::binary), size_(size) {}

  bool is_open() const { return in_.is_open(); }
  int64_t remaining() const { return size_ - pos_; }

  template <typename T>
  absl::Status Read(T* value, absl::string_view what) {
    if (remaining() < static_cast<int64_t>(sizeof(T)) ||
        !in_.read(reinterpret_cast<char*>(value), sizeof(T))) {
      return Error(absl::StrCat("the file ends inside ", what));
    }
    pos_ += sizeof(T);
    return absl::OkStatus();
  }
  // Skips `count` items of `item_bytes` each, refusing more than remain.
  absl::Status Skip(int64_t count, int64_t item_bytes, absl::string_view what) {
    if (count < 0 || (count > 0 && count > remaining() / item_bytes)) {
      return Error(
          absl::StrCat(what, " says ", count, " x ", item_bytes, " bytes; only ", remaining(), " remain"));
    }
    in_.seekg(count * item_bytes, std::ios::cur);
    pos_ += count * item_bytes;
    return absl::OkStatus();
  }
  absl::Status SkipWord() {
    in_.ignore(kLongestWord, '\0');
    const std::streamsize read = in_.gcount();
    pos_ += read;
    if (read == 0 || !in_ || pos_ > size_) return Error("the dictionary ends inside a word");
    return absl::OkStatus();
  }
  absl::Status Error(absl::string_view what) const {
    return absl::DataLossError(absl::StrCat(path_.string(), " is not a valid fastText model: ",
                                            std::string(what), " (at byte ", pos_, " of ", size_, ")"));
  }

 private:
  const std::filesystem::path& path_;
  std::ifstream in_;
  int64_t size_;
  int64_t pos_ = 0;
};

absl::Status CheckDictionary(LayoutReader& r, FastTextLayout& layout) {
  int32_t size = 0;
  int64_t tokens = 0, pruned = 0;
  RETURN_IF_ERROR(r.Read(&size, "the dictionary header"));
  RETURN_IF_ERROR(r.Read(&layout.words, "the dictionary header"));
  RETURN_IF_ERROR(r.Read(&layout.labels, "the dictionary header"));
  RETURN_IF_ERROR(r.Read(&tokens, "the dictionary header"));
  RETURN_IF_ERROR(r.Read(&pruned, "the dictionary header"));
  if (size < 0 || layout.words < 0 || layout.labels < 0 || layout.words + int64_t{layout.labels} != size ||
      size > r.remaining() / kSmallestEntry) {
    return r.Error(absl::StrCat("the dictionary says ", size, " entries (", layout.words, " words, ",
                                layout.labels, " labels)"));
  }
  for (int32_t i = 0; i < size; ++i) {
    RETURN_IF_ERROR(r.SkipWord());
    RETURN_IF_ERROR(r.Skip(1, 8 + 1, "a dictionary entry"));
  }
  if (pruned < -1) return r.Error(absl::StrCat("the pruned-index size is ", pruned));
  return r.Skip(std::max<int64_t>(pruned, 0), 8, "the pruned index");
}

absl::Status CheckQuantizer(LayoutReader& r, FastTextLayout& layout) {
  int32_t dim = 0, subquantizers = 0, sub_dim = 0, last_sub_dim = 0;
  RETURN_IF_ERROR(r.Read(&dim, "a quantizer"));
  RETURN_IF_ERROR(r.Read(&subquantizers, "a quantizer"));
  RETURN_IF_ERROR(r.Read(&sub_dim, "a quantizer"));
  RETURN_IF_ERROR(r.Read(&last_sub_dim, "a quantizer"));
  RETURN_IF_ERROR(r.Skip(dim, kCentroidsPerSubquantizer * 4, "a quantizer's centroids"));
  layout.arrays.push_back(dim * kCentroidsPerSubquantizer * 4);
  return absl::OkStatus();
}

absl::Status CheckMatrix(LayoutReader& r, bool quantized, FastTextLayout& layout) {
  uint8_t norms = 0;
  if (quantized) RETURN_IF_ERROR(r.Read(&norms, "a quantized matrix"));
  int64_t rows = 0, columns = 0;
  RETURN_IF_ERROR(r.Read(&rows, "a matrix header"));
  RETURN_IF_ERROR(r.Read(&columns, "a matrix header"));
  if (rows < 0 || columns < 0 || (columns > 0 && rows > std::numeric_limits<int64_t>::max() / columns)) {
    return r.Error(absl::StrCat("a matrix says ", rows, " x ", columns));
  }
  if (!quantized) {
    RETURN_IF_ERROR(r.Skip(rows * columns, 4, "a matrix"));
    layout.arrays.push_back(rows * columns * 4);
    return absl::OkStatus();
  }
  int32_t code_bytes = 0;
  RETURN_IF_ERROR(r.Read(&code_bytes, "a quantized matrix"));
  RETURN_IF_ERROR(r.Skip(code_bytes, 1, "a quantized matrix's codes"));
  layout.arrays.push_back(code_bytes);
  RETURN_IF_ERROR(CheckQuantizer(r, layout));
  if (norms == 0) return absl::OkStatus();
  RETURN_IF_ERROR(r.Skip(rows, 1, "a quantized matrix's norms"));
  layout.arrays.push_back(rows);
  return CheckQuantizer(r, layout);
}

}  // namespace

absl::StatusOr<FastTextLayout> CheckFastTextLayout(const std::filesystem::path& path) {
  std::error_code ec;
  const auto size = static_cast<int64_t>(std::filesystem::file_size(path, ec));
  LayoutReader r(path, ec ? 0 : size);
  if (ec || !r.is_open()) return absl::InvalidArgumentError(absl::StrCat("cannot read ", path.string()));
  FastTextLayout layout;
  int32_t magic = 0;
  RETURN_IF_ERROR(r.Read(&magic, "the header"));
  RETURN_IF_ERROR(r.Read(&layout.version, "the header"));
  if (magic != kMagic) return r.Error("it does not start with fastText's magic number");
  if (layout.version < 1 || layout.version > kNewestVersion) {
    return r.Error(
        absl::StrCat("format version ", layout.version, " (this server reads up to ", kNewestVersion, ")"));
  }
  // Arguments: dim, ws, epoch, minCount, neg, wordNgrams, loss, model,
  // bucket, minn, maxn, lrUpdateRate (int32 each), then t (double).
  int32_t args[12] = {};
  for (int32_t& arg : args) RETURN_IF_ERROR(r.Read(&arg, "the training arguments"));
  RETURN_IF_ERROR(r.Skip(1, 8, "the training arguments"));
  layout.dim = args[0];
  layout.model = args[7];
  RETURN_IF_ERROR(CheckDictionary(r, layout));
  uint8_t quantized_input = 0, quantized_output = 0;
  RETURN_IF_ERROR(r.Read(&quantized_input, "the input matrix flag"));
  layout.quantized = quantized_input != 0;
  RETURN_IF_ERROR(CheckMatrix(r, layout.quantized, layout));
  RETURN_IF_ERROR(r.Read(&quantized_output, "the output matrix flag"));
  RETURN_IF_ERROR(CheckMatrix(r, layout.quantized && quantized_output != 0, layout));
  if (r.remaining() != 0) return r.Error(absl::StrCat(r.remaining(), " bytes follow the model"));
  return layout;
}

}  // namespace modelmux
