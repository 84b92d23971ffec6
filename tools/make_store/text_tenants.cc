// The two kinds of ticket-classifier tenant: TorchScript (libtorch) and
// fastText, trained on the same tickets.
#include "absl/strings/str_cat.h"
#include "common/status_macros.h"
#include "make_store/classifier_trainer.h"
#include "make_store/fasttext_trainer.h"
#include "make_store/tenant_artifact.h"
#include "make_store/tenant_parts.h"
#include "text/tokenizer.h"

namespace modelmux::make_store {
namespace {

constexpr uint64_t kVocabPurpose = 10;
constexpr uint64_t kTrainPurpose = 12;
constexpr int kDefaultTopK = 3;

std::vector<EncodedTicket> Encode(const Tokenizer& tokenizer, const std::vector<Ticket>& tickets,
                                  int max_tokens) {
  std::vector<EncodedTicket> encoded;
  encoded.reserve(tickets.size());
  for (const Ticket& t : tickets) encoded.push_back({tokenizer.Encode(t.text, max_tokens), t.label});
  return encoded;
}

}  // namespace

absl::StatusOr<TenantReport> BuildTorchScriptTenant(int index, const TenantSpec& tenant,
                                                    const StoreOptions& o) {
  ASSIGN_OR_RETURN(std::vector<std::string> vocab,
                   BuildVocabulary(tenant, o.vocab, DeriveSeed(o.seed, index, kVocabPurpose)));
  ASSIGN_OR_RETURN(const ArtifactPlace place, PrepareArtifact(tenant.name, o));
  const ArtifactOptions artifact{o.max_tokens, kDefaultTopK, o.seed, o.vocab, o.dim, o.hidden};
  RETURN_IF_ERROR(WriteTenantFiles(place.dir, tenant, vocab, artifact));

  // Tokenize exactly as the server will: with its tokenizer, from the file written.
  ASSIGN_OR_RETURN(Tokenizer tokenizer, Tokenizer::Create(place.dir / "vocab.txt"));
  const TicketSplit split = TenantTickets(index, tenant, o);
  const std::vector<EncodedTicket> train = Encode(tokenizer, split.train, o.max_tokens);
  const std::vector<EncodedTicket> heldout = Encode(tokenizer, split.heldout, o.max_tokens);

  TrainOptions train_options;
  train_options.vocab_size = o.vocab;
  train_options.trained_rows = static_cast<int64_t>(tenant.words.size()) + 1;
  train_options.dim = o.dim;
  train_options.hidden = o.hidden;
  train_options.num_labels = static_cast<int>(tenant.macros.size());
  train_options.epochs = o.epochs;
  train_options.seed = DeriveSeed(o.seed, index, kTrainPurpose);
  ASSIGN_OR_RETURN(TrainResult trained, TrainAndSave(train, heldout, train_options, place.dir / "model.pt"));

  RETURN_IF_ERROR(FinishArtifact(place));
  RETURN_IF_ERROR(WriteHeldout(o.heldout_dir / (tenant.name + ".jsonl"), tenant, split.heldout));
  TenantReport report;
  report.name = tenant.name;
  report.vertical = std::string(tenant.vertical->slug);
  report.backend = "torchscript";
  report.labels = train_options.num_labels;
  report.train_tickets = static_cast<int>(train.size());
  report.heldout_tickets = static_cast<int>(heldout.size());
  report.accuracy = trained.heldout_accuracy;
  report.train_accuracy = trained.train_accuracy;
  report.model_bytes = trained.parameter_bytes;
  return report;
}

absl::StatusOr<TenantReport> BuildFastTextTenant(int index, const TenantSpec& tenant, const StoreOptions& o) {
  ASSIGN_OR_RETURN(const ArtifactPlace place, PrepareArtifact(tenant.name, o));
  const TicketSplit split = TenantTickets(index, tenant, o);
  std::vector<std::string> labels;
  for (const Macro& m : tenant.macros) labels.push_back(m.name);
  FastTextTrainOptions train_options;
  train_options.dim = o.fasttext_dim;
  train_options.epochs = o.fasttext_epochs;
  train_options.buckets = o.fasttext_buckets;
  train_options.quantize = o.fasttext_quantize;
  train_options.seed = DeriveSeed(o.seed, index, kTrainPurpose);
  ASSIGN_OR_RETURN(const FastTextTrainResult trained,
                   TrainFastText(split.train, split.heldout, labels, train_options, place.dir));
  const ArtifactOptions artifact{o.max_tokens, kDefaultTopK, o.seed, 0, o.fasttext_dim, 0};
  RETURN_IF_ERROR(WriteFastTextFiles(place.dir, tenant, artifact, o.fasttext_quantize));

  RETURN_IF_ERROR(FinishArtifact(place));
  RETURN_IF_ERROR(WriteHeldout(o.heldout_dir / (tenant.name + ".jsonl"), tenant, split.heldout));
  TenantReport report;
  report.name = tenant.name;
  report.vertical = std::string(tenant.vertical->slug);
  report.backend = "fasttext";
  report.labels = static_cast<int>(labels.size());
  report.train_tickets = static_cast<int>(split.train.size());
  report.heldout_tickets = static_cast<int>(split.heldout.size());
  report.accuracy = trained.heldout_accuracy;
  report.train_accuracy = trained.train_accuracy;
  report.model_bytes = trained.model_bytes;
  return report;
}

}  // namespace modelmux::make_store
