// Images per second of MobileNetV2 alpha 1.0 at 224x224 (random weights: speed does not depend
// on their values), single-threaded by batch size, and two ways to use two cores; beside it the
// machine's sgemm rate (1 and 2 threads) and the img/s it would allow (0.599 GFLOP per image).
#include <benchmark/benchmark.h>
#include <oneapi/dnnl/dnnl.h>

#include <atomic>
#include <barrier>
#include <thread>
#include <vector>

#include "model/random_weights.h"
#include "pomona/model.h"

namespace pomona::model {
namespace {

constexpr MobileNetV2Spec kSpec{1.0f, 224};
constexpr int kMaxBatch = 16;
constexpr double kGflopPerImage = 0.599;

const FeatureExtractor& network() {
  static const auto extractor =
      FeatureExtractor::create(random_mobilenet_v2_weights(kSpec, 1), kSpec, kMaxBatch);
  return *extractor;
}

// Runs batches on the calling thread with its own Context and buffers.
class Runner {
 public:
  Runner(int threads, int batch) : batch_(batch) {
    set_compute_threads(threads);
    images_.assign(static_cast<size_t>(batch) * kSpec.size * kSpec.size * 3, 0.5f);
    features_.resize(static_cast<size_t>(batch) * network().feature_dim());
    context_ = network().new_context();
    run();  // builds the plan for this thread count and batch, outside the timing
  }
  void run() { network().extract(*context_, images_.data(), batch_, features_.data()); }

 private:
  int batch_;
  std::vector<float> images_, features_;
  std::unique_ptr<FeatureExtractor::Context> context_;
};

void set_images_per_second(benchmark::State& state, int images_per_iteration) {
  state.counters["img/s"] = benchmark::Counter(
      static_cast<double>(state.iterations()) * images_per_iteration, benchmark::Counter::kIsRate);
}

void BM_ExtractSingleThread(benchmark::State& state) {
  const int batch = static_cast<int>(state.range(0));
  Runner runner(1, batch);
  for (auto _ : state) runner.run();
  set_images_per_second(state, batch);
}
BENCHMARK(BM_ExtractSingleThread)
    ->Arg(1)
    ->Arg(2)
    ->Arg(4)
    ->Arg(8)
    ->Arg(16)
    ->UseRealTime()  // wall time, as the peer runtimes in bench/peers.py are timed
    ->Unit(benchmark::kMillisecond);

void BM_ExtractOneNetworkTwoThreads(benchmark::State& state) {
  const int batch = static_cast<int>(state.range(0));
  Runner runner(2, batch);
  for (auto _ : state) runner.run();
  set_images_per_second(state, batch);
  set_compute_threads(1);
}
BENCHMARK(BM_ExtractOneNetworkTwoThreads)
    ->Arg(1)
    ->Arg(8)
    ->UseRealTime()
    ->Unit(benchmark::kMillisecond);

// One single-threaded Context per core, as the pipeline can run them: two worker threads that
// each extract kRounds batches per iteration.
void BM_ExtractTwoContextsOneThreadEach(benchmark::State& state) {
  constexpr int kRounds = 4;
  const int batch = static_cast<int>(state.range(0));
  std::barrier ready(3), start(3), done(3);
  std::atomic<bool> stop = false;
  std::vector<std::thread> workers;
  for (int t = 0; t < 2; ++t) {
    workers.emplace_back([&] {
      Runner runner(1, batch);
      ready.arrive_and_wait();
      while (true) {
        start.arrive_and_wait();
        if (stop) return;
        for (int round = 0; round < kRounds; ++round) runner.run();
        done.arrive_and_wait();
      }
    });
  }
  ready.arrive_and_wait();
  for (auto _ : state) {
    start.arrive_and_wait();
    done.arrive_and_wait();
  }
  stop = true;
  start.arrive_and_wait();
  for (std::thread& worker : workers) worker.join();
  set_images_per_second(state, 2 * kRounds * batch);
}
BENCHMARK(BM_ExtractTwoContextsOneThreadEach)
    ->Arg(1)
    ->Arg(8)
    ->UseRealTime()
    ->Unit(benchmark::kMillisecond);

// The machine's ideal: dnnl_sgemm picks the CPU's best ISA itself, whatever OPENBLAS_* says.
void BM_Sgemm(benchmark::State& state) {
  constexpr int kSize = 1024;
  set_compute_threads(static_cast<int>(state.range(0)));
  std::vector<float> a(kSize * kSize, 0.5f), b(kSize * kSize, 0.25f), c(kSize * kSize);
  for (auto _ : state) {
    dnnl_sgemm('N', 'N', kSize, kSize, kSize, 1.0f, a.data(), kSize, b.data(), kSize, 0.0f,
               c.data(), kSize);
    benchmark::DoNotOptimize(c.data());
  }
  const double flop = 2.0 * kSize * kSize * kSize;
  state.counters["GFLOP/s"] = benchmark::Counter(
      static_cast<double>(state.iterations()) * flop * 1e-9, benchmark::Counter::kIsRate);
  state.counters["ideal_img/s"] =
      benchmark::Counter(static_cast<double>(state.iterations()) * flop * 1e-9 / kGflopPerImage,
                         benchmark::Counter::kIsRate);
  set_compute_threads(1);
}
BENCHMARK(BM_Sgemm)->ArgName("threads")->Arg(1)->Arg(2)->UseRealTime()->Unit(
    benchmark::kMillisecond);

}  // namespace
}  // namespace pomona::model

BENCHMARK_MAIN();
