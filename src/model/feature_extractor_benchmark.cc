// Images per second of MobileNetV2 alpha 1.0 at 224x224 (random weights: speed does not depend
// on their values), single-threaded by batch size, and two ways to use two cores; beside it the
// machine's GEMM rate (1 and 2 threads) and the img/s it would allow (0.599 GFLOP per image):
// sgemm for fp32, a bf16 matmul (bf16 products, fp32 sums) for bf16.
//   feature_extractor_benchmark [--precision=fp32|bf16] [Google Benchmark flags]
#include <benchmark/benchmark.h>
#include <oneapi/dnnl/dnnl.h>

#include <algorithm>
#include <atomic>
#include <barrier>
#include <cstdio>
#include <cstring>
#include <oneapi/dnnl/dnnl.hpp>
#include <string>
#include <thread>
#include <vector>

#include "pomona/model.h"
#include "random_weights.h"

namespace pomona::model {
namespace {

constexpr MobileNetV2Spec kSpec{1.0f, 224};
constexpr int kMaxBatch = 16;
constexpr double kGflopPerImage = 0.599;
Precision precision = Precision::kFp32;  // --precision

const FeatureExtractor& network() {
  static const auto extractor =
      FeatureExtractor::create(random_mobilenet_v2_weights(kSpec, 1), kSpec, kMaxBatch, precision);
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

constexpr int kGemmSize = 1024;

void set_gemm_rates(benchmark::State& state) {
  const double flop = 2.0 * kGemmSize * kGemmSize * kGemmSize;
  state.counters["GFLOP/s"] = benchmark::Counter(
      static_cast<double>(state.iterations()) * flop * 1e-9, benchmark::Counter::kIsRate);
  state.counters["ideal_img/s"] =
      benchmark::Counter(static_cast<double>(state.iterations()) * flop * 1e-9 / kGflopPerImage,
                         benchmark::Counter::kIsRate);
  set_compute_threads(1);
}

// The machine's ideal: oneDNN's GEMMs pick the CPU's best ISA themselves, whatever OPENBLAS_*
// says.
void BM_Sgemm(benchmark::State& state) {
  set_compute_threads(static_cast<int>(state.range(0)));
  std::vector<float> a(kGemmSize * kGemmSize, 0.5f), b(kGemmSize * kGemmSize, 0.25f),
      c(kGemmSize * kGemmSize);
  for (auto _ : state) {
    dnnl_sgemm('N', 'N', kGemmSize, kGemmSize, kGemmSize, 1.0f, a.data(), kGemmSize, b.data(),
               kGemmSize, 0.0f, c.data(), kGemmSize);
    benchmark::DoNotOptimize(c.data());
  }
  set_gemm_rates(state);
}
BENCHMARK(BM_Sgemm)->ArgName("threads")->Arg(1)->Arg(2)->UseRealTime()->Unit(
    benchmark::kMillisecond);

// The bf16 ideal, measured the same way: a matmul primitive of bf16 inputs (oneDNN 2.6 has no
// public bf16 GEMM function) with fp32 sums and output, B in the layout the primitive prefers.
void BM_MatmulBf16(benchmark::State& state) {
  set_compute_threads(static_cast<int>(state.range(0)));
  using dt = dnnl::memory::data_type;
  using tag = dnnl::memory::format_tag;
  const dnnl::memory::dims square = {kGemmSize, kGemmSize};
  const dnnl::engine engine(dnnl::engine::kind::cpu, 0);
  dnnl::stream stream(engine);
  const dnnl::matmul::primitive_desc descriptor(
      dnnl::matmul::desc({square, dt::bf16, tag::ab}, {square, dt::bf16, tag::any},
                         {square, dt::f32, tag::ab}),
      engine);
  dnnl::memory a(descriptor.src_desc(), engine), b(descriptor.weights_desc(), engine),
      c(descriptor.dst_desc(), engine);
  // 0.5 and 0.25 (the upper 16 bits of their floats) in every element, whatever B's layout.
  std::fill_n(static_cast<uint16_t*>(a.get_data_handle()), a.get_desc().get_size() / 2, 0x3f00);
  std::fill_n(static_cast<uint16_t*>(b.get_data_handle()), b.get_desc().get_size() / 2, 0x3e80);
  const dnnl::matmul matmul(descriptor);
  for (auto _ : state) {
    matmul.execute(stream, {{DNNL_ARG_SRC, a}, {DNNL_ARG_WEIGHTS, b}, {DNNL_ARG_DST, c}});
    stream.wait();
  }
  state.SetLabel(descriptor.impl_info_str());
  set_gemm_rates(state);
}
BENCHMARK(BM_MatmulBf16)
    ->ArgName("threads")
    ->Arg(1)
    ->Arg(2)
    ->UseRealTime()
    ->Unit(benchmark::kMillisecond);

}  // namespace
}  // namespace pomona::model

int main(int argc, char** argv) {
  constexpr char kFlag[] = "--precision=";
  std::vector<char*> rest;
  for (int i = 0; i < argc; ++i) {
    if (std::strncmp(argv[i], kFlag, sizeof kFlag - 1) == 0) {
      try {
        pomona::model::precision = pomona::parse_precision(argv[i] + sizeof kFlag - 1);
      } catch (const std::exception& error) {
        std::fprintf(stderr, "%s\n", error.what());
        return 2;
      }
    } else {
      rest.push_back(argv[i]);
    }
  }
  int rest_count = static_cast<int>(rest.size());
  benchmark::Initialize(&rest_count, rest.data());
  if (benchmark::ReportUnrecognizedArguments(rest_count, rest.data())) return 2;
  benchmark::AddCustomContext("precision", pomona::precision_name(pomona::model::precision));
  benchmark::RunSpecifiedBenchmarks();
  benchmark::Shutdown();
  return 0;
}
