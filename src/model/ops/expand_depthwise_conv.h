// A block's expand Conv2D (1x1, ReLU6) and the DepthwiseConv2D (3x3, ReLU6) after it as one
// oneDNN convolution with a depthwise post-op: the expanded tensor is made row by row in the
// cache and never written out whole.
#pragma once

#include <optional>

#include "ops/conv.h"

namespace pomona::model {

// src: the block's N x C x H x W input; the two layers' params and folded weights as conv2d and
// depthwise_conv2d take them. Returns the depthwise output in dst_slot, or nothing (and adds
// nothing) where oneDNN has no JIT kernel for the fusion (2.6 fuses only blocked layouts, and
// only where the 1x1's input is larger than twice the L2 cache: blocks 1-3 at 1.0/224 on Zen4)
// or the activation layout is oneDNN's choice (AVX2), where it was not measured faster.
// Zen4, 1 thread, batch 1: the network 1.05x faster in fp32, 1.10x in bf16; features unchanged.
std::optional<Operand> expand_depthwise_conv2d(PlanBuilder& builder, const Operand& src,
                                               const ConvolutionParams& expand,
                                               const FoldedConvolution& expand_weights,
                                               const ConvolutionParams& depthwise,
                                               const FoldedConvolution& depthwise_weights,
                                               int dst_slot);

}  // namespace pomona::model
