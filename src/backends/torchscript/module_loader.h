// ModuleLoader: loads TorchScript modules near the cost of their bytes.
//
// torch::jit::load(path) does three things per load that a server of many
// small models of one architecture need not repeat:
//   - it compiles the module's code (code/*.py, constants.pkl) into a fresh
//     CompilationUnit, and the graph executor optimises each compiled method
//     again on its first run;
//   - it allocates every tensor record on its own and copies the record into
//     it: fresh memory, faulted in 4 KiB at a time (on this project's bench
//     machine, faulting 8 MiB costs several times the read of the same bytes);
//   - it reads the file through an istream, record by record.
// A ModuleLoader reads model.pt with one read() into one buffer of its own,
// backed by transparent huge pages where the kernel offers them (512 times
// fewer page faults), and builds the module with its tensors pointing into
// that buffer (no copy). It compiles the code as torch::jit::load does
// (SourceImporter over code/, constants.pkl) and remembers the compilation
// unit of every module it compiled, keyed by the exact bytes of everything in
// model.pt that defines code (every record except data.pkl, the tensors under
// data/ and extra/ files). A later model.pt with the same code bytes is built
// by unpickling only its data.pkl against that unit's types; it also runs the
// graphs the first module optimised.
//
// Anything the shortcut does not cover (a file in the legacy format, a class
// with __setstate__, a type the shared unit never imported, old quantized
// convolutions, any error) is loaded by torch::jit::load, whose result and
// errors stay the reference; a compressed, misaligned or ZIP64 tensor record
// is copied as torch::jit::load copies it. A unit is remembered only while a
// module built from it is alive.
//
// Thread-safe. Internal to backends/torchscript (includes libtorch).
#pragma once

#include <torch/script.h>

#include <cstdint>
#include <memory>
#include <mutex>
#include <string>

#include "absl/base/thread_annotations.h"
#include "absl/container/flat_hash_map.h"

namespace modelmux {

class ModuleLoader {
 public:
  struct Stats {
    int64_t compiled = 0;           // loads that compiled their code
    int64_t shared = 0;             // loads that reused the code of an earlier module
    int64_t by_torch_jit_load = 0;  // of the compiled, those the shortcut left to torch::jit::load
  };

  // `share_code` false makes every Load a torch::jit::load that remembers
  // nothing: for modules that will be frozen, since freezing adds the frozen
  // clone's classes (and its weights, as constants) to the module's
  // compilation unit, which must then be the module's own.
  explicit ModuleLoader(bool share_code = true) : share_code_(share_code) {}

  // Loads `path` onto the CPU. Throws what torch::jit::load throws.
  // `shared_code`, when given, is set to whether the code was reused.
  torch::jit::Module Load(const std::string& path, bool* shared_code = nullptr);

  Stats stats() const;

 private:
  // The unit compiled for `code_key`, or null.
  std::shared_ptr<torch::jit::CompilationUnit> Find(const std::string& code_key);
  void Remember(std::string code_key, const torch::jit::Module& module);

  const bool share_code_;
  mutable std::mutex mu_;
  absl::flat_hash_map<std::string, std::weak_ptr<torch::jit::CompilationUnit>> units_ ABSL_GUARDED_BY(mu_);
  Stats stats_ ABSL_GUARDED_BY(mu_);
};

// torch::jit::freeze then torch::jit::optimize_for_inference: attributes
// folded into the graph as constants, linear layers pre-transposed. `module`
// must be in eval mode. The result has no parameters of its own (count the
// memory on `module`). Throws what libtorch throws.
torch::jit::Module FreezeForInference(const torch::jit::Module& module);

}  // namespace modelmux
