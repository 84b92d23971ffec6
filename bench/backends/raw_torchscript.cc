// libtorch with nothing around it: torch::jit::load and forward, its pools at
// one thread as in the server. Texts are tokenized by the server's tokenizer
// (not libtorch's cost, so outside the timed forward).
#include <ATen/Parallel.h>
#include <c10/core/InferenceMode.h>
#include <torch/script.h>

#include <fstream>

#include "backends/raw_common.h"
#include "text/tokenizer.h"

namespace modelmux::bench {
namespace {

constexpr int kMaxTokens = 128;

std::vector<int64_t> Encode(const std::filesystem::path& dir, const std::string& text) {
  auto tokenizer = Tokenizer::Create(dir / "vocab.txt");
  if (!tokenizer.ok()) throw std::runtime_error(std::string(tokenizer.status().message()));
  return tokenizer->Encode(text, kMaxTokens);
}

at::Tensor Logits(torch::jit::Module& m, std::vector<int64_t> ids) {
  c10::InferenceMode guard;
  const auto n = static_cast<int64_t>(ids.size());
  return m.forward({torch::tensor(ids, torch::kInt64).view({n}), torch::zeros({1}, torch::kInt64)})
      .toTensor();
}

class TorchScriptKind final : public RawKind {
 public:
  explicit TorchScriptKind(const RawOptions& o) : ids_(Encode(o.dirs.front(), o.text)) {
    at::set_num_threads(1);
    at::set_num_interop_threads(1);
    torch::jit::getProfilingMode() = false;  // the server's executor (one warm-up run)
    ids_tensor_ = torch::tensor(ids_, torch::kInt64);
    offsets_ = torch::zeros({1}, torch::kInt64);
  }

  Loaded Load(const std::filesystem::path& dir) override {
    auto m = std::make_shared<torch::jit::Module>(torch::jit::load((dir / "model.pt").string(), torch::kCPU));
    m->eval();
    Forward(m);
    return m;
  }
  void Forward(const Loaded& model) override {
    c10::InferenceMode guard;
    static_cast<torch::jit::Module*>(model.get())->forward({ids_tensor_, offsets_});
  }

  double Score(const std::filesystem::path& dir, const std::filesystem::path& heldout) override {
    torch::jit::Module m = torch::jit::load((dir / "model.pt").string(), torch::kCPU);
    m.eval();
    std::vector<std::string> labels;
    std::ifstream in(dir / "labels.txt");
    for (std::string line; std::getline(in, line);) labels.push_back(line);
    auto tokenizer = Tokenizer::Create(dir / "vocab.txt");
    int right = 0;
    const std::vector<nlohmann::json> tickets = HeldoutLines(heldout, dir);
    for (const nlohmann::json& t : tickets) {
      const int64_t best =
          Logits(m, tokenizer->Encode(t["text"].get<std::string>(), kMaxTokens)).argmax().item<int64_t>();
      right += labels[best] == t["label"].get<std::string>();
    }
    return static_cast<double>(right) / tickets.size();
  }

 private:
  std::vector<int64_t> ids_;
  at::Tensor ids_tensor_, offsets_;
};

}  // namespace

std::unique_ptr<RawKind> NewTorchScriptKind(const RawOptions& options) {
  return std::make_unique<TorchScriptKind>(options);
}

}  // namespace modelmux::bench
