// resize_like_pillow on every instruction set this CPU runs, on sizes and pixels taken from the
// input: each must stay in bounds and all must give the same bytes (the scalar path is the
// reference; the vector paths read past row ends and are where an off-by-one would hide).
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <vector>

#include "pomona/image.h"
#include "resize_kernels.h"

namespace {

using pomona::Rgb8Image;
using pomona::image_internal::ResizeIsa;

constexpr int kMaxSide = 512;

// Takes bytes from the front of the input; zeros once it runs out.
class InputReader {
 public:
  InputReader(const uint8_t* data, size_t size) : data_(data), size_(size) {}
  int side() {  // 1..kMaxSide
    const int high = next_byte();
    return ((high << 8) | next_byte()) % kMaxSide + 1;
  }
  // Fills pixels with the rest of the input, repeated (the sizes would usually ask for more).
  void fill(std::vector<uint8_t>& pixels) {
    if (used_ == size_) return;  // zeros
    const uint8_t* rest = data_ + used_;
    const size_t rest_size = size_ - used_;
    for (size_t i = 0; i < pixels.size(); i += rest_size) {
      std::memcpy(pixels.data() + i, rest, std::min(rest_size, pixels.size() - i));
    }
  }

 private:
  uint8_t next_byte() { return used_ < size_ ? data_[used_++] : 0; }
  const uint8_t* data_;
  size_t size_;
  size_t used_ = 0;
};

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  static const std::vector<ResizeIsa> isas = pomona::image_internal::available_resize_isas();
  InputReader input(data, size);
  Rgb8Image source;
  source.width = input.side();
  source.height = input.side();
  const int width = input.side();
  const int height = input.side();
  // Exactly width*height*3 bytes: ASan catches any read past the source.
  source.pixels.resize(static_cast<size_t>(source.width) * source.height * 3);
  input.fill(source.pixels);

  const Rgb8Image reference =
      pomona::image_internal::resize_like_pillow_on(ResizeIsa::kScalar, source, width, height);
  if (reference.width != width || reference.height != height ||
      reference.pixels.size() != static_cast<size_t>(width) * height * 3) {
    std::abort();
  }
  for (ResizeIsa isa : isas) {
    const Rgb8Image resized =
        pomona::image_internal::resize_like_pillow_on(isa, source, width, height);
    if (resized.width != width || resized.height != height || resized.pixels != reference.pixels) {
      std::abort();  // the instruction sets disagree
    }
  }
  return 0;
}
