#include "frontend/http/row_codec.h"

#include "fmt/format.h"
#include "frontend/http/json_writer.h"
#include "frontend/http/status_text.h"

namespace modelmux {
namespace {

void WriteElement(JsonWriter& w, const Tensor& t, int64_t i) {
  switch (t.dtype) {
    case DataType::kFp32:
      w.Float(t.fp32[i]);
      break;
    case DataType::kFp64:
      w.Double(t.fp64[i]);
      break;
    case DataType::kInt32:
      w.Int(t.int32[i]);
      break;
    case DataType::kInt64:
      w.Int(t.int64[i]);
      break;
    case DataType::kBool:
      w.Bool(t.int64[i] != 0);
      break;
    case DataType::kBytes:
      w.String(t.bytes[i]);
      break;
  }
}

// Row `row` of `t`: a value when `t` has one dimension, else its values flat.
void WriteRow(JsonWriter& w, const Tensor& t, int64_t row) {
  if (t.shape.size() == 1) return WriteElement(w, t, row);
  const int64_t width = t.shape[0] > 0 ? t.StoredCount() / t.shape[0] : 0;
  w.BeginArray();
  for (int64_t i = row * width; i < (row + 1) * width; ++i) WriteElement(w, t, i);
  w.EndArray();
}

void WriteWhole(JsonWriter& w, const Tensor& t) {
  if (t.StoredCount() == 1) return WriteElement(w, t, 0);
  w.BeginArray();
  for (int64_t i = 0; i < t.StoredCount(); ++i) WriteElement(w, t, i);
  w.EndArray();
}

}  // namespace

absl::Status ReadInstanceRows(simdjson::dom::array instances, Tensor& rows) {
  rows = Tensor();
  rows.dtype = DataType::kFp32;
  int64_t width = -1;
  int64_t row = 0;
  for (simdjson::dom::element item : instances) {
    simdjson::dom::array values;
    if (item.get_array().get(values) || values.size() == 0) {
      return InvalidArgument(
          fmt::format("'instances[{}]' must be a non-empty array of numbers, like the first", row));
    }
    if (width < 0) width = static_cast<int64_t>(values.size());
    if (static_cast<int64_t>(values.size()) != width) {
      return InvalidArgument(
          fmt::format("'instances[{}]' has {} values and 'instances[0]' has {}: rows must be equally long",
                      row, values.size(), width));
    }
    for (simdjson::dom::element v : values) {
      double number = 0;
      if (v.get_double().get(number)) {
        return InvalidArgument(fmt::format("'instances[{}]' must hold only numbers", row));
      }
      rows.fp32.push_back(static_cast<float>(number));
    }
    ++row;
  }
  rows.shape = {row, width};
  return absl::OkStatus();
}

std::string EncodeRowPredictions(const std::vector<Tensor>& outputs) {
  std::string out;
  JsonWriter w(&out);
  w.BeginObject().Key("predictions").BeginArray();
  const bool has_rows = !outputs.empty() && !outputs[0].shape.empty();
  const int64_t rows = has_rows ? outputs[0].shape[0] : 1;
  for (int64_t row = 0; row < rows; ++row) {
    if (outputs.size() == 1) {
      has_rows ? WriteRow(w, outputs[0], row) : WriteWhole(w, outputs[0]);
      continue;
    }
    w.BeginObject();
    for (const Tensor& t : outputs) {
      w.Key(t.name);
      const bool same_rows = !t.shape.empty() && t.shape[0] == rows;
      same_rows ? WriteRow(w, t, row) : WriteWhole(w, t);
    }
    w.EndObject();
  }
  w.EndArray().EndObject();
  return out;
}

}  // namespace modelmux
