#include "ops/global_avg_pool.h"

namespace pomona::model {

void global_avg_pool(PlanBuilder& builder, const Operand& src, int scratch_slot) {
  const dnnl::memory::dims src_dims = src.desc.dims();
  const dnnl::memory::dims dst_dims = {src_dims[0], src_dims[1], 1, 1};
  const dnnl::memory::desc any_dst(dst_dims, dnnl::memory::data_type::f32,
                                   dnnl::memory::format_tag::any);
  const dnnl::pooling_forward::desc description(
      dnnl::prop_kind::forward_inference, dnnl::algorithm::pooling_avg_exclude_padding, src.desc,
      any_dst, {1, 1}, {src_dims[2], src_dims[3]}, {0, 0}, {0, 0});
  const dnnl::pooling_forward::primitive_desc descriptor(description, builder.attributes(),
                                                         builder.engine());

  const Operand features{
      Operand::Place::kOutput,
      -1,
      dnnl::memory::desc(dst_dims, dnnl::memory::data_type::f32, dnnl::memory::format_tag::nchw),
      {}};
  const bool plain = descriptor.dst_desc() == features.desc;
  const Operand pooled = plain ? features : Operand::in_slot(scratch_slot, descriptor.dst_desc());
  builder.add("global_average_pooling2d", dnnl::pooling_forward(descriptor), descriptor,
              {{DNNL_ARG_SRC, src}, {DNNL_ARG_DST, pooled}});
  if (!plain) builder.reorder("features", pooled, features);
}

}  // namespace pomona::model
