// resize_like_pillow fed by a decoder, row strip by row strip. Internal to pomona_image.
#pragma once

#include <memory>
#include <vector>

#include "decode_common.h"
#include "pomona/image.h"
#include "resize_kernels.h"

namespace pomona::image_internal {

// An RgbRowSink that resizes to width x height as the rows arrive. When Pillow runs the
// horizontal pass first (the usual case of shrinking a photo), each strip of source rows goes
// through that pass as soon as it is decoded, and only the narrow result is kept: the full-size
// image never exists, memory is one strip plus width*3 bytes per source row. Otherwise (Pillow
// goes vertically first, or an axis keeps its length) the rows are collected whole and resized at
// the end. Either way finish() gives the bytes of resize_like_pillow on the whole image.
class RowStreamResizer final : public RgbRowSink {
 public:
  // Requires width > 0 and height > 0.
  RowStreamResizer(int width, int height);

  void start(int src_width, int src_height) override;
  Rows next_rows() override;
  void rows_written(int count) override;

  // Requires start() and every source row written.
  Rgb8Image finish();

 private:
  const int width_;
  const int height_;
  ImageRowSink whole_;  // when not streaming
  bool streaming_ = false;
  int src_width_ = 0;
  int next_row_ = 0;
  int strip_rows_ = 0;
  std::vector<uint8_t> strip_;
  const ResizeKernels* kernels_ = nullptr;
  std::shared_ptr<const AxisWeights> horizontal_;
  std::shared_ptr<const AxisWeights> vertical_;
  int first_needed_row_ = 0;  // the source rows some output row reads: [first, end)
  int end_needed_row_ = 0;
  std::vector<uint8_t> resized_rows_;  // horizontal pass of rows [first, end)
};

}  // namespace pomona::image_internal
