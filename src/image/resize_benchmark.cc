// resize_like_pillow speed, single thread: the Fruits-360 case and a 12-megapixel phone photo.
#include <benchmark/benchmark.h>

#include <cstdint>
#include <random>

#include "pomona/image.h"

namespace pomona {
namespace {

Rgb8Image noise_image(int width, int height) {
  Rgb8Image image{width, height, std::vector<uint8_t>(static_cast<size_t>(width) * height * 3)};
  std::mt19937 random(42);
  for (auto& byte : image.pixels) byte = static_cast<uint8_t>(random());
  return image;
}

void BM_ResizeLikePillow(benchmark::State& state) {
  const Rgb8Image source = noise_image(state.range(0), state.range(1));
  for (auto _ : state) benchmark::DoNotOptimize(resize_like_pillow(source, 224, 224));
  state.SetItemsProcessed(state.iterations());
}
BENCHMARK(BM_ResizeLikePillow)->Args({100, 100})->Args({4032, 3024})->Unit(benchmark::kMicrosecond);

void BM_PreprocessKeras(benchmark::State& state) {
  const Rgb8Image image = noise_image(224, 224);
  std::vector<float> out(image.pixels.size());
  for (auto _ : state) {
    preprocess_keras(image, out.data());
    benchmark::DoNotOptimize(out.data());
  }
}
BENCHMARK(BM_PreprocessKeras)->Unit(benchmark::kMicrosecond);

}  // namespace
}  // namespace pomona

BENCHMARK_MAIN();
