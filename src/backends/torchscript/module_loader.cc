#include "backends/torchscript/module_loader.h"

#include <caffe2/serialize/inline_container.h>
#include <caffe2/serialize/read_adapter_interface.h>
#include <fcntl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <torch/csrc/jit/serialization/import_read.h>
#include <torch/csrc/jit/serialization/import_source.h>
#include <torch/csrc/jit/serialization/storage_context.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <stdexcept>
#include <string_view>
#include <utility>
#include <vector>

namespace modelmux {
namespace {

using caffe2::serialize::PyTorchStreamReader;
using torch::jit::CompilationUnit;

constexpr size_t kHugePage = size_t{2} << 20;
constexpr size_t kPage = 4096;

// A file read into an anonymous mapping of its own, aligned to 2 MiB and
// advised to use transparent huge pages: a read into fresh 4 KiB pages costs
// a fault per page, which is most of a cold load's time. The tail beyond the
// last whole huge page stays in small pages, so at most one page is wasted.
class FileBuffer {
 public:
  // Throws std::runtime_error when the file cannot be read whole.
  static std::shared_ptr<FileBuffer> Read(const std::string& path) {
    const int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
    if (fd < 0) throw std::runtime_error(std::strerror(errno));
    std::shared_ptr<FileBuffer> buffer;
    try {
      struct stat st;
      if (::fstat(fd, &st) != 0) throw std::runtime_error(std::strerror(errno));
      buffer.reset(new FileBuffer(static_cast<size_t>(st.st_size)));
      size_t done = 0;
      while (done < buffer->size_) {
        const ssize_t n = ::read(fd, buffer->data_ + done, buffer->size_ - done);
        if (n < 0 && errno == EINTR) continue;
        if (n <= 0) throw std::runtime_error(n < 0 ? std::strerror(errno) : "file shrank while read");
        done += static_cast<size_t>(n);
      }
    } catch (...) {
      ::close(fd);
      throw;
    }
    ::close(fd);
    return buffer;
  }

  FileBuffer(const FileBuffer&) = delete;
  FileBuffer& operator=(const FileBuffer&) = delete;
  ~FileBuffer() {
    if (data_ != nullptr) ::munmap(data_, mapped_);
  }

  char* data() const { return data_; }
  size_t size() const { return size_; }

 private:
  explicit FileBuffer(size_t size)
      : size_(size), mapped_((std::max<size_t>(size, 1) + kPage - 1) / kPage * kPage) {
    // Over-map by one huge page so that an aligned start fits, then give the
    // slack back.
    const size_t reserve = mapped_ + kHugePage;
    void* raw = ::mmap(nullptr, reserve, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (raw == MAP_FAILED) throw std::runtime_error(std::strerror(errno));
    const auto base = reinterpret_cast<uintptr_t>(raw);
    const uintptr_t aligned = (base + kHugePage - 1) / kHugePage * kHugePage;
    if (aligned > base) ::munmap(raw, aligned - base);
    const uintptr_t end = aligned + mapped_;
    if (base + reserve > end) ::munmap(reinterpret_cast<void*>(end), base + reserve - end);
    data_ = reinterpret_cast<char*>(aligned);
    // Best effort: without THP (or under a sanitizer) the read still works.
    ::madvise(data_, mapped_, MADV_HUGEPAGE);
  }

  char* data_ = nullptr;
  size_t size_ = 0;
  size_t mapped_ = 0;
};

// Serves PyTorchStreamReader's reads from the buffer.
class BufferAdapter final : public caffe2::serialize::ReadAdapterInterface {
 public:
  explicit BufferAdapter(std::shared_ptr<FileBuffer> buffer) : buffer_(std::move(buffer)) {}
  size_t size() const override { return buffer_->size(); }
  size_t read(uint64_t pos, void* buf, size_t n, const char* /*what*/) const override {
    if (pos >= buffer_->size()) return 0;
    n = std::min<size_t>(n, buffer_->size() - pos);
    std::memcpy(buf, buffer_->data() + pos, n);
    return n;
  }

