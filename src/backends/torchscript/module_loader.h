// ModuleLoader: loads TorchScript modules, compiling each distinct code once.
//
// torch::jit::load compiles a module's code (code/*.py and its constants) into
// a fresh CompilationUnit on every load, and the graph executor optimises each
// compiled method again on its first run: together about 1 ms of a demo
// model's load. Tenants' models usually share one architecture and differ
// only in their weights, so a ModuleLoader remembers the compilation unit of
// every module it loaded, keyed by the exact bytes of everything in model.pt
// that defines code: every record except data.pkl, the tensors under data/
// and extra/ files. A later model.pt with the same bytes there is built by
// unpickling only its data.pkl and tensors against that unit's types, so it
// also runs the graphs the first one optimised.
//
// Anything the shortcut does not cover (a file in the legacy format, a class
// with __setstate__, a type the shared unit never imported, any error) is
// loaded by torch::jit::load, whose result and errors stay the reference.
// A unit is remembered only while a module built from it is alive.
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
    int64_t compiled = 0;  // loads that compiled their code (torch::jit::load)
    int64_t shared = 0;    // loads that reused the code of an earlier module
  };

  // Loads `path` onto the CPU. Throws what torch::jit::load throws.
  // `shared_code`, when given, is set to whether the code was reused.
  torch::jit::Module Load(const std::string& path, bool* shared_code = nullptr);

  Stats stats() const;

 private:
  // The unit compiled for `code_key`, or null.
  std::shared_ptr<torch::jit::CompilationUnit> Find(const std::string& code_key);
  void Remember(std::string code_key, const torch::jit::Module& module);

  mutable std::mutex mu_;
  absl::flat_hash_map<std::string, std::weak_ptr<torch::jit::CompilationUnit>> units_ ABSL_GUARDED_BY(mu_);
  Stats stats_ ABSL_GUARDED_BY(mu_);
};

}  // namespace modelmux
