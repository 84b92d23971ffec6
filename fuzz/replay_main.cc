// The main() of the replay executables built in the gcc trees (build/,
// build-asan/): runs the harness's LLVMFuzzerTestOneInput once over every
// file named on the command line, or found (recursively, in sorted order)
// under a directory named there. No fuzzing: a regression run of the seed
// corpus, so an input that once crashed a decoder keeps being tried.
//
// Each file is announced on stderr before it runs, so a failing replay names
// its input. Exit status: 0 when every input ran, 1 when an argument names
// nothing to read or no input was found; a failed check aborts.
//
// Memory is capped (4 GiB), as libFuzzer's -rss_limit_mb does, so that a
// regression of an unbounded-allocation fix fails fast instead of exhausting
// the machine: an address-space limit without ASan, ASan's own limits with it
// (its shadow memory needs far more address space).
#include <sys/resource.h>

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <string>
#include <vector>

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size);
extern "C" __attribute__((weak)) int LLVMFuzzerInitialize(int* argc, char*** argv);

#if defined(__SANITIZE_ADDRESS__)
extern "C" const char* __asan_default_options() {
  return "hard_rss_limit_mb=4096:max_allocation_size_mb=4096";
}
#endif

namespace {

namespace fs = std::filesystem;

void LimitMemory() {
#if !defined(__SANITIZE_ADDRESS__) && !defined(__SANITIZE_THREAD__)
  constexpr rlim_t kMemoryLimit = rlim_t{4} << 30;
  const struct rlimit limit = {kMemoryLimit, kMemoryLimit};
  if (setrlimit(RLIMIT_AS, &limit) != 0) std::perror("replay: setrlimit");
#endif
}

bool CollectInputs(const fs::path& arg, std::vector<fs::path>& out) {
  std::error_code ec;
  if (fs::is_regular_file(arg, ec)) {
    out.push_back(arg);
    return true;
  }
  if (!fs::is_directory(arg, ec)) return false;
  std::vector<fs::path> found;
  for (fs::recursive_directory_iterator it(arg, ec), end; !ec && it != end; it.increment(ec)) {
    if (it->is_regular_file(ec)) found.push_back(it->path());
  }
  if (ec) return false;
  std::sort(found.begin(), found.end());
  out.insert(out.end(), found.begin(), found.end());
  return true;
}

}  // namespace

int main(int argc, char** argv) {
  LimitMemory();
  if (LLVMFuzzerInitialize != nullptr) LLVMFuzzerInitialize(&argc, &argv);
  std::vector<fs::path> inputs;
  for (int i = 1; i < argc; ++i) {
    if (!CollectInputs(argv[i], inputs)) {
      std::fprintf(stderr, "replay: cannot read %s\n", argv[i]);
      return 1;
    }
  }
  if (inputs.empty()) {
    std::fprintf(stderr, "usage: %s FILE_OR_DIR... (found no input)\n", argv[0]);
    return 1;
  }
  for (const fs::path& input : inputs) {
    std::ifstream in(input, std::ios::binary);
    const std::vector<char> bytes((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
    if (!in.eof() && in.fail()) {
      std::fprintf(stderr, "replay: cannot read %s\n", input.c_str());
      return 1;
    }
    std::fprintf(stderr, "replay: %s (%zu bytes)\n", input.c_str(), bytes.size());
    // A copy of exactly the input's size, as libFuzzer passes it: ASan then
    // catches a read one byte past the end.
    std::vector<uint8_t> data(bytes.begin(), bytes.end());
    static uint8_t empty = 0;
    LLVMFuzzerTestOneInput(data.empty() ? &empty : data.data(), data.size());
  }
  std::fprintf(stderr, "replay: %zu inputs ran\n", inputs.size());
  return 0;
}
