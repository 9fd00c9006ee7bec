#include "ops/plan.h"

#include <algorithm>

namespace pomona::model {

dnnl::memory ConstantCache::get(const dnnl::engine& engine, const std::string& key,
                                const dnnl::memory::desc& user_desc, const float* values,
                                const dnnl::memory::desc& desc) {
  std::lock_guard lock(mutex_);
  for (const Entry& entry : entries_) {
    if (entry.key == key && entry.desc == desc) return entry.memory;
  }
  dnnl::memory user(user_desc, engine, const_cast<float*>(values));
  dnnl::memory memory(desc, engine);
  dnnl::stream stream(engine);
  dnnl::reorder(user, memory).execute(stream, user, memory);
  stream.wait();
  entries_.push_back({key, desc, memory});
  return memory;
}

dnnl::memory::format_tag activation_layout_for_this_cpu() {
  const unsigned isa = dnnl_get_effective_cpu_isa();
  return (isa & dnnl_cpu_isa_avx512_core) == dnnl_cpu_isa_avx512_core
             ? dnnl::memory::format_tag::nChw16c
             : dnnl::memory::format_tag::any;
}

PlanBuilder::PlanBuilder(const dnnl::engine& engine, ConstantCache& constants, int batch,
                         int threads)
    : engine_(engine), activation_layout_(activation_layout_for_this_cpu()), constants_(constants) {
  plan_.batch = batch;
  plan_.threads = threads;
}

dnnl::primitive_attr PlanBuilder::attributes(const dnnl::post_ops& post_ops) const {
  dnnl::primitive_attr attr;
  attr.set_scratchpad_mode(dnnl::scratchpad_mode::user);
  attr.set_post_ops(post_ops);
  return attr;
}

void PlanBuilder::add(const std::string& layer, const dnnl::primitive& primitive,
                      const dnnl::primitive_desc_base& descriptor,
                      std::vector<std::pair<int, Operand>> args) {
  for (const auto& [id, operand] : args) {
    if (operand.place == Operand::Place::kSlot) {
      size_t& bytes = plan_.slot_bytes[operand.slot];
      bytes = std::max(bytes, operand.desc.get_size());
    }
  }
  const dnnl::memory::desc scratchpad = descriptor.scratchpad_desc();
  plan_.scratchpad_bytes = std::max(plan_.scratchpad_bytes, scratchpad.get_size());
  plan_.steps.push_back(
      {layer, primitive, descriptor.impl_info_str(), std::move(args), scratchpad});
}

void PlanBuilder::reorder(const std::string& layer, const Operand& src, const Operand& dst) {
  dnnl::reorder::primitive_desc descriptor(engine_, src.desc, engine_, dst.desc, attributes());
  add(layer, dnnl::reorder(descriptor), descriptor, {{DNNL_ARG_FROM, src}, {DNNL_ARG_TO, dst}});
}

Operand PlanBuilder::reordered(const std::string& layer, const Operand& src,
                               const dnnl::memory::desc& desc, int slot) {
  if (src.desc == desc) return src;
  Operand dst = Operand::in_slot(slot, desc);
  reorder(layer, src, dst);
  return dst;
}

Operand PlanBuilder::converted(const std::string& layer, const Operand& src,
                               dnnl::memory::data_type data_type, int slot) {
  dnnl_memory_desc_t desc = src.desc.data;
  desc.data_type = static_cast<dnnl_data_type_t>(data_type);
  return reordered(layer, src, dnnl::memory::desc(desc), slot);
}

Operand PlanBuilder::constant(const std::string& key, const dnnl::memory::desc& user_desc,
                              const float* values, const dnnl::memory::desc& desc) {
  return {Operand::Place::kConstant, -1, desc,
          constants_.get(engine_, key, user_desc, values, desc)};
}

}  // namespace pomona::model
