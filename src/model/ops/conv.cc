#include "ops/conv.h"

#include <algorithm>

namespace pomona::model {

using dims = dnnl::memory::dims;
using tag = dnnl::memory::format_tag;
using data_type = dnnl::memory::data_type;

Padding same_padding(int size, int kernel_size, int stride) {
  const int out = (size + stride - 1) / stride;
  const int total = std::max((out - 1) * stride + kernel_size - size, 0);
  return {total / 2, total - total / 2};
}

dnnl::memory::dim output_size(dnnl::memory::dim size, const ConvolutionParams& params) {
  return (size + params.padding.before + params.padding.after - params.kernel_size) /
             params.stride +
         1;
}

dnnl::memory::desc conv2d_weights(dnnl::memory::dim in_channels, const ConvolutionParams& params) {
  return {{params.out_channels, in_channels, params.kernel_size, params.kernel_size},
          data_type::f32,
          tag::hwio};
}

Operand convolution(PlanBuilder& builder, const Operand& src, const ConvolutionParams& params,
                    const dnnl::memory::desc& user_weights, const FoldedConvolution& weights,
                    int dst_slot, const Operand* residual) {
  const dims src_dims = src.desc.dims();
  const dims dst_dims = {src_dims[0], params.out_channels, output_size(src_dims[2], params),
                         output_size(src_dims[3], params)};
  // Activations stay in the layout the previous primitive chose; only the network input
  // (given as NHWC) is reordered into the layout this convolution prefers.
  const bool from_input = src.place == Operand::Place::kInput;
  const dnnl::memory::desc src_desc =
      from_input ? dnnl::memory::desc(src_dims, params.compute, tag::any) : src.desc;
  const dnnl::memory::desc any_weights(user_weights.dims(), params.compute, tag::any);
  const dnnl::memory::desc bias({params.out_channels}, data_type::f32, tag::a);
  // The sum post-op accumulates into dst, so dst must keep the residual's layout.
  const dnnl::memory::desc dst =
      residual ? residual->desc
               : dnnl::memory::desc(dst_dims, params.output, builder.activation_layout());

  dnnl::post_ops post_ops;
  if (residual) post_ops.append_sum(1.0f);
  if (params.relu6) post_ops.append_eltwise(1.0f, dnnl::algorithm::eltwise_clip, 0.0f, 6.0f);

  const dnnl::convolution_forward::desc description(
      dnnl::prop_kind::forward_inference, dnnl::algorithm::convolution_direct, src_desc,
      any_weights, bias, dst, {params.stride, params.stride},
      {params.padding.before, params.padding.before}, {params.padding.after, params.padding.after});
  const dnnl::convolution_forward::primitive_desc descriptor(
      description, builder.attributes(post_ops), builder.engine());

  const Operand input = from_input ? builder.reordered("input", src, descriptor.src_desc(),
                                                       (dst_slot + 1) % kActivationSlots)
                                   : src;
  const Operand output = residual ? *residual : Operand::in_slot(dst_slot, descriptor.dst_desc());
  builder.add(
      params.layer, dnnl::convolution_forward(descriptor), descriptor,
      {{DNNL_ARG_SRC, input},
       {DNNL_ARG_WEIGHTS, builder.constant(params.layer + "/kernel", user_weights,
                                           weights.kernel.data(), descriptor.weights_desc())},
       {DNNL_ARG_BIAS, builder.constant(params.layer + "/bias", bias, weights.bias.data(),
                                        descriptor.bias_desc())},
       {DNNL_ARG_DST, output}});
  return output;
}

Operand conv2d(PlanBuilder& builder, const Operand& src, const ConvolutionParams& params,
               const FoldedConvolution& weights, int dst_slot) {
  return convolution(builder, src, params, conv2d_weights(src.desc.dims()[1], params), weights,
                     dst_slot, nullptr);
}

Operand conv2d_add(PlanBuilder& builder, const Operand& src, const ConvolutionParams& params,
                   const FoldedConvolution& weights, const Operand& residual) {
  return convolution(builder, src, params, conv2d_weights(src.desc.dims()[1], params), weights,
                     residual.slot, &residual);
}

}  // namespace pomona::model
