// Writing 100k rows of 1280 feature floats (about 512 MB of floats) to one Parquet file: the
// table/ share of a full run. Features are generated like MobileNetV2's pooled ReLU6 outputs:
// non-negative, about 30% exact zeros, so compression sees realistic data.
#include <benchmark/benchmark.h>
#include <unistd.h>

#include <filesystem>
#include <random>

#include "pomona/table.h"

namespace pomona {
namespace {

constexpr int kRows = 100'000;
constexpr int kDim = 1280;
constexpr int kDistinctRows = 256;  // cycled, so the benchmark does not hold 512 MB of inputs

std::vector<std::vector<float>> feature_like_vectors() {
  std::mt19937 random(42);
  std::normal_distribution<float> normal(0.3f, 0.6f);
  std::vector<std::vector<float>> vectors(kDistinctRows, std::vector<float>(kDim));
  for (auto& vector : vectors) {
    for (float& value : vector) value = std::max(0.0f, normal(random));
  }
  return vectors;
}

void BM_WriteRows(benchmark::State& state) {
  const auto vectors = feature_like_vectors();
  const std::filesystem::path output = std::filesystem::temp_directory_path() /
                                       ("pomona-bench-" + std::to_string(getpid()) + ".parquet");
  for (auto _ : state) {
    auto writer = RowWriter::open(output.string(), WriterOptions{});
    for (int i = 0; i < kRows; ++i) {
      writer->append({.path = "/data/train/Apple Braeburn/r_" + std::to_string(i) + "_100.jpg",
                      .label = "Apple Braeburn",
                      .features = vectors[i % kDistinctRows],
                      .error = std::nullopt});
    }
    writer->commit();
  }
  state.SetBytesProcessed(state.iterations() * int64_t{kRows} * kDim * sizeof(float));
  state.counters["file_MB"] = std::filesystem::file_size(output) / 1e6;
  std::filesystem::remove(output);
}
BENCHMARK(BM_WriteRows)->Unit(benchmark::kMillisecond)->Iterations(2);

}  // namespace
}  // namespace pomona

BENCHMARK_MAIN();
