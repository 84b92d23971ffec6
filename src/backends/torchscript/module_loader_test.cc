#include "backends/torchscript/module_loader.h"

#include <gtest/gtest.h>
#include <torch/script.h>

#include <atomic>
#include <filesystem>
#include <fstream>
#include <string>
#include <thread>
#include <vector>

namespace modelmux {
namespace {

namespace fs = std::filesystem;

// forward(x) = head(encoder(x)): a module with a submodule, so that sharing
// covers more than one class.
constexpr char kEncoderForward[] = R"JIT(
def forward(self, x: Tensor) -> Tensor:
    return torch.relu(torch.linear(x, self.weight, self.bias))
)JIT";
constexpr char kHeadForward[] = R"JIT(
def forward(self, x: Tensor) -> Tensor:
    return torch.linear(self.encoder.forward(x), self.weight)
)JIT";
constexpr char kOtherHeadForward[] = R"JIT(
def forward(self, x: Tensor) -> Tensor:
    return torch.linear(self.encoder.forward(x), self.weight) * 2.0
)JIT";

// In features 4, hidden 8, `outputs` outputs (so that models of one code can
// differ in shape too), weights drawn from `seed`.
torch::jit::Module Classifier(int64_t outputs, uint64_t seed, const char* head_forward = kHeadForward) {
  torch::manual_seed(seed);
  torch::jit::Module encoder("Encoder");
  encoder.register_parameter("weight", torch::randn({8, 4}), false);
  encoder.register_parameter("bias", torch::randn({8}), false);
  encoder.define(kEncoderForward);
  torch::jit::Module head("Head");
  head.register_module("encoder", encoder);
  head.register_parameter("weight", torch::randn({outputs, 8}), false);
  head.define(head_forward);
  return head;
}

at::Tensor Forward(torch::jit::Module& module) {
  torch::manual_seed(7);
  return module.forward({torch::randn({3, 4})}).toTensor();
}

class ModuleLoaderTest : public ::testing::Test {
 protected:
  void SetUp() override {
    const auto* info = ::testing::UnitTest::GetInstance()->current_test_info();
    dir_ = fs::path(::testing::TempDir()) / "module_loader_test" / info->name();
    fs::remove_all(dir_);
    fs::create_directories(dir_);
  }
  void TearDown() override { fs::remove_all(dir_); }

  std::string Save(const std::string& name, torch::jit::Module module) {
    const std::string path = (dir_ / name).string();
    module.save(path);
    return path;
  }

  fs::path dir_;
  ModuleLoader loader_;
};

TEST_F(ModuleLoaderTest, ModulesWithTheSameCodeShareItAndKeepTheirOwnWeights) {
  const std::string a = Save("a.pt", Classifier(3, 1));
  const std::string b = Save("b.pt", Classifier(5, 2));  // same code, other weights and shapes
  bool shared = true;
  torch::jit::Module first = loader_.Load(a, &shared);
  EXPECT_FALSE(shared);
  torch::jit::Module second = loader_.Load(b, &shared);
  EXPECT_TRUE(shared);
  EXPECT_EQ(loader_.stats().compiled, 1);
  EXPECT_EQ(loader_.stats().shared, 1);
  EXPECT_EQ(first.type(), second.type());  // one compiled class for both

  torch::jit::Module reference_a = torch::jit::load(a);
  torch::jit::Module reference_b = torch::jit::load(b);
  EXPECT_TRUE(torch::equal(Forward(first), Forward(reference_a)));
  EXPECT_TRUE(torch::equal(Forward(second), Forward(reference_b)));
  EXPECT_EQ(Forward(second).size(1), 5);
  // The weights are the second file's, in memory of its own.
  EXPECT_TRUE(torch::equal(second.attr("weight").toTensor(), reference_b.attr("weight").toTensor()));
  EXPECT_NE(second.attr("weight").toTensor().data_ptr(), first.attr("weight").toTensor().data_ptr());
  // Read in place: their storages are views of the loader's buffers (freed by
  // the loader's deleter), not copies made by torch::jit::load.
  EXPECT_NE(second.attr("weight").toTensor().storage().data_ptr().get_deleter(),
            reference_b.attr("weight").toTensor().storage().data_ptr().get_deleter());
  EXPECT_EQ(first.attr("weight").toTensor().storage().data_ptr().get_deleter(),
            second.attr("weight").toTensor().storage().data_ptr().get_deleter());
  EXPECT_EQ(loader_.stats().by_torch_jit_load, 0);
  EXPECT_EQ(second.attr("weight").toTensor().storage().data_ptr().get_deleter(),
            second.attr("encoder").toModule().attr("bias").toTensor().storage().data_ptr().get_deleter());
}

TEST_F(ModuleLoaderTest, ASharedModuleKeepsItsWeightsWhenItsFileIsRewrittenOrRemoved) {
  const std::string a = Save("a.pt", Classifier(3, 1));
  const std::string b = Save("b.pt", Classifier(3, 2));
  torch::jit::Module first = loader_.Load(a);
  bool shared = false;
  torch::jit::Module second = loader_.Load(b, &shared);
  ASSERT_TRUE(shared);
  const at::Tensor want = Forward(second).clone();
  // Its tensors live in memory of its own, not in a mapping of the file: a
  // file rewritten in place (shorter, then removed) cannot touch them.
  std::ofstream(b, std::ios::binary | std::ios::trunc) << "x";
  fs::remove(b);
  EXPECT_TRUE(torch::equal(Forward(second), want));
  torch::jit::Module reference = torch::jit::load(a);
  EXPECT_TRUE(torch::equal(Forward(first), Forward(reference)));
}

