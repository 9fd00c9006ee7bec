// The report's O(n^2) step at its default cap: leave-one-out 1-NN over 5,000 rows of 50 components.
#include <benchmark/benchmark.h>

#include <random>

#include "neighbours.h"

namespace pomona::report {
namespace {

void BM_LeaveOneOutAgreement(benchmark::State& state) {
  const int rows = static_cast<int>(state.range(0)), dims = static_cast<int>(state.range(1));
  std::mt19937 random(3);
  std::normal_distribution<float> normal;
  std::vector<float> points(static_cast<size_t>(rows) * dims);
  for (float& v : points) v = normal(random);
  std::vector<int> labels(rows);
  for (int i = 0; i < rows; ++i) labels[i] = i % 20;
  for (auto _ : state) {
    benchmark::DoNotOptimize(leave_one_out_agreement(points, dims, labels, 20));
  }
  state.counters["pairs/s"] = benchmark::Counter(static_cast<double>(rows) * (rows - 1),
                                                 benchmark::Counter::kIsIterationInvariantRate);
}
BENCHMARK(BM_LeaveOneOutAgreement)
    ->Args({1000, 50})
    ->Args({5000, 50})
    ->Unit(benchmark::kMillisecond);

}  // namespace
}  // namespace pomona::report

BENCHMARK_MAIN();
