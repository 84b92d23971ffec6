#include "make_store/classifier_trainer.h"

#include <ATen/CPUGeneratorImpl.h>
#include <torch/torch.h>

#include <cmath>
#include <numeric>

#include "absl/strings/str_cat.h"

namespace modelmux::make_store {
namespace {

// The saved module's forward; the training loop computes the same thing.
constexpr char kForwardSource[] = R"JIT(
def forward(self, ids: Tensor, offsets: Tensor) -> Tensor:
    bag = torch.embedding_bag(self.embedding, ids, offsets, False, 1)[0]
    hidden = torch.relu(torch.linear(bag, self.hidden_weight, self.hidden_bias))
    return torch.linear(hidden, self.output_weight, self.output_bias)
)JIT";

struct Params {
  at::Tensor embedding, hidden_weight, hidden_bias, output_weight, output_bias;
  std::vector<at::Tensor> All() const {
    return {embedding, hidden_weight, hidden_bias, output_weight, output_bias};
  }
};

// Uniform(-1/sqrt(fan_in), 1/sqrt(fan_in)), as torch.nn.Linear initialises.
at::Tensor LinearInit(int64_t out, int64_t in, at::Generator& gen) {
  const double bound = 1.0 / std::sqrt(static_cast<double>(in));
  return (torch::rand({out, in}, gen) * 2 - 1) * bound;
}

Params InitParams(const TrainOptions& o, at::Generator& gen) {
  Params p;
  p.embedding = torch::randn({o.trained_rows, o.dim}, gen);  // as torch.nn.EmbeddingBag
  p.hidden_weight = LinearInit(o.hidden, o.dim, gen);
  p.hidden_bias = torch::zeros({o.hidden});
  p.output_weight = LinearInit(o.num_labels, o.hidden, gen);
  p.output_bias = torch::zeros({o.num_labels});
  for (at::Tensor& t : p.All()) t.set_requires_grad(true);
  return p;
}

at::Tensor Forward(const Params& p, const at::Tensor& ids, const at::Tensor& offsets) {
  at::Tensor bag = std::get<0>(torch::embedding_bag(p.embedding, ids, offsets, false, /*mode=mean*/ 1));
  at::Tensor hidden = torch::relu(torch::linear(bag, p.hidden_weight, p.hidden_bias));
  return torch::linear(hidden, p.output_weight, p.output_bias);
}

struct Batch {
  at::Tensor ids, offsets, labels;
};

Batch MakeBatch(const std::vector<EncodedTicket>& tickets, const std::vector<size_t>& order, size_t begin,
                size_t end) {
  std::vector<int64_t> ids, offsets, labels;
  for (size_t i = begin; i < end; ++i) {
    const EncodedTicket& t = tickets[order[i]];
    offsets.push_back(static_cast<int64_t>(ids.size()));
    ids.insert(ids.end(), t.ids.begin(), t.ids.end());
    labels.push_back(t.label);
  }
  auto to_tensor = [](const std::vector<int64_t>& v) {
    return torch::tensor(at::ArrayRef<int64_t>(v), torch::kLong);
  };
  return {to_tensor(ids), to_tensor(offsets), to_tensor(labels)};
}

void Train(const std::vector<EncodedTicket>& train, const TrainOptions& o, at::Generator& gen, Params& p) {
  torch::optim::AdamW optimizer(p.All(),
                                torch::optim::AdamWOptions(o.learning_rate).weight_decay(o.weight_decay));
  std::vector<size_t> order(train.size());
  std::iota(order.begin(), order.end(), 0);
  for (int epoch = 0; epoch < o.epochs; ++epoch) {
    at::Tensor perm = torch::randperm(static_cast<int64_t>(train.size()), gen, torch::kLong);
    const int64_t* shuffled = perm.data_ptr<int64_t>();
    for (size_t i = 0; i < order.size(); ++i) order[i] = static_cast<size_t>(shuffled[i]);
    for (size_t begin = 0; begin < order.size(); begin += o.batch_size) {
      const size_t end = std::min(order.size(), begin + o.batch_size);
      Batch batch = MakeBatch(train, order, begin, end);
      optimizer.zero_grad();
      at::Tensor loss = torch::cross_entropy_loss(Forward(p, batch.ids, batch.offsets), batch.labels);
      loss.backward();
      optimizer.step();
    }
  }
}

double Accuracy(const std::vector<EncodedTicket>& tickets, const Params& p) {
  if (tickets.empty()) return 0;
  torch::NoGradGuard no_grad;
  std::vector<size_t> order(tickets.size());
  std::iota(order.begin(), order.end(), 0);
  Batch batch = MakeBatch(tickets, order, 0, order.size());
  at::Tensor predicted = Forward(p, batch.ids, batch.offsets).argmax(1);
  return predicted.eq(batch.labels).sum().item<int64_t>() / static_cast<double>(tickets.size());
}

// Pads the embedding to the full vocabulary and writes the TorchScript module.
int64_t Save(const Params& p, const TrainOptions& o, at::Generator& gen, const std::filesystem::path& path) {
  torch::NoGradGuard no_grad;
  at::Tensor untrained = torch::randn({o.vocab_size - o.trained_rows, o.dim}, gen);
  torch::jit::Module module("TicketClassifier");
  const std::pair<const char*, at::Tensor> params[] = {
      {"embedding", torch::cat({p.embedding.detach(), untrained})},
      {"hidden_weight", p.hidden_weight.detach()},
      {"hidden_bias", p.hidden_bias.detach()},
      {"output_weight", p.output_weight.detach()},
      {"output_bias", p.output_bias.detach()},
  };
  int64_t bytes = 0;
  for (const auto& [name, value] : params) {
    module.register_parameter(name, value.contiguous(), /*is_buffer=*/false);
    bytes += value.numel() * static_cast<int64_t>(value.element_size());
  }
  module.define(kForwardSource);
  module.save(path.string());
  return bytes;
}

}  // namespace

void UseOneTorchThread() {
  at::set_num_threads(1);
  try {
    at::set_num_interop_threads(1);
  } catch (const std::exception&) {
    // Already started: only costs idle threads, training never uses it.
  }
}

absl::StatusOr<TrainResult> TrainAndSave(const std::vector<EncodedTicket>& train,
                                         const std::vector<EncodedTicket>& heldout,
                                         const TrainOptions& options,
                                         const std::filesystem::path& model_path) {
  if (options.trained_rows < 1 || options.trained_rows > options.vocab_size) {
    return absl::InvalidArgumentError("trained rows must be within the vocabulary");
  }
  try {
    at::Generator gen = at::make_generator<at::CPUGeneratorImpl>(options.seed);
    Params params = InitParams(options, gen);
    Train(train, options, gen, params);
    TrainResult result;
    result.heldout_accuracy = Accuracy(heldout, params);
    result.train_accuracy = Accuracy(train, params);
    result.parameter_bytes = Save(params, options, gen, model_path);
    return result;
  } catch (const std::exception& e) {
    return absl::InternalError(absl::StrCat("training for ", model_path.string(), " failed: ", e.what()));
  }
}

}  // namespace modelmux::make_store
