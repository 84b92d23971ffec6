#include "make_store/tenant_builder.h"

#include <cmath>

#include "absl/strings/str_cat.h"
#include "common/status_macros.h"
#include "make_store/classifier_trainer.h"
#include "make_store/synthetic_tenant.h"
#include "make_store/tenant_artifact.h"
#include "text/tokenizer.h"

namespace modelmux::make_store {
namespace {

namespace fs = std::filesystem;

constexpr uint64_t kVocabPurpose = 10;
constexpr uint64_t kTicketPurpose = 11;
constexpr uint64_t kTrainPurpose = 12;

struct Split {
  std::vector<Ticket> train, heldout;
};

// The first tickets of each label (they come shuffled) are held out, so every
// label is tested.
Split SplitTickets(std::vector<Ticket> tickets, int labels, int per_label, double fraction) {
  const int heldout_per_label = std::max(1, static_cast<int>(std::ceil(per_label * fraction)));
  std::vector<int> held(labels, 0);
  Split split;
  for (Ticket& t : tickets) {
    auto& to = held[t.label] < heldout_per_label ? split.heldout : split.train;
    if (&to == &split.heldout) ++held[t.label];
    to.push_back(std::move(t));
  }
  return split;
}

std::vector<EncodedTicket> Encode(const Tokenizer& tokenizer, const std::vector<Ticket>& tickets,
                                  int max_tokens) {
  std::vector<EncodedTicket> encoded;
  encoded.reserve(tickets.size());
  for (const Ticket& t : tickets) encoded.push_back({tokenizer.Encode(t.text, max_tokens), t.label});
  return encoded;
}

absl::Status PrepareDir(const fs::path& dir) {
  std::error_code ec;
  fs::remove_all(dir, ec);
  if (!ec) fs::create_directories(dir, ec);
  if (ec) return absl::InternalError(absl::StrCat("cannot create ", dir.string(), ": ", ec.message()));
  return absl::OkStatus();
}

}  // namespace

std::string TenantName(int index, const StoreOptions& o) {
  return MakeTenant(index, {o.seed, o.labels_min, o.labels_max}).name;
}

absl::StatusOr<TenantReport> BuildTenant(int index, const StoreOptions& o) {
  const TenantSpec tenant = MakeTenant(index, {o.seed, o.labels_min, o.labels_max});
  ASSIGN_OR_RETURN(std::vector<std::string> vocab,
                   BuildVocabulary(tenant, o.vocab, DeriveSeed(o.seed, index, kVocabPurpose)));

  // An archive is assembled in a hidden staging directory (not a valid model
  // name, so a store never lists it) and packed when complete.
  const fs::path final_dir = o.out / tenant.name;
  const fs::path archive = o.out / (tenant.name + ".tar.gz");
  const fs::path dir = o.archive ? o.out / ("." + tenant.name + ".staging") : final_dir;
  std::error_code ec;
  // Only one form of a tenant may exist, or a store would see the name twice.
  if (o.archive) {
    fs::remove_all(final_dir, ec);
  } else {
    fs::remove(archive, ec);
  }
  RETURN_IF_ERROR(PrepareDir(dir));
  const ArtifactOptions artifact{o.max_tokens, 3, o.seed, o.vocab, o.dim, o.hidden};
  RETURN_IF_ERROR(WriteTenantFiles(dir, tenant, vocab, artifact));

  // Tokenize exactly as the server will: with its tokenizer, from the file written.
  ASSIGN_OR_RETURN(Tokenizer tokenizer, Tokenizer::Create(dir / "vocab.txt"));
  const int labels = static_cast<int>(tenant.macros.size());
  Split split =
      SplitTickets(MakeTickets(tenant, o.tickets_per_label, DeriveSeed(o.seed, index, kTicketPurpose)),
                   labels, o.tickets_per_label, o.heldout_fraction);
  const std::vector<EncodedTicket> train = Encode(tokenizer, split.train, o.max_tokens);
  const std::vector<EncodedTicket> heldout = Encode(tokenizer, split.heldout, o.max_tokens);

  TrainOptions train_options;
  train_options.vocab_size = o.vocab;
  train_options.trained_rows = static_cast<int64_t>(tenant.words.size()) + 1;
  train_options.dim = o.dim;
  train_options.hidden = o.hidden;
  train_options.num_labels = labels;
  train_options.epochs = o.epochs;
  train_options.seed = DeriveSeed(o.seed, index, kTrainPurpose);
  ASSIGN_OR_RETURN(TrainResult trained, TrainAndSave(train, heldout, train_options, dir / "model.pt"));

  if (o.archive) {
    RETURN_IF_ERROR(WriteTarGz(dir, archive));
    fs::remove_all(dir, ec);
  }
  RETURN_IF_ERROR(WriteHeldout(o.heldout_dir / (tenant.name + ".jsonl"), tenant, split.heldout));
  return TenantReport{tenant.name,
                      std::string(tenant.vertical->slug),
                      labels,
                      static_cast<int>(train.size()),
                      static_cast<int>(heldout.size()),
                      trained.heldout_accuracy,
                      trained.train_accuracy,
                      trained.parameter_bytes};
}

}  // namespace modelmux::make_store
