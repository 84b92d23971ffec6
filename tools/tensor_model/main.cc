// modelmux-make-tensor-model: writes a small TorchScript tensor model (the
// "tensor" task of config.json) into a store, for the tests of the tensor
// routes (KServe V2 JSON, binary and gRPC; SageMaker Runtime). Each forward is
// simple enough for a test to compute the expected answer.
//
// --kind small (the default):
//   inputs   x FP32 [-1, 3], k INT64 [1]
//   outputs  y        FP32  [-1, 3]  x * 2 + k
//            total    FP64  [-1]     the row sums of y
//            positive BOOL  [-1, 3]  x > 0
//            count    INT32 [-1]     the number of positive values per row
//   A negative k makes the forward raise (a model failure, for the error
//   tests). With --slow-rounds N, every forward first runs N products of a
//   128x128 matrix (a slow model, for the throttling and loading tests; the
//   warm-up forward makes its load slow too).
//
// --kind all-types: one tensor of each datatype libtorch serves
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

namespace fs = std::filesystem;

constexpr char kSmallForward[] = R"JIT(
def forward(self, x: Tensor, k: Tensor) -> Tuple[Tensor, Tensor, Tensor, Tensor]:
    assert bool((k >= 0).all()), "tensor test model: k must not be negative"
    w = self.burn
    for _ in range(self.burn_rounds):
        w = torch.tanh(torch.mm(w, self.burn))
    y = x * 2.0 + k.float() + w.sum().float() * 0.0
    positive = x > 0
    return y, y.double().sum(1), positive, positive.int().sum(1)
)JIT";

constexpr char kSmallConfig[] = R"({"backend": "torchscript", "task": "tensor",
 "inputs":  [{"name": "x", "datatype": "FP32", "shape": [-1, 3]},
             {"name": "k", "datatype": "INT64", "shape": [1]}],
 "outputs": [{"name": "y", "datatype": "FP32", "shape": [-1, 3]},
             {"name": "total", "datatype": "FP64", "shape": [-1]},
             {"name": "positive", "datatype": "BOOL", "shape": [-1, 3]},
             {"name": "count", "datatype": "INT32", "shape": [-1]}]}
)";

constexpr char kAllTypesForward[] = R"JIT(
def forward(self, x: Tensor, k: Tensor, n: Tensor, w: Tensor, flags: Tensor) -> Tuple[Tensor, Tensor, Tensor, Tensor, Tensor]:
    y = x * 2.0 + k.float()
    total = (y.double() * w).sum(1)
    return y, total, n * 2, torch.logical_not(flags), torch.argmax(y, 1)
)JIT";

constexpr char kAllTypesConfig[] = R"({"backend": "torchscript", "task": "tensor",
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
  CLI::App app("Writes a small TorchScript tensor model for tests");
  std::string out, name = "tensor-model", kind = "small";
  int64_t slow_rounds = 0;
  app.add_option("--out", out, "Store directory to write into")->required();
  app.add_option("--name", name, "Name of the model");
  app.add_option("--kind", kind, "small (x, k) or all-types (one tensor of each datatype)")
      ->check(CLI::IsMember({"small", "all-types"}));
  app.add_option("--slow-rounds", slow_rounds, "128x128 matrix products per forward call (0: none; small only)")
      ->check(CLI::Range(int64_t{0}, int64_t{1} << 20));
  CLI11_PARSE(app, argc, argv);
  if (kind != "small" && slow_rounds != 0) {
    std::fprintf(stderr, "modelmux-make-tensor-model: --slow-rounds applies to --kind small only\n");
    return 2;
  }
  try {
    const fs::path dir = fs::path(out) / name;
    fs::create_directories(dir);
    torch::NoGradGuard no_grad;
    torch::jit::Module module("TensorModel");
    if (kind == "small") {
      module.register_buffer("burn", torch::full({128, 128}, 1.0 / 128));
      module.register_attribute("burn_rounds", c10::IntType::get(), slow_rounds);
      module.define(kSmallForward);
    } else {
      module.define(kAllTypesForward);
    }
    module.save((dir / "model.pt").string());
    std::ofstream(dir / "config.json") << (kind == "small" ? kSmallConfig : kAllTypesConfig);
  } catch (const std::exception& e) {
    std::fprintf(stderr, "modelmux-make-tensor-model: %s\n", e.what());
    return 1;
  }
  std::printf("wrote %s/%s\n", out.c_str(), name.c_str());
  return 0;
}
