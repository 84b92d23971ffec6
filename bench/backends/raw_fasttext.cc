// fastText with nothing around it: FastText::loadModel and predictLine, the
// calls a program using libfasttext makes.
#include <fasttext/fasttext.h>

#include <sstream>

#include "backends/raw_common.h"

namespace modelmux::bench {
namespace {

std::filesystem::path ModelFile(const std::filesystem::path& dir) {
  return std::filesystem::exists(dir / "model.ftz") ? dir / "model.ftz" : dir / "model.bin";
}

std::string Line(std::string text) {
  for (char& c : text) c = c == '\n' ? ' ' : c;
  return text + "\n";
}

class FastTextKind final : public RawKind {
 public:
  explicit FastTextKind(const RawOptions& o) : line_(Line(o.text)) {}

  Loaded Load(const std::filesystem::path& dir) override {
    auto model = std::make_shared<fasttext::FastText>();
    model->loadModel(ModelFile(dir).string());
    Predict(*model, line_, 1);
    return model;
  }
  void Forward(const Loaded& model) override {
    Predict(*static_cast<fasttext::FastText*>(model.get()), line_, 3);
  }

  double Score(const std::filesystem::path& dir, const std::filesystem::path& heldout) override {
    fasttext::FastText model;
    model.loadModel(ModelFile(dir).string());
    int right = 0;
    const std::vector<nlohmann::json> tickets = HeldoutLines(heldout, dir);
    for (const nlohmann::json& t : tickets) {
      const auto top = Predict(model, Line(t["text"]), 1);
      right += !top.empty() && top[0].second == "__label__" + t["label"].get<std::string>();
    }
    return static_cast<double>(right) / tickets.size();
  }

 private:
  static std::vector<std::pair<fasttext::real, std::string>> Predict(const fasttext::FastText& model,
                                                                     const std::string& line, int k) {
    std::istringstream in(line);
    std::vector<std::pair<fasttext::real, std::string>> out;
    model.predictLine(in, out, k, 0.0f);
    return out;
  }

  const std::string line_;
};

}  // namespace

std::unique_ptr<RawKind> NewFastTextKind(const RawOptions& options) {
  return std::make_unique<FastTextKind>(options);
}

}  // namespace modelmux::bench
