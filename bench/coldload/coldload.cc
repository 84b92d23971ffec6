// modelmux-bench-coldload: a local cold load of a TorchScript model against
// the cost of its bytes (issue 15, bench/coldload.sh). For each model
// directory, in one process, on one thread, with the server's allocator
// (jemalloc and its options), its files already in the page cache (read once,
// untimed), and every step run once per round, rounds interleaved:
//   floor         read model.pt into a buffer that is already faulted in and
//                 reused: what the bytes cost from the page cache;
//   floor, fresh  the same into freshly allocated memory (malloc, read, free):
//                 the floor plus the page faults of new memory;
//   floor, huge   the same into a fresh mapping advised to use transparent
//                 huge pages (what the loader's buffer costs);
//   jit::load     torch::jit::load(path) + eval, as the backend did before;
//   loader        ModuleLoader::Load (module_loader.h) of a model whose code a
//                 live module shares: one read into a huge-page buffer, the
//                 tensors in place, no compilation;
//   loader, first ModuleLoader::Load of a model whose code no live module
//                 shares (a fresh loader): the same, its code compiled;
//   + freeze      the backend's --torchscript-freeze path: a loader that does
//                 not share code (each model compiled for itself, tensors in
//                 place), then FreezeForInference (torch::jit::freeze +
//                 optimize_for_inference);
// each also timed with its first forward (the graph executor optimises the
// graph on the first run, which the backend's warm-up pays at load). Then the
// backend's whole Load (module, vocabulary, labels, warm-up) with and without
// freezing, against the floor of all of the artifact's files, and the
// tokenizer's build from vocab.txt alone; and the warm
// forward of one text (loadgen's default ticket) before and after freezing.
// What a step made (memory, a module, a model) is released after its clock
// stops: loads are timed, not the unloads that follow. Medians; prints JSON.
#include <ATen/Parallel.h>
#include <c10/core/InferenceMode.h>
#include <fcntl.h>
#include <sys/mman.h>
#include <time.h>
#include <torch/script.h>
#include <unistd.h>

#include <algorithm>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <functional>
#include <map>
#include <stdexcept>
#include <string>
#include <vector>

#include "CLI/CLI.hpp"
#include "backend/model_config.h"
#include "backends/torchscript/module_loader.h"
#include "backends/torchscript/torchscript_backend.h"
#include "loadgen/request_builder.h"
#include "nlohmann/json.hpp"
#include "text/tokenizer.h"

namespace {

namespace fs = std::filesystem;

int64_t Ns() {
  timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return int64_t{ts.tv_sec} * 1'000'000'000 + ts.tv_nsec;
}

double Median(std::vector<double> v) {
  std::sort(v.begin(), v.end());
  const size_t n = v.size();
  return n % 2 == 1 ? v[n / 2] : (v[n / 2 - 1] + v[n / 2]) / 2;
}

// Reads `path` into `out` (which must hold its size); returns the bytes read.
size_t ReadInto(const std::string& path, char* out, size_t capacity) {
  const int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) throw std::runtime_error("cannot open " + path);
  size_t done = 0;
  while (done < capacity) {
    const ssize_t n = ::read(fd, out + done, capacity - done);
    if (n <= 0) break;
    done += static_cast<size_t>(n);
  }
  ::close(fd);
  return done;
}

struct Inputs {
  torch::Tensor ids, offsets;
};

Inputs TicketInputs(const std::string& dir) {
  auto tokenizer = modelmux::Tokenizer::Create(dir + "/vocab.txt");
  if (!tokenizer.ok()) throw std::runtime_error(std::string(tokenizer.status().message()));
  std::vector<int64_t> ids = tokenizer->Encode(modelmux::loadgen::kDefaultText, 128);
  return {torch::tensor(ids, torch::kInt64), torch::zeros({1}, torch::kInt64)};
}

at::Tensor Forward(torch::jit::Module& m, const Inputs& in) {
  c10::InferenceMode guard;
  return m.forward({in.ids, in.offsets}).toTensor();
}

torch::jit::Module Eval(torch::jit::Module m) {
  m.eval();
  return m;
}

// Median microseconds per forward over `calls` calls (after 200 untimed).
double ForwardUs(torch::jit::Module& m, const Inputs& in, int calls) {
  for (int i = 0; i < 200; ++i) Forward(m, in);
  std::vector<double> us;
  us.reserve(calls);
  for (int i = 0; i < calls; ++i) {
    const int64_t t0 = Ns();
    Forward(m, in);
    us.push_back((Ns() - t0) / 1e3);
  }
  return Median(us);
}

