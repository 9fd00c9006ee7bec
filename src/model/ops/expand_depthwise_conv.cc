#include "ops/expand_depthwise_conv.h"

#include "ops/depthwise_conv.h"

namespace pomona::model {

using dims = dnnl::memory::dims;
using tag = dnnl::memory::format_tag;
using data_type = dnnl::memory::data_type;

std::optional<Operand> expand_depthwise_conv2d(PlanBuilder& builder, const Operand& src,
                                               const ConvolutionParams& expand,
                                               const FoldedConvolution& expand_weights,
                                               const ConvolutionParams& depthwise,
                                               const FoldedConvolution& depthwise_weights,
                                               int dst_slot) {
  const dims src_dims = src.desc.dims();
  // The post-op pads after by what its output size needs, which Keras' padding gives here.
  if (builder.activation_layout() == tag::any || src.place == Operand::Place::kInput ||
      depthwise.kernel_size != 3 ||
      output_size(src_dims[2], depthwise) !=
          (src_dims[2] + depthwise.stride - 1) / depthwise.stride) {
    return std::nullopt;
  }
  const dnnl::memory::desc expanded({src_dims[0], expand.out_channels, src_dims[2], src_dims[3]},
                                    expand.output, builder.activation_layout());
  const dnnl::memory::desc user_weights = conv2d_weights(src_dims[1], expand);
  const dnnl::memory::desc any_weights(user_weights.dims(), expand.compute, tag::any);
  const dnnl::memory::desc bias({expand.out_channels}, data_type::f32, tag::a);

  dnnl::post_ops post_ops;
  post_ops.append_eltwise(1.0f, dnnl::algorithm::eltwise_clip, 0.0f, 6.0f);
  post_ops.append_dw(depthwise.compute, data_type::f32, depthwise.output, depthwise.kernel_size,
                     depthwise.stride, depthwise.padding.before, 0, {});
  post_ops.append_eltwise(1.0f, dnnl::algorithm::eltwise_clip, 0.0f, 6.0f);

  const dnnl::convolution_forward::desc description(
      dnnl::prop_kind::forward_inference, dnnl::algorithm::convolution_direct, src.desc,
      any_weights, bias, expanded, {1, 1}, {0, 0}, {0, 0});
  const dnnl::convolution_forward::primitive_desc descriptor(
      description, builder.attributes(post_ops), builder.engine(), true);
  // ref_fused_convolution runs the two primitives one after the other through a buffer.
  if (!descriptor || std::string(descriptor.impl_info_str()).starts_with("ref")) {
    return std::nullopt;
  }

  const int arg_dw_weights = DNNL_ARG_ATTR_POST_OP_DW | DNNL_ARG_WEIGHTS;
  const int arg_dw_bias = DNNL_ARG_ATTR_POST_OP_DW | DNNL_ARG_BIAS;
  const dnnl::memory::desc user_dw_weights = model::depthwise_weights(depthwise);
  const dnnl::memory::desc dw_bias({depthwise.out_channels}, data_type::f32, tag::a);
  const Operand output = Operand::in_slot(dst_slot, descriptor.dst_desc());
  builder.add(
      expand.layer + "+" + depthwise.layer, dnnl::convolution_forward(descriptor), descriptor,
      {{DNNL_ARG_SRC, src},
       {DNNL_ARG_WEIGHTS,
        builder.constant(expand.layer + "/kernel", user_weights, expand_weights.kernel.data(),
                         descriptor.weights_desc())},
       {DNNL_ARG_BIAS, builder.constant(expand.layer + "/bias", bias, expand_weights.bias.data(),
                                        descriptor.bias_desc())},
       {arg_dw_weights,
        builder.constant(depthwise.layer + "/kernel", user_dw_weights,
                         depthwise_weights.kernel.data(),
                         descriptor.query_md(dnnl::query::exec_arg_md, arg_dw_weights))},
       {arg_dw_bias,
        builder.constant(depthwise.layer + "/bias", dw_bias, depthwise_weights.bias.data(),
                         descriptor.query_md(dnnl::query::exec_arg_md, arg_dw_bias))},
       {DNNL_ARG_DST, output}});
  return output;
}

}  // namespace pomona::model
