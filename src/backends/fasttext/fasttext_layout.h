// A check of a fastText model file's layout before libfasttext reads it.
//
// libfasttext trusts the sizes written in the file: it allocates a matrix of
// rows x columns, or a dictionary of N entries, as the file says, and only
// then reads. A flipped bit in a size field would make a load ask for
// gigabytes. This walks the file (header, arguments, dictionary, the input
// and output matrices, dense or product-quantized) and checks every size
// against the bytes that remain, without reading the matrices themselves.
//
// Thread-safe (a pure function of the file).
#pragma once

#include <cstdint>
#include <filesystem>
#include <vector>

#include "absl/status/statusor.h"

namespace modelmux {

struct FastTextLayout {
  int32_t version = 0;
  int32_t dim = 0;
  int32_t model = 0;  // fastText's model_name: 1 cbow, 2 skipgram, 3 supervised
  int32_t words = 0;
  int32_t labels = 0;
  bool quantized = false;
  // Bytes of each matrix array libfasttext allocates in one piece (dense
  // values, quantized codes and norms, centroids).
  std::vector<int64_t> arrays;
};

// DataLoss naming the file, what is wrong and where, unless `path` is a whole
// fastText model file (format version up to 12) whose sizes add up to its
// length exactly.
absl::StatusOr<FastTextLayout> CheckFastTextLayout(const std::filesystem::path& path);

}  // namespace modelmux
