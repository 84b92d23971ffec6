// modelmux-make-tensor-model: writes a small TorchScript tensor model (the
// KServe V2 "tensor" task) that takes and returns one tensor of each datatype
// libtorch serves, for the protocol tests (tests/integration/test_grpc.py):
//
//   inputs   x FP32 [-1, 3], k INT64 [1], n INT32 [-1], w FP64 [3], flags BOOL [-1]
//   outputs  y = x * 2 + k          FP32 [-1, 3]
//            total = sum(y * w, 1)  FP64 [-1]
//            n2 = n * 2             INT32 [-1]
//            not_flags = !flags     BOOL [-1]
//            best = argmax(y, 1)    INT64 [-1]
#include <torch/script.h>
#include <torch/torch.h>

#include <cstdio>
#include <filesystem>
#include <fstream>
#include <string>

#include "CLI/CLI.hpp"

namespace {

constexpr char kForward[] = R"JIT(
def forward(self, x: Tensor, k: Tensor, n: Tensor, w: Tensor, flags: Tensor) -> Tuple[Tensor, Tensor, Tensor, Tensor, Tensor]:
    y = x * 2.0 + k.float()
    total = (y.double() * w).sum(1)
    return y, total, n * 2, torch.logical_not(flags), torch.argmax(y, 1)
)JIT";

constexpr char kConfig[] = R"({"backend": "torchscript", "task": "tensor",
 "inputs": [{"name": "x", "datatype": "FP32", "shape": [-1, 3]},
            {"name": "k", "datatype": "INT64", "shape": [1]},
            {"name": "n", "datatype": "INT32", "shape": [-1]},
            {"name": "w", "datatype": "FP64", "shape": [3]},
            {"name": "flags", "datatype": "BOOL", "shape": [-1]}],
 "outputs": [{"name": "y", "datatype": "FP32", "shape": [-1, 3]},
             {"name": "total", "datatype": "FP64", "shape": [-1]},
             {"name": "n2", "datatype": "INT32", "shape": [-1]},
             {"name": "not_flags", "datatype": "BOOL", "shape": [-1]},
             {"name": "best", "datatype": "INT64", "shape": [-1]}]}
)";

}  // namespace

int main(int argc, char** argv) {
  CLI::App app("Writes a small TorchScript tensor model with one tensor of each datatype");
  std::string out;
  app.add_option("--out", out, "Model directory to write (config.json, model.pt)")->required();
  CLI11_PARSE(app, argc, argv);
  try {
    const std::filesystem::path dir(out);
    std::filesystem::create_directories(dir);
    torch::jit::Module module("MixedTensors");
    module.define(kForward);
    module.save((dir / "model.pt").string());
    std::ofstream(dir / "config.json") << kConfig;
  } catch (const std::exception& e) {
    std::fprintf(stderr, "modelmux-make-tensor-model: %s\n", e.what());
    return 1;
  }
  std::printf("wrote %s\n", out.c_str());
  return 0;
}
