#include <cstring>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "backends/torchscript/torchscript_model.h"
#include "common/status_macros.h"

namespace modelmux {
namespace {

absl::StatusOr<at::ScalarType> TorchType(DataType type) {
  switch (type) {
    case DataType::kFp32:
      return torch::kFloat;
    case DataType::kFp64:
      return torch::kDouble;
    case DataType::kInt32:
      return torch::kInt;
    case DataType::kInt64:
      return torch::kLong;
    case DataType::kBool:
      return torch::kBool;
    case DataType::kBytes:
      break;
  }
  return absl::InvalidArgumentError("BYTES tensors are not supported by the torchscript backend");
}

template <typename T>
at::Tensor CopyIn(const std::vector<T>& values, at::IntArrayRef shape, at::ScalarType type) {
  at::Tensor t = torch::empty(shape, torch::TensorOptions().dtype(type));
  std::memcpy(t.data_ptr(), values.data(), values.size() * sizeof(T));
  return t;
}

// Copies, so a module that writes to its input cannot touch the caller's data.
absl::StatusOr<at::Tensor> ToTorch(const Tensor& t) {
  const at::IntArrayRef shape(t.shape);
  switch (t.dtype) {
    case DataType::kFp32:
      return CopyIn(t.fp32, shape, torch::kFloat);
    case DataType::kFp64:
      return CopyIn(t.fp64, shape, torch::kDouble);
    case DataType::kInt32:
      return CopyIn(t.int32, shape, torch::kInt);
    case DataType::kInt64:
      return CopyIn(t.int64, shape, torch::kLong);
    case DataType::kBool:
      return CopyIn(t.int64, shape, torch::kLong).ne(0);
    case DataType::kBytes:
      break;
  }
  return TorchType(t.dtype).status();
}

template <typename T>
void CopyOut(const at::Tensor& t, std::vector<T>* values) {
  values->resize(t.numel());
  std::memcpy(values->data(), t.data_ptr(), values->size() * sizeof(T));
}

// Converts one forward output to the declared spec: dtype cast, shape check.
absl::StatusOr<Tensor> FromTorch(const at::Tensor& out, const TensorSpec& spec) {
  const std::vector<int64_t> shape(out.sizes().begin(), out.sizes().end());
  bool shape_ok = shape.size() == spec.shape.size();
  for (size_t i = 0; shape_ok && i < shape.size(); ++i) {
    shape_ok = spec.shape[i] < 0 || spec.shape[i] == shape[i];
  }
  if (!shape_ok) {
    return absl::InternalError(absl::StrCat("model output '", spec.name, "' has shape [",
                                            absl::StrJoin(shape, ", "), "], config.json declares [",
                                            absl::StrJoin(spec.shape, ", "), "]"));
  }
  Tensor result;
  result.name = spec.name;
  result.dtype = spec.dtype;
  result.shape = shape;
  ASSIGN_OR_RETURN(at::ScalarType type, TorchType(spec.dtype));
  at::Tensor t = spec.dtype == DataType::kBool ? out.ne(0).to(torch::kLong) : out.to(type);
  t = t.contiguous();
  switch (spec.dtype) {
    case DataType::kFp32:
      CopyOut(t, &result.fp32);
      break;
    case DataType::kFp64:
      CopyOut(t, &result.fp64);
      break;
    case DataType::kInt32:
      CopyOut(t, &result.int32);
      break;
    case DataType::kInt64:
    case DataType::kBool:
      CopyOut(t, &result.int64);
      break;
    case DataType::kBytes:
      break;
  }
  return result;
}

// Lines the request's inputs up with config.json's: by name, or by position
// for unnamed tensors.
absl::StatusOr<std::vector<const Tensor*>> OrderInputs(const std::vector<Tensor>& inputs,
                                                       const std::vector<TensorSpec>& specs) {
  if (inputs.size() != specs.size()) {
    return absl::InvalidArgumentError(
        absl::StrCat("model takes ", specs.size(), " inputs, got ", inputs.size()));
  }
  std::vector<const Tensor*> ordered(specs.size(), nullptr);
  for (size_t i = 0; i < inputs.size(); ++i) {
    size_t slot = i;
    if (!inputs[i].name.empty()) {
      auto it = std::find_if(specs.begin(), specs.end(),
                             [&](const TensorSpec& s) { return s.name == inputs[i].name; });
      if (it == specs.end()) {
        return absl::InvalidArgumentError(absl::StrCat("model has no input '", inputs[i].name, "'"));
      }
      slot = it - specs.begin();
    }
    if (ordered[slot] != nullptr) {
      return absl::InvalidArgumentError(absl::StrCat("input '", specs[slot].name, "' given twice"));
    }
    ordered[slot] = &inputs[i];
  }
  for (size_t i = 0; i < specs.size(); ++i) RETURN_IF_ERROR(CheckTensorAgainstSpec(*ordered[i], specs[i]));
  return ordered;
}

absl::StatusOr<std::vector<at::Tensor>> OutputTensors(const c10::IValue& out) {
  if (out.isTensor()) return std::vector<at::Tensor>{out.toTensor()};
  std::vector<at::Tensor> tensors;
  if (out.isTuple() || out.isList()) {
    const auto elements = out.isTuple() ? out.toTupleRef().elements().vec() : out.toListRef().vec();
    for (const c10::IValue& v : elements) {
      if (!v.isTensor()) break;
      tensors.push_back(v.toTensor());
    }
    if (tensors.size() == elements.size()) return tensors;
  }
  return absl::InternalError(
      absl::StrCat("model returned ", out.tagKind(), "; expected a tensor or a tuple of tensors"));
}

}  // namespace

absl::StatusOr<std::unique_ptr<TensorModel>> TensorModel::Create(ModelConfig config,
                                                                 torch::jit::Module module) {
  for (const TensorSpec& spec : config.inputs) RETURN_IF_ERROR(TorchType(spec.dtype).status());
  for (const TensorSpec& spec : config.outputs) RETURN_IF_ERROR(TorchType(spec.dtype).status());
  auto model = std::unique_ptr<TensorModel>(new TensorModel(std::move(config), std::move(module)));
  if (model->ForwardArity() != model->config_.inputs.size()) {
    return absl::InvalidArgumentError(absl::StrCat("model.pt forward takes ", model->ForwardArity(),
                                                   " arguments but config.json declares ",
                                                   model->config_.inputs.size(), " inputs"));
  }
  return model;
}

absl::StatusOr<Classifications> TensorModel::Classify(const std::vector<std::string_view>&, int) const {
  return absl::FailedPreconditionError("this model is a tensor model: send tensors, not texts");
}

absl::StatusOr<std::vector<at::Tensor>> TensorModel::RunTorch(const std::vector<Tensor>& inputs) const {
  ASSIGN_OR_RETURN(std::vector<const Tensor*> ordered, OrderInputs(inputs, config_.inputs));
  std::vector<c10::IValue> args;
  args.reserve(ordered.size());
  for (const Tensor* t : ordered) {
    ASSIGN_OR_RETURN(at::Tensor torch_tensor, ToTorch(*t));
    args.emplace_back(std::move(torch_tensor));
  }
  ASSIGN_OR_RETURN(c10::IValue out, Forward(std::move(args)));
  ASSIGN_OR_RETURN(std::vector<at::Tensor> outs, OutputTensors(out));
  if (outs.size() != config_.outputs.size()) {
    return absl::InternalError(absl::StrCat("model returned ", outs.size(), " tensors, config.json declares ",
                                            config_.outputs.size(), " outputs"));
  }
  return outs;
}

absl::StatusOr<std::vector<Tensor>> TensorModel::Infer(const std::vector<Tensor>& inputs) const {
  ASSIGN_OR_RETURN(std::vector<at::Tensor> outs, RunTorch(inputs));
  std::vector<Tensor> result;
  for (size_t i = 0; i < outs.size(); ++i) {
    try {
      ASSIGN_OR_RETURN(Tensor t, FromTorch(outs[i], config_.outputs[i]));
      result.push_back(std::move(t));
    } catch (const std::exception& e) {
      return absl::InternalError(absl::StrCat("cannot convert model output '", config_.outputs[i].name,
                                              "': ", TorchErrorMessage(e)));
    }
  }
  return result;
}

absl::StatusOr<std::vector<at::Tensor>> TensorModel::WarmUp() const {
  std::vector<Tensor> zeros;
  for (const TensorSpec& spec : config_.inputs) {
    Tensor t;
    t.name = spec.name;
    t.dtype = spec.dtype;
    t.shape = spec.shape;
    for (int64_t& d : t.shape) d = d < 0 ? 1 : d;
    const auto n = static_cast<size_t>(t.ElementCount());
    switch (spec.dtype) {
      case DataType::kFp32:
        t.fp32.assign(n, 0);
        break;
      case DataType::kFp64:
        t.fp64.assign(n, 0);
        break;
      case DataType::kInt32:
        t.int32.assign(n, 0);
        break;
      default:
        t.int64.assign(n, 0);
        break;
    }
    zeros.push_back(std::move(t));
  }
  ASSIGN_OR_RETURN(std::vector<at::Tensor> outs, RunTorch(zeros));
  for (size_t i = 0; i < outs.size(); ++i) {
    try {
      RETURN_IF_ERROR(FromTorch(outs[i], config_.outputs[i]).status());
    } catch (const std::exception& e) {
      return absl::InternalError(absl::StrCat("cannot convert model output '", config_.outputs[i].name,
                                              "': ", TorchErrorMessage(e)));
    }
  }
  return outs;
}

}  // namespace modelmux