nlohmann::json BenchModel(const std::string& dir, int rounds, int forward_calls) {
  // First: the backend selects the legacy graph executor, as in the server,
  // before any graph here runs.
  std::unique_ptr<modelmux::Backend> plain_backend = modelmux::NewTorchScriptBackend();
  std::unique_ptr<modelmux::Backend> freezing_backend = modelmux::NewTorchScriptBackend({.freeze = true});
  const std::string model_pt = dir + "/model.pt";
  std::vector<std::string> files;
  size_t all_bytes = 0;
  for (const auto& entry : fs::directory_iterator(dir)) {
    if (!entry.is_regular_file()) continue;
    files.push_back(entry.path().string());
    all_bytes += entry.file_size();
  }
  const size_t model_bytes = fs::file_size(model_pt);
  std::vector<char> reused(all_bytes);
  for (const std::string& f : files) ReadInto(f, reused.data(), reused.size());  // into the page cache

  std::string config_text;
  {
    std::ifstream in(dir + "/config.json");
    config_text.assign(std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>());
  }
  absl::StatusOr<modelmux::ModelConfig> config = modelmux::ParseModelConfig(config_text);
  if (!config.ok()) throw std::runtime_error(std::string(config.status().message()));
  const Inputs in = TicketInputs(dir);

  // Outputs of every way to load, against torch::jit::load's.
  torch::jit::Module reference = Eval(torch::jit::load(model_pt));
  const at::Tensor want = Forward(reference, in);
  modelmux::ModuleLoader shared_loader;
  torch::jit::Module anchor = Eval(shared_loader.Load(model_pt));  // keeps the code's unit alive
  Forward(anchor, in);
  bool shared = false;
  torch::jit::Module in_place = Eval(shared_loader.Load(model_pt, &shared));
  if (!shared) throw std::runtime_error("the loader did not share code between two loads of " + model_pt);
  torch::jit::Module frozen = modelmux::FreezeForInference(reference);
  const double in_place_diff = (Forward(in_place, in) - want).abs().max().item<double>();
  const double frozen_diff = (Forward(frozen, in) - want).abs().max().item<double>();

  auto backend_anchor = plain_backend->Load(dir, *config);  // as a server holding another tenant of this code
  if (!backend_anchor.ok()) throw std::runtime_error(std::string(backend_anchor.status().message()));

  // Each step returns what it made (memory, a module, a model), released
  // after the clock stops: a load is timed, not the unload that follows.
  using Made = std::shared_ptr<void>;
  using Step = std::function<Made()>;
  auto keep = [](torch::jit::Module m) -> Made { return std::make_shared<torch::jit::Module>(std::move(m)); };
  std::vector<std::pair<std::string, Step>> steps = {
      {"floor",
       [&] {
         ReadInto(model_pt, reused.data(), model_bytes);
         return Made();
       }},
      {"floor_fresh",
       [&] {
         char* p = static_cast<char*>(std::malloc(model_bytes));
         ReadInto(model_pt, p, model_bytes);
         return Made(p, std::free);
       }},
      {"floor_huge_pages",
       [&] {
         // What the loader's buffer costs: a 2 MiB-aligned mapping advised
         // to use huge pages, read into, unmapped.
         constexpr size_t kHuge = size_t{2} << 20;
         const size_t length = (model_bytes + 4095) / 4096 * 4096;
         char* raw = static_cast<char*>(
             mmap(nullptr, length + kHuge, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0));
         if (raw == MAP_FAILED) throw std::runtime_error("mmap failed");
         char* aligned =
             reinterpret_cast<char*>((reinterpret_cast<uintptr_t>(raw) + kHuge - 1) / kHuge * kHuge);
         madvise(aligned, length, MADV_HUGEPAGE);
         ReadInto(model_pt, aligned, model_bytes);
         return Made(raw, [length](void* q) { munmap(q, length + kHuge); });
       }},
      {"floor_all_files",
       [&] {
         size_t at = 0;
         for (const std::string& f : files) at += ReadInto(f, reused.data() + at, reused.size() - at);
         return Made();
       }},
      {"jit_load", [&] { return keep(Eval(torch::jit::load(model_pt))); }},
      {"jit_load_forward",
       [&] {
         torch::jit::Module m = Eval(torch::jit::load(model_pt));
         Forward(m, in);
         return keep(m);
       }},
      {"loader", [&] { return keep(Eval(shared_loader.Load(model_pt))); }},
      {"loader_forward",
       [&] {
         torch::jit::Module m = Eval(shared_loader.Load(model_pt));
         Forward(m, in);
         return keep(m);
       }},
      {"loader_first",
       [&] {
         modelmux::ModuleLoader fresh;
         return keep(Eval(fresh.Load(model_pt)));
       }},
      {"freeze",
       [&] {
         modelmux::ModuleLoader own(/*share_code=*/false);
         return keep(modelmux::FreezeForInference(Eval(own.Load(model_pt))));
       }},
      {"freeze_forward",
       [&] {
         modelmux::ModuleLoader own(/*share_code=*/false);
         torch::jit::Module m = modelmux::FreezeForInference(Eval(own.Load(model_pt)));
         Forward(m, in);
         return keep(m);
       }},
      {"tokenizer",
       [&] {
         // The part of a text model's load outside libtorch: vocab.txt into
         // the tokenizer (the backend does it on a thread of its own).
         auto tokenizer = modelmux::Tokenizer::Create(dir + "/vocab.txt");
         if (!tokenizer.ok()) throw std::runtime_error("bad vocab.txt");
         return Made(std::make_shared<modelmux::Tokenizer>(*std::move(tokenizer)));
       }},
      {"backend_load",
       [&] {
         auto model = plain_backend->Load(dir, *config);
         if (!model.ok()) throw std::runtime_error("backend load failed");
         return Made(std::shared_ptr<modelmux::Model>(*std::move(model)));
       }},
      {"backend_load_freeze",
       [&] {
         auto model = freezing_backend->Load(dir, *config);
         if (!model.ok()) throw std::runtime_error("backend load failed");
         return Made(std::shared_ptr<modelmux::Model>(*std::move(model)));
       }},
  };
  std::map<std::string, std::vector<double>> us;
  for (auto& [name, step] : steps) step();  // untimed: one-time costs of each path
  for (int r = 0; r < rounds; ++r) {
    for (auto& [name, step] : steps) {
      const int64_t t0 = Ns();
      Made made = step();
      us[name].push_back((Ns() - t0) / 1e3);
    }
  }
  nlohmann::json out = {{"dir", dir},
                        {"model_pt_bytes", model_bytes},
                        {"artifact_bytes", all_bytes},
                        {"rounds", rounds},
                        {"max_abs_diff_in_place", in_place_diff},
                        {"max_abs_diff_frozen", frozen_diff},
                        {"tokens", in.ids.numel()}};
  for (auto& [name, samples] : us) out["median_us"][name] = Median(samples);
  const double floor = out["median_us"]["floor"];
  const double floor_all = out["median_us"]["floor_all_files"];
  for (auto& [name, samples] : us) {
    out["ratio_to_floor"][name] = Median(samples) / (name.starts_with("backend") ? floor_all : floor);
  }
  // The warm forward, before and after freezing, alternated in blocks.
  std::vector<double> plain_us, frozen_us;
  for (int block = 0; block < 5; ++block) {
    plain_us.push_back(ForwardUs(reference, in, forward_calls / 5));
    frozen_us.push_back(ForwardUs(frozen, in, forward_calls / 5));
  }
  out["forward_us"] = {{"plain", Median(plain_us)}, {"frozen", Median(frozen_us)}};
  return out;
}

}  // namespace

int main(int argc, char** argv) {
  CLI::App app{"modelmux-bench-coldload: local cold loads of TorchScript models against the byte floor"};
  std::vector<std::string> models;
  int rounds = 40;
  int forward_calls = 20000;
  app.add_option("models", models, "Model directories (config.json, model.pt, vocab.txt, labels.txt)")
      ->required();
  app.add_option("--rounds", rounds, "Rounds of every step")->capture_default_str();
  app.add_option("--forward-calls", forward_calls, "Timed forward calls per module")->capture_default_str();
  CLI11_PARSE(app, argc, argv);
  modelmux::ConfigureTorchThreads();
  try {
    nlohmann::json out = nlohmann::json::array();
    for (const std::string& dir : models) out.push_back(BenchModel(dir, rounds, forward_calls));
    std::printf("%s\n", out.dump(2).c_str());
  } catch (const std::exception& e) {
    std::fprintf(stderr, "modelmux-bench-coldload: %s\n", e.what());
    return 1;
  }
  return 0;
}
