// modelmux-make-fault-models: test models that misbehave on purpose, built
// from a real tenant of a generated store (same vocabulary, labels and
// weights, so their answers can be checked against the tenant's):
//
//   <out>/<slow-name>/    the tenant's classifier plus `--slow-rounds` rounds of
//                         a 128x128 matrix product per forward call: the same
//                         answers, many times slower (the noisy neighbour)
//   <out>/<throws-name>/  the tenant's classifier, except that a forward call
//                         with more than 3 tokens raises an exception (the
//                         one-token warm-up passes, so it loads)
//
// Used by the fault tests (tests/integration/test_faults.py) and bench/faults.py.
#include <torch/script.h>
#include <torch/torch.h>

#include <cstdio>
#include <filesystem>
#include <string>

#include "CLI/CLI.hpp"

namespace {

namespace fs = std::filesystem;

// The forward of make_store's classifiers (classifier_trainer.cc), plus a
// burn loop whose result is added times zero so the answers do not change.
constexpr char kSlowForward[] = R"JIT(
def forward(self, ids: Tensor, offsets: Tensor) -> Tensor:
    x = self.burn_weight
    for _ in range(self.burn_rounds):
        x = torch.tanh(torch.mm(x, self.burn_weight))
    bag = torch.embedding_bag(self.embedding, ids, offsets, False, 1)[0]
    hidden = torch.relu(torch.linear(bag, self.hidden_weight, self.hidden_bias))
    return torch.linear(hidden, self.output_weight, self.output_bias) + x.sum() * 0.0
)JIT";

constexpr char kThrowingForward[] = R"JIT(
def forward(self, ids: Tensor, offsets: Tensor) -> Tensor:
    assert ids.size(0) <= 3, "tenant model failure: this test model refuses more than 3 tokens"
    bag = torch.embedding_bag(self.embedding, ids, offsets, False, 1)[0]
    hidden = torch.relu(torch.linear(bag, self.hidden_weight, self.hidden_bias))
    return torch.linear(hidden, self.output_weight, self.output_bias)
)JIT";

// A new module with the source's parameters (so `forward_source` may use
// them, and whatever `module` already holds).
torch::jit::Module WithForward(torch::jit::Module module, const torch::jit::Module& source,
                               const char* forward_source) {
  for (const auto& param : source.named_parameters(/*recurse=*/false)) {
    module.register_parameter(param.name, param.value.clone(), /*is_buffer=*/false);
  }
  module.define(forward_source);
  return module;
}

void CopyTextFiles(const fs::path& from, const fs::path& to) {
  fs::create_directories(to);
  for (const char* file : {"vocab.txt", "labels.txt", "config.json"}) {
    fs::copy_file(from / file, to / file, fs::copy_options::overwrite_existing);
  }
}

}  // namespace

int main(int argc, char** argv) {
  CLI::App app("Writes misbehaving test models built from a generated tenant");
  std::string source, out, slow_name = "slow-tenant", throws_name = "throwing-tenant";
  int64_t slow_rounds = 200;
  app.add_option("--source", source, "A tenant directory of a generated store")->required();
  app.add_option("--out", out, "Store directory to write into")->required();
  app.add_option("--slow-name", slow_name, "Name of the slow model");
  app.add_option("--throws-name", throws_name, "Name of the throwing model");
  app.add_option("--slow-rounds", slow_rounds, "128x128 matrix products per forward call")
      ->check(CLI::Range(int64_t{1}, int64_t{1} << 20));
  CLI11_PARSE(app, argc, argv);
  torch::set_num_threads(1);
  try {
    torch::NoGradGuard no_grad;
    const fs::path from(source);
    torch::jit::Module tenant = torch::jit::load((from / "model.pt").string());

    torch::jit::Module burner("SlowModel");
    burner.register_buffer("burn_weight", torch::full({128, 128}, 1.0 / 128));
    burner.register_attribute("burn_rounds", c10::IntType::get(), slow_rounds);
    torch::jit::Module slow = WithForward(burner, tenant, kSlowForward);
    CopyTextFiles(from, fs::path(out) / slow_name);
    slow.save((fs::path(out) / slow_name / "model.pt").string());

    torch::jit::Module throws = WithForward(torch::jit::Module("ThrowingModel"), tenant, kThrowingForward);
    CopyTextFiles(from, fs::path(out) / throws_name);
    throws.save((fs::path(out) / throws_name / "model.pt").string());
  } catch (const std::exception& e) {
    std::fprintf(stderr, "modelmux-make-fault-models: %s\n", e.what());
    return 1;
  }
  std::printf("wrote %s/%s and %s/%s\n", out.c_str(), slow_name.c_str(), out.c_str(), throws_name.c_str());
  return 0;
}
