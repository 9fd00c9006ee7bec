// resize_like_pillow's loops with AVX-512: 16 lanes of 32-bit sums. Only called when the CPU
// has AVX512F and AVX512BW (resize.cc checks); the pragma gives these functions, and only these,
// AVX-512.
#include <immintrin.h>

#include <cstddef>
#include <cstdint>
#include <cstring>
#include <vector>

#include "resize_kernels.h"

// clang ignores GCC's target pragma; its own attribute pragma does the same (the fuzz build).
#if defined(__clang__)
#pragma clang attribute push(__attribute__((target("avx512f,avx512bw"))), apply_to = function)
#else
#pragma GCC push_options
#pragma GCC target("avx512f,avx512bw")
#endif
// GCC 12 warns inside its own AVX-512 headers (their _mm512_undefined_* values) once inlined.
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wmaybe-uninitialized"

namespace pomona::image_internal {
namespace {

struct Avx512 {
  using Vec = __m512i;
  static constexpr size_t kLanes = 16;

  static Vec load_bytes(const uint8_t* p) {
    return _mm512_cvtepu8_epi32(_mm_loadu_si128(reinterpret_cast<const __m128i*>(p)));
  }
  static Vec load(const int32_t* p) { return _mm512_loadu_si512(p); }
  static Vec broadcast(int32_t value) { return _mm512_set1_epi32(value); }
  static Vec add(Vec a, Vec b) { return _mm512_add_epi32(a, b); }
  static Vec multiply_add(Vec sum, Vec a, Vec b) { return add(sum, _mm512_mullo_epi32(a, b)); }
  // Five pixels of taps per vector (lanes 0..14): pixel pairs, then pairs of pairs, then the
  // fifth pixel, each brought down onto lanes 0..2 by shifting lanes in zeros from above.
  static Vec sum_pixels(Vec sums) {
    const Vec zero = _mm512_setzero_si512();
    const Vec pairs = add(sums, _mm512_alignr_epi32(zero, sums, 3));
    const Vec fours = add(pairs, _mm512_alignr_epi32(zero, pairs, 6));
    return add(fours, _mm512_alignr_epi32(zero, sums, 12));
  }
  static void store_clipped(Vec sums, uint8_t* out) {
    const Vec shifted = _mm512_srai_epi32(sums, kPrecisionBits);
    const __m128i bytes = _mm512_cvtusepi32_epi8(_mm512_max_epi32(shifted, _mm512_setzero_si512()));
    _mm_storeu_si128(reinterpret_cast<__m128i*>(out), bytes);
  }
};

}  // namespace
}  // namespace pomona::image_internal

#include "resize_simd.h"

namespace pomona::image_internal {

const ResizeKernels& avx512_kernels() { return simd::kernels<Avx512>(); }

}  // namespace pomona::image_internal

#pragma GCC diagnostic pop
#if defined(__clang__)
#pragma clang attribute pop
#else
#pragma GCC pop_options
#endif
