// Keras DepthwiseConv2D(use_bias=False, depth_multiplier=1) with the BatchNormalization after it
// folded in, as a grouped oneDNN convolution (one group per channel).
#pragma once

#include "ops/conv.h"

namespace pomona::model {

// A Keras DepthwiseConv2D kernel (kh, kw, C, 1) as oneDNN grouped weights.
dnnl::memory::desc depthwise_weights(const ConvolutionParams& params);

// src: N x C x H x W activation; kernel: Keras (kh, kw, C, 1) weights with batch norm folded
// in; params.out_channels must be C. Returns the output in dst_slot.
Operand depthwise_conv2d(PlanBuilder& builder, const Operand& src, const ConvolutionParams& params,
                         const FoldedConvolution& weights, int dst_slot);

}  // namespace pomona::model
