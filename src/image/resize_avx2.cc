// resize_like_pillow's loops with AVX2: 8 lanes of 32-bit sums. Only called when the CPU has
// AVX2 (resize.cc checks); the pragma gives these functions, and only these, AVX2.
#include <immintrin.h>

#include <cstddef>
#include <cstdint>
#include <cstring>
#include <vector>

#include "resize_kernels.h"

// clang ignores GCC's target pragma; its own attribute pragma does the same (the fuzz build).
#if defined(__clang__)
#pragma clang attribute push(__attribute__((target("avx2"))), apply_to = function)
#else
#pragma GCC push_options
#pragma GCC target("avx2")
#endif

namespace pomona::image_internal {
namespace {

struct Avx2 {
  using Vec = __m256i;
  static constexpr size_t kLanes = 8;

  static Vec load_bytes(const uint8_t* p) {
    return _mm256_cvtepu8_epi32(_mm_loadl_epi64(reinterpret_cast<const __m128i*>(p)));
  }
  static Vec load(const int32_t* p) { return _mm256_loadu_si256(reinterpret_cast<const Vec*>(p)); }
  static Vec broadcast(int32_t value) { return _mm256_set1_epi32(value); }
  static Vec add(Vec a, Vec b) { return _mm256_add_epi32(a, b); }
  static Vec multiply_add(Vec sum, Vec a, Vec b) { return add(sum, _mm256_mullo_epi32(a, b)); }
  // Two pixels of taps per vector (lanes 0..5): lanes 0..2 += lanes 3..5.
  static Vec sum_pixels(Vec sums) {
    return add(sums, _mm256_permutevar8x32_epi32(sums, _mm256_setr_epi32(3, 4, 5, 6, 7, 0, 0, 0)));
  }
  // Signed then unsigned saturating packs clip to 0..255 (the shifted sums fit in 16 bits).
  static void store_clipped(Vec sums, uint8_t* out) {
    const Vec shifted = _mm256_srai_epi32(sums, kPrecisionBits);
    const __m128i words =
        _mm_packs_epi32(_mm256_castsi256_si128(shifted), _mm256_extracti128_si256(shifted, 1));
    _mm_storel_epi64(reinterpret_cast<__m128i*>(out), _mm_packus_epi16(words, words));
  }
};

}  // namespace
}  // namespace pomona::image_internal

#include "resize_simd.h"

namespace pomona::image_internal {

const ResizeKernels& avx2_kernels() { return simd::kernels<Avx2>(); }

}  // namespace pomona::image_internal

#if defined(__clang__)
#pragma clang attribute pop
#else
#pragma GCC pop_options
#endif
