#include "backends/torchscript/module_loader.h"

#include <caffe2/serialize/inline_container.h>
#include <torch/csrc/jit/serialization/import_read.h>

#include <stdexcept>
#include <string_view>
#include <utility>

namespace modelmux {
namespace {

using caffe2::serialize::PyTorchStreamReader;
using torch::jit::CompilationUnit;

// Records that hold an instance's state rather than its code.
bool DefinesCode(std::string_view record) {
  return record != "data.pkl" && !record.starts_with("data/") && !record.starts_with("extra/");
}

// Every code-defining record, in archive order, each framed by its name and
// size so that no two different archives give the same key.
std::string CodeKey(PyTorchStreamReader& reader) {
  std::string key;
  for (const std::string& name : reader.getAllRecords()) {
    if (!DefinesCode(name)) continue;
    auto [data, size] = reader.getRecord(name);
    key.append(name).push_back('\0');
    key.append(std::to_string(size)).push_back('\0');
    key.append(static_cast<const char*>(data.get()), size);
  }
  return key;
}

// Raised inside the shortcut when it does not apply to this archive.
class NotShareable : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

// The module of `reader`'s data.pkl and tensors, its objects typed by `unit`.
// Objects are built as torch::jit::load builds those without __setstate__:
// one slot per attribute of the class, from the pickled attribute dict.
torch::jit::Module BuildFromUnit(PyTorchStreamReader& reader, const std::shared_ptr<CompilationUnit>& unit) {
  torch::jit::TypeResolver resolve = [&unit](const c10::QualifiedName& name) {
    c10::NamedTypePtr type = unit->get_type(name);
    if (type == nullptr) throw NotShareable("type not in the shared unit");
    return c10::StrongTypePtr(unit, std::move(type));
  };
  torch::jit::ObjLoader make_object = [](at::StrongTypePtr type, c10::IValue state) {
    auto cls = type.type_->expect<c10::ClassType>();
    if (cls->findMethod("__setstate__") != nullptr) throw NotShareable("class with __setstate__");
    c10::Dict<c10::IValue, c10::IValue> attributes = std::move(state).toGenericDict();
    const size_t n = cls->numAttributes();
    auto object = c10::ivalue::Object::create(std::move(type), n);
    for (size_t i = 0; i < n; ++i) object->setSlot(i, attributes.at(cls->getAttributeName(i)));
    return object;
  };
  c10::IValue root = torch::jit::readArchiveAndTensors(/*archive_name=*/"data", /*pickle_prefix=*/"",
                                                       /*tensor_prefix=*/"", resolve, make_object,
                                                       c10::Device(c10::kCPU), reader);
  return torch::jit::Module(root.toObject());
}

}  // namespace

torch::jit::Module ModuleLoader::Load(const std::string& path, bool* shared_code) {
  if (shared_code != nullptr) *shared_code = false;
  std::string key;
  try {
    PyTorchStreamReader reader(path);
    if (!reader.hasRecord("model.json")) {  // the legacy format: torch::jit::load's own path
      key = CodeKey(reader);
      if (std::shared_ptr<CompilationUnit> unit = Find(key)) {
        torch::jit::Module module = BuildFromUnit(reader, unit);
        std::lock_guard<std::mutex> lock(mu_);
        ++stats_.shared;
        if (shared_code != nullptr) *shared_code = true;
        return module;
      }
    }
  } catch (...) {
    // Whatever went wrong, torch::jit::load below reports it in its words (or
    // loads what the shortcut could not); nothing is remembered.
    key.clear();
  }
  torch::jit::Module module = torch::jit::load(path, torch::kCPU);
  if (!key.empty()) Remember(std::move(key), module);
  std::lock_guard<std::mutex> lock(mu_);
  ++stats_.compiled;
  return module;
}

ModuleLoader::Stats ModuleLoader::stats() const {
  std::lock_guard<std::mutex> lock(mu_);
  return stats_;
}

std::shared_ptr<CompilationUnit> ModuleLoader::Find(const std::string& code_key) {
  std::lock_guard<std::mutex> lock(mu_);
  auto it = units_.find(code_key);
  return it == units_.end() ? nullptr : it->second.lock();
}

void ModuleLoader::Remember(std::string code_key, const torch::jit::Module& module) {
  std::shared_ptr<CompilationUnit> unit = module._ivalue()->compilation_unit();
  std::lock_guard<std::mutex> lock(mu_);
  // Forget the units no module uses any more: memory follows loaded models.
  for (auto it = units_.begin(); it != units_.end();) {
    if (it->second.expired()) {
      units_.erase(it++);
    } else {
      ++it;
    }
  }
  units_[std::move(code_key)] = unit;
}

}  // namespace modelmux
