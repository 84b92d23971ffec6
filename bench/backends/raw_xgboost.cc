// XGBoost with nothing around it: its C API, one thread (nthread = 1 and
// OpenMP's default at one, as in the server), in-place prediction.
#include <omp.h>
#include <xgboost/c_api.h>

#include <cinttypes>
#include <cmath>
#include <cstdio>

#include "backends/raw_common.h"
#include "make_store/churn_data.h"

namespace modelmux::bench {
namespace {

constexpr char kPredictConfig[] =
    R"({"type": 0, "training": false, "iteration_begin": 0, "iteration_end": 0, "strict_shape": false,)"
    R"( "cache_id": 0, "missing": NaN})";

void Check(int rc) {
  if (rc != 0) throw std::runtime_error(XGBGetLastError());
}

std::filesystem::path ModelFile(const std::filesystem::path& dir) {
  return std::filesystem::exists(dir / "model.ubj") ? dir / "model.ubj" : dir / "model.json";
}

struct Rows {
  std::vector<float> x, labels;
  int width = 0;
};

Rows ReadRows(const std::filesystem::path& heldout, const std::filesystem::path& dir) {
  Rows rows;
  for (const nlohmann::json& line : HeldoutLines(heldout, dir)) {
    rows.width = static_cast<int>(line["features"].size());
    for (double v : line["features"]) rows.x.push_back(static_cast<float>(v));
    rows.labels.push_back(line["label"].get<float>());
  }
  return rows;
}

// One call of in-place prediction on `n` rows; returns XGBoost's buffer.
const float* Predict(BoosterHandle booster, const float* data, int64_t n, int width) {
  char array[160];
  std::snprintf(array, sizeof(array),
                R"({"data": [%)" PRIuPTR R"(, true], "shape": [%)" PRId64
                R"(, %d], "typestr": "<f4", "version": 3})",
                reinterpret_cast<uintptr_t>(data), n, width);
  const bst_ulong* shape = nullptr;
  bst_ulong dims = 0;
  const float* out = nullptr;
  Check(XGBoosterPredictFromDense(booster, array, kPredictConfig, nullptr, &shape, &dims, &out));
  return out;
}

class XGBoostKind final : public RawKind {
 public:
  explicit XGBoostKind(const RawOptions& o) : rows_(ReadRows(o.heldout_dir, o.dirs.front())) {
    omp_set_num_threads(1);
  }

  Loaded Load(const std::filesystem::path& dir) override {
    BoosterHandle booster = nullptr;
    Check(XGBoosterCreate(nullptr, 0, &booster));
    Loaded model(booster, [](void* b) { XGBoosterFree(b); });
    Check(XGBoosterSetParam(booster, "nthread", "1"));
    Check(XGBoosterLoadModel(booster, ModelFile(dir).c_str()));
    Check(XGBoosterSetParam(booster, "nthread", "1"));
    bst_ulong width = 0;  // tenants differ: a first row of zeros of the model's own width
    Check(XGBoosterGetNumFeature(booster, &width));
    const std::vector<float> zeros(width, 0.0f);
    Predict(booster, zeros.data(), 1, static_cast<int>(width));
    return model;
  }
  void Forward(const Loaded& model) override { Predict(model.get(), rows_.x.data(), 1, rows_.width); }

  nlohmann::json Extra(const Loaded& model, const RawOptions& o) override {
    std::vector<float> batch;
    while (static_cast<int>(batch.size()) < o.batch_rows * rows_.width) {
      batch.insert(batch.end(), rows_.x.begin(), rows_.x.end());
    }
    nlohmann::json timed =
        TimeCalls([&] { Predict(model.get(), batch.data(), o.batch_rows, rows_.width); }, o.seconds);
    timed["rows_per_call"] = o.batch_rows;
    timed["rows_per_cpu_second"] = o.batch_rows / (timed["cpu_us_per_call"].get<double>() / 1e6);
    return timed;
  }

  double Score(const std::filesystem::path& dir, const std::filesystem::path& heldout) override {
    const Rows rows = ReadRows(heldout, dir);
    Loaded model = Load(dir);
    const int64_t n = static_cast<int64_t>(rows.labels.size());
    const float* out = Predict(model.get(), rows.x.data(), n, rows.width);
    return make_store::Auc(std::vector<float>(out, out + n), rows.labels);
  }

 private:
  const Rows rows_;  // held-out rows of the first model: the timed inputs
};

}  // namespace

std::unique_ptr<RawKind> NewXGBoostKind(const RawOptions& options) {
  return std::make_unique<XGBoostKind>(options);
}

}  // namespace modelmux::bench