 private:
  std::shared_ptr<FileBuffer> buffer_;
};

uint32_t Le16(const char* p) {
  const auto* u = reinterpret_cast<const unsigned char*>(p);
  return u[0] | (uint32_t{u[1]} << 8);
}
uint32_t Le32(const char* p) { return Le16(p) | (Le16(p + 2) << 16); }

// One stored (uncompressed) record of the archive: where its bytes are.
struct StoredRecord {
  std::string name;  // as in the archive, with its top folder
  size_t offset = 0;
  size_t size = 0;
};

// The uncompressed records of the ZIP archive in `buffer`, from its central
// directory. Empty when the archive is anything but a plain ZIP (ZIP64, a
// comment-hidden end record, inconsistent offsets): the caller then lets
// PyTorchStreamReader copy every record, as torch::jit::load does.
std::vector<StoredRecord> StoredRecords(const FileBuffer& buffer) {
  const char* data = buffer.data();
  const size_t size = buffer.size();
  constexpr size_t kEndSize = 22;
  if (size < kEndSize) return {};
  // The end-of-central-directory record, after which only a comment may come.
  size_t end = size - kEndSize;
  const size_t lowest = size > kEndSize + 0xFFFF ? size - kEndSize - 0xFFFF : 0;
  while (Le32(data + end) != 0x06054b50) {
    if (end == lowest) return {};
    --end;
  }
  const uint32_t count = Le16(data + end + 10);
  const uint32_t directory_size = Le32(data + end + 12);
  const uint32_t directory_offset = Le32(data + end + 16);
  if (count == 0xFFFF || directory_offset == 0xFFFFFFFF || size_t{directory_offset} + directory_size > end) {
    return {};  // ZIP64
  }
  std::vector<StoredRecord> records;
  size_t at = directory_offset;
  for (uint32_t i = 0; i < count; ++i) {
    if (at + 46 > end || Le32(data + at) != 0x02014b50) return {};
    const uint32_t method = Le16(data + at + 10);
    const uint32_t compressed = Le32(data + at + 20);
    const uint32_t uncompressed = Le32(data + at + 24);
    const uint32_t name_length = Le16(data + at + 28);
    const uint32_t extra_length = Le16(data + at + 30);
    const uint32_t comment_length = Le16(data + at + 32);
    const uint32_t local = Le32(data + at + 42);
    if (at + 46 + name_length > end || compressed == 0xFFFFFFFF || uncompressed == 0xFFFFFFFF ||
        local == 0xFFFFFFFF) {
      return {};
    }
    std::string name(data + at + 46, name_length);
    at += 46 + name_length + extra_length + comment_length;
    if (method != 0 || compressed != uncompressed) continue;  // copied by the reader, like any other
    if (size_t{local} + 30 > size || Le32(data + local) != 0x04034b50) return {};
    const size_t offset = size_t{local} + 30 + Le16(data + local + 26) + Le16(data + local + 28);
    if (offset + uncompressed > size) return {};
    records.push_back({std::move(name), offset, uncompressed});
  }
  return records;
}

// Storages over the buffer for every tensor record (<top folder>/data/<key>)
// that is stored uncompressed and aligned as libtorch aligns them (64 bytes).
// Each holds a reference to the buffer; the buffer goes when the last one does.
std::shared_ptr<torch::jit::DeserializationStorageContext> TensorsInPlace(
    const std::shared_ptr<FileBuffer>& buffer) {
  auto context = std::make_shared<torch::jit::DeserializationStorageContext>();
  for (StoredRecord& record : StoredRecords(*buffer)) {
    const size_t slash = record.name.find('/');
    if (slash == std::string::npos) continue;
    std::string_view inner = std::string_view(record.name).substr(slash + 1);
    if (!inner.starts_with("data/") || record.offset % 64 != 0 || record.size == 0) continue;
    std::string key(inner.substr(5));
    if (key.empty() || context->hasStorage(key)) continue;
    auto* owner = new std::shared_ptr<FileBuffer>(buffer);
    at::DataPtr data(
        buffer->data() + record.offset, owner,
        [](void* p) { delete static_cast<std::shared_ptr<FileBuffer>*>(p); }, c10::Device(c10::kCPU));
    context->addStorage(key, c10::Storage(c10::Storage::use_byte_size_t(), record.size, std::move(data),
                                          /*allocator=*/nullptr, /*resizable=*/false));
  }
  return context;
}

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

// Builds objects as torch::jit::load builds those without __setstate__: one
// slot per attribute of the class, from the pickled attribute dict.
c10::intrusive_ptr<c10::ivalue::Object> MakeObject(const at::StrongTypePtr& type, c10::IValue state) {
  auto cls = type.type_->expect<c10::ClassType>();
  if (cls->findMethod("__setstate__") != nullptr) throw NotShareable("class with __setstate__");
  c10::Dict<c10::IValue, c10::IValue> attributes = std::move(state).toGenericDict();
  const size_t n = cls->numAttributes();
  auto object = c10::ivalue::Object::create(type, n);
  for (size_t i = 0; i < n; ++i) object->setSlot(i, attributes.at(cls->getAttributeName(i)));
  return object;
}

// The module of `reader`'s data.pkl and tensors, its objects typed by `unit`,
// its tensors taken from `tensors` where it has them.
torch::jit::Module BuildFromUnit(PyTorchStreamReader& reader, const std::shared_ptr<CompilationUnit>& unit,
                                 std::shared_ptr<torch::jit::DeserializationStorageContext> tensors) {
  torch::jit::TypeResolver resolve = [&unit](const c10::QualifiedName& name) {
    c10::NamedTypePtr type = unit->get_type(name);
    if (type == nullptr) throw NotShareable("type not in the shared unit");
    return c10::StrongTypePtr(unit, std::move(type));
  };
  c10::IValue root = torch::jit::readArchiveAndTensors(
      /*archive_name=*/"data", /*pickle_prefix=*/"", /*tensor_prefix=*/"", resolve, MakeObject,
      c10::Device(c10::kCPU), reader, torch::jit::Unpickler::defaultTypeParser, std::move(tensors));
  return torch::jit::Module(root.toObject());
}

// The module of `reader`, its code compiled into a unit of its own, as
// torch::jit::load compiles it (code/<qualified name>.py, constants.pkl), its
// tensors taken from `tensors` where it has them. Files whose code
// torch::jit::load would rewrite (old quantized convolutions) are left to it.
torch::jit::Module Compile(PyTorchStreamReader& reader, const std::string& code_key,
                           std::shared_ptr<torch::jit::DeserializationStorageContext> tensors) {
  if (code_key.find("quantized::conv") != std::string::npos) throw NotShareable("quantized convolution");
  auto unit = std::make_shared<CompilationUnit>();
  std::vector<c10::IValue> constants;
  torch::jit::SourceLoader load_source = [&reader](const std::string& qualifier) {
    std::string path = "code/" + qualifier;
    std::replace(path.begin(), path.end(), '.', '/');
    path += ".py";
    std::shared_ptr<torch::jit::Source> source;
    if (!reader.hasRecord(path)) return source;
    auto [text, size] = reader.getRecord(path);
    // Without the .debug_pkl source ranges (libtorch does not export their
    // reader): a TorchScript error's traceback then points at the
    // serialized code instead of the original source.
    source = std::make_shared<torch::jit::Source>(
        c10::string_view(static_cast<const char*>(text.get()), size), path, 1);
    return source;
  };
  torch::jit::SourceImporter importer(unit, &constants, load_source, reader.version());
  torch::jit::TypeResolver resolve = [&unit, &importer](const c10::QualifiedName& name) {
    return c10::StrongTypePtr(unit, importer.loadType(name));
  };
  c10::IValue table = torch::jit::readArchiveAndTensors(
      /*archive_name=*/"constants", /*pickle_prefix=*/"", /*tensor_prefix=*/"", resolve, MakeObject,
      c10::Device(c10::kCPU), reader, torch::jit::Unpickler::defaultTypeParser, tensors);
  for (const c10::IValue& constant : table.toTupleRef().elements()) constants.push_back(constant);
  c10::IValue root = torch::jit::readArchiveAndTensors(
      /*archive_name=*/"data", /*pickle_prefix=*/"", /*tensor_prefix=*/"", resolve, MakeObject,
      c10::Device(c10::kCPU), reader, torch::jit::Unpickler::defaultTypeParser, std::move(tensors));
  return torch::jit::Module(root.toObject());
}

}  // namespace

torch::jit::Module ModuleLoader::Load(const std::string& path, bool* shared_code) {
  if (shared_code != nullptr) *shared_code = false;
  try {
    std::shared_ptr<FileBuffer> buffer = FileBuffer::Read(path);
    PyTorchStreamReader reader(std::make_shared<BufferAdapter>(buffer));
    if (!reader.hasRecord("model.json")) {  // the legacy format: torch::jit::load's own path
      std::string key = CodeKey(reader);
      if (share_code_) {
        if (std::shared_ptr<CompilationUnit> unit = Find(key)) {
          torch::jit::Module module = BuildFromUnit(reader, unit, TensorsInPlace(buffer));
          std::lock_guard<std::mutex> lock(mu_);
          ++stats_.shared;
          if (shared_code != nullptr) *shared_code = true;
          return module;
        }
      }
      torch::jit::Module module = Compile(reader, key, TensorsInPlace(buffer));
      if (share_code_) Remember(std::move(key), module);
      std::lock_guard<std::mutex> lock(mu_);
      ++stats_.compiled;
      return module;
    }
  } catch (...) {
    // Whatever went wrong, torch::jit::load below reports it in its words (or
    // loads what the shortcut could not); nothing is remembered.
  }
  torch::jit::Module module = torch::jit::load(path, torch::kCPU);
  std::lock_guard<std::mutex> lock(mu_);
  ++stats_.compiled;
  ++stats_.by_torch_jit_load;
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

torch::jit::Module FreezeForInference(const torch::jit::Module& module) {
  torch::jit::Module frozen = torch::jit::freeze(module);
  return torch::jit::optimize_for_inference(frozen);
}

}  // namespace modelmux
