#include "ops/depthwise_conv.h"

namespace pomona::model {

dnnl::memory::desc depthwise_weights(const ConvolutionParams& params) {
  // oneDNN's grouped weights are (groups, out/group, in/group, kh, kw); hwigo puts them in
  // Keras' (kh, kw, channels, multiplier) order.
  return {{params.out_channels, 1, 1, params.kernel_size, params.kernel_size},
          dnnl::memory::data_type::f32,
          dnnl::memory::format_tag::hwigo};
}

Operand depthwise_conv2d(PlanBuilder& builder, const Operand& src, const ConvolutionParams& params,
                         const FoldedConvolution& weights, int dst_slot) {
  return convolution(builder, src, params, depthwise_weights(params), weights, dst_slot, nullptr);
}

}  // namespace pomona::model
