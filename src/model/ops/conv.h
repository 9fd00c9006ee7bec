// Keras Conv2D(use_bias=False) with the BatchNormalization after it folded in, as a oneDNN
// convolution. ReLU6 runs as an eltwise post-op and a residual Add as a sum post-op, so each
// convolution reads and writes memory once.
#pragma once

#include <oneapi/dnnl/dnnl.hpp>
#include <string>

#include "ops/batch_norm.h"
#include "ops/plan.h"

namespace pomona::model {

// Zero rows (and columns: images are square) added before and after the input.
struct Padding {
  int before = 0;
  int after = 0;
};

// Keras padding='same' (TensorFlow's rule): output ceil(size / stride), the odd padding
// pixel after.
Padding same_padding(int size, int kernel_size, int stride);

struct ConvolutionParams {
  std::string layer;  // the Keras convolution layer
  int kernel_size = 1;
  int stride = 1;
  Padding padding;
  int out_channels = 0;
  bool relu6 = false;  // followed by Keras ReLU(6.)
  // What src and the kernel are multiplied in (the accumulation is float32 either way) and what
  // the output is stored as. src must already be of type compute unless it is the network input.
  dnnl::memory::data_type compute = dnnl::memory::data_type::f32;
  dnnl::memory::data_type output = dnnl::memory::data_type::f32;
};

// Output rows (and columns: images are square) of a convolution with params over size rows.
dnnl::memory::dim output_size(dnnl::memory::dim size, const ConvolutionParams& params);

// A Keras Conv2D kernel (kh, kw, in_channels, out) as oneDNN OIHW weights.
dnnl::memory::desc conv2d_weights(dnnl::memory::dim in_channels, const ConvolutionParams& params);

// src: N x C x H x W activation; kernel: Keras HWIO weights with batch norm folded in.
// Returns the output in dst_slot.
Operand conv2d(PlanBuilder& builder, const Operand& src, const ConvolutionParams& params,
               const FoldedConvolution& weights, int dst_slot);

// conv2d whose result is added to residual in place (Keras Add of a block's input and its
// projection); returns residual's operand, which then holds the sum.
Operand conv2d_add(PlanBuilder& builder, const Operand& src, const ConvolutionParams& params,
                   const FoldedConvolution& weights, const Operand& residual);

// What conv2d and depthwise_conv2d share: user_weights describes the folded kernel's Keras
// layout in oneDNN terms (grouped for depthwise). residual, when not null, is both the added
// input and the destination.
Operand convolution(PlanBuilder& builder, const Operand& src, const ConvolutionParams& params,
                    const dnnl::memory::desc& user_weights, const FoldedConvolution& weights,
                    int dst_slot, const Operand* residual);

}  // namespace pomona::model