TEST_F(ModuleLoaderTest, ALoaderThatDoesNotShareCompilesEveryModule) {
  ModuleLoader own(/*share_code=*/false);
  const std::string a = Save("a.pt", Classifier(3, 1));
  const std::string b = Save("b.pt", Classifier(3, 2));
  torch::jit::Module first = own.Load(a);
  bool shared = true;
  torch::jit::Module second = own.Load(b, &shared);
  EXPECT_FALSE(shared);
  EXPECT_EQ(own.stats().compiled, 2);
  EXPECT_NE(first._ivalue()->compilation_unit(), second._ivalue()->compilation_unit());
}

TEST_F(ModuleLoaderTest, AFrozenModuleComputesWhatTheModuleDoes) {
  torch::jit::Module module = loader_.Load(Save("a.pt", Classifier(3, 1)));
  module.eval();
  torch::jit::Module frozen = FreezeForInference(module);
  EXPECT_TRUE(frozen.parameters().size() == 0);  // folded into the graph
  EXPECT_TRUE(torch::allclose(Forward(frozen), Forward(module), /*rtol=*/1e-6, /*atol=*/1e-6));
}

TEST_F(ModuleLoaderTest, DifferentCodeIsCompiledForItself) {
  const std::string a = Save("a.pt", Classifier(3, 1));
  const std::string b = Save("b.pt", Classifier(3, 1, kOtherHeadForward));
  torch::jit::Module first = loader_.Load(a);
  bool shared = true;
  torch::jit::Module second = loader_.Load(b, &shared);
  EXPECT_FALSE(shared);
  EXPECT_EQ(loader_.stats().compiled, 2);
  EXPECT_TRUE(torch::equal(Forward(second), Forward(first) * 2.0));
}

TEST_F(ModuleLoaderTest, CodeIsForgottenWithItsLastModule) {
  const std::string a = Save("a.pt", Classifier(3, 1));
  const std::string b = Save("b.pt", Classifier(3, 2));
  { torch::jit::Module first = loader_.Load(a); }
  bool shared = true;
  torch::jit::Module second = loader_.Load(b, &shared);
  EXPECT_FALSE(shared);
  EXPECT_EQ(loader_.stats().compiled, 2);
  torch::jit::Module reference = torch::jit::load(b);
  EXPECT_TRUE(torch::equal(Forward(second), Forward(reference)));
}

TEST_F(ModuleLoaderTest, ModulesBuiltFromSharedCodeRunOnManyThreads) {
  const std::string a = Save("a.pt", Classifier(3, 1));
  const std::string b = Save("b.pt", Classifier(4, 2));
  torch::jit::Module first = loader_.Load(a);
  torch::jit::Module second = loader_.Load(b);
  const at::Tensor want_a = Forward(first), want_b = Forward(second);
  torch::manual_seed(7);
  const at::Tensor input = torch::randn({3, 4});
  std::atomic<int> wrong{0};
  std::vector<std::thread> threads;
  for (int t = 0; t < 4; ++t) {
    threads.emplace_back([&, t] {
      torch::jit::Module& m = t % 2 == 0 ? first : second;
      const at::Tensor& want = t % 2 == 0 ? want_a : want_b;
      for (int i = 0; i < 200; ++i) {
        if (!torch::equal(m.forward({input}).toTensor(), want)) ++wrong;
      }
    });
  }
  for (std::thread& thread : threads) thread.join();
  EXPECT_EQ(wrong, 0);
}

// A class with __setstate__ is built by running it, which the loader leaves
// to torch::jit::load.
TEST_F(ModuleLoaderTest, AModuleWithSetStateIsLoadedByTorchJitLoad) {
  torch::manual_seed(5);
  torch::jit::Module m("Stateful");
  m.register_parameter("weight", torch::randn({3, 4}), false);
  m.define(R"JIT(
def forward(self, x: Tensor) -> Tensor:
    return torch.linear(x, self.weight)

def __getstate__(self) -> Tensor:
    return self.weight

def __setstate__(self, state: Tensor) -> None:
    self.weight = state
)JIT");
  const std::string path = Save("s.pt", m);
  torch::jit::Module loaded = loader_.Load(path);
  EXPECT_EQ(loader_.stats().by_torch_jit_load, 1);
  torch::jit::Module reference = torch::jit::load(path);
  EXPECT_TRUE(torch::equal(Forward(loaded), Forward(reference)));
}

TEST_F(ModuleLoaderTest, AFileThatIsNotAModuleFailsAsTorchJitLoadSays) {
  const std::string a = Save("a.pt", Classifier(3, 1));
  torch::jit::Module first = loader_.Load(a);
  const std::string junk = (dir_ / "junk.pt").string();
  std::ofstream(junk) << "not a zip archive";
  std::string want, got;
  try {
    torch::jit::load(junk);
  } catch (const c10::Error& e) {
    want = e.what_without_backtrace();
  }
  try {
    loader_.Load(junk);
  } catch (const c10::Error& e) {
    got = e.what_without_backtrace();
  }
  EXPECT_FALSE(want.empty());
  EXPECT_EQ(got, want);
}

TEST_F(ModuleLoaderTest, ATruncatedCopyOfKnownCodeFailsAndIsNotShared) {
  const std::string a = Save("a.pt", Classifier(3, 1));
  torch::jit::Module first = loader_.Load(a);
  // The same archive cut short: its code may still be readable, its tensors are not.
  std::string bytes;
  {
    std::ifstream in(a, std::ios::binary);
    bytes.assign(std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>());
  }
  const std::string cut = (dir_ / "cut.pt").string();
  std::ofstream(cut, std::ios::binary).write(bytes.data(), static_cast<std::streamsize>(bytes.size() / 2));
  EXPECT_THROW(loader_.Load(cut), c10::Error);
  EXPECT_EQ(loader_.stats().shared, 0);
}

}  // namespace
}  // namespace modelmux
