#include "make_store/fasttext_trainer.h"

#include <fasttext/fasttext.h>

#include <fstream>
#include <sstream>

#include "absl/strings/str_cat.h"

namespace modelmux::make_store {
namespace {

constexpr char kLabelPrefix[] = "__label__";

// One ticket as one line of fastText input: line breaks become spaces.
std::string Line(const std::string& text) {
  std::string line = text;
  for (char& c : line) c = c == '\n' ? ' ' : c;
  return line + "\n";
}

absl::Status WriteTrainingFile(const std::filesystem::path& path, const std::vector<Ticket>& tickets,
                               const std::vector<std::string>& labels) {
  std::ofstream out(path, std::ios::binary | std::ios::trunc);
  for (const Ticket& t : tickets) out << kLabelPrefix << labels[t.label] << ' ' << Line(t.text);
  out.close();
  if (!out) return absl::InternalError(absl::StrCat("cannot write ", path.string()));
  return absl::OkStatus();
}

double Accuracy(const fasttext::FastText& model, const std::vector<Ticket>& tickets,
                const std::vector<std::string>& labels) {
  if (tickets.empty()) return 0;
  int right = 0;
  std::vector<std::pair<fasttext::real, std::string>> top;
  for (const Ticket& t : tickets) {
    std::istringstream in(Line(t.text));
    model.predictLine(in, top, 1, 0.0f);
    right += !top.empty() && top[0].second == kLabelPrefix + labels[t.label];
  }
  return static_cast<double>(right) / tickets.size();
}

fasttext::Args TrainingArgs(const FastTextTrainOptions& o, const std::filesystem::path& input) {
  fasttext::Args args;
  args.input = input.string();
  args.model = fasttext::model_name::sup;
  args.loss = fasttext::loss_name::softmax;
  args.thread = 1;  // deterministic, and no threads of its own
  args.verbose = 0;
  args.dim = o.dim;
  args.epoch = o.epochs;
  args.lr = o.learning_rate;
  args.wordNgrams = o.word_ngrams;
  args.minn = o.min_char_ngram;
  args.maxn = o.max_char_ngram;
  args.bucket = o.buckets;
  args.minCount = 1;
  args.seed = static_cast<int>(o.seed & 0x7fffffff);
  return args;
}

}  // namespace

absl::StatusOr<FastTextTrainResult> TrainFastText(const std::vector<Ticket>& train,
                                                  const std::vector<Ticket>& heldout,
                                                  const std::vector<std::string>& labels,
                                                  const FastTextTrainOptions& options,
                                                  const std::filesystem::path& dir) {
  // A dot file: not part of the artifact, removed below.
  const std::filesystem::path input = dir / ".fasttext-train.txt";
  if (absl::Status written = WriteTrainingFile(input, train, labels); !written.ok()) return written;
  FastTextTrainResult result;
  fasttext::FastText model;
  try {
    model.train(TrainingArgs(options, input));
    if (options.quantize) {
      fasttext::Args quantize;
      quantize.input = input.string();
      quantize.qnorm = true;
      quantize.dsub = 2;
      quantize.cutoff = options.quantize_cutoff;
      quantize.thread = 1;
      quantize.verbose = 0;
      model.quantize(quantize);
    }
    result.model_path = dir / (options.quantize ? "model.ftz" : "model.bin");
    model.saveModel(result.model_path.string());
  } catch (const std::exception& e) {
    std::filesystem::remove(input);
    return absl::InternalError(absl::StrCat("fastText training failed: ", e.what()));
  }
  std::filesystem::remove(input);
  result.heldout_accuracy = Accuracy(model, heldout, labels);
  result.train_accuracy = Accuracy(model, train, labels);
  result.model_bytes = static_cast<int64_t>(std::filesystem::file_size(result.model_path));
  return result;
}

}  // namespace modelmux::make_store
