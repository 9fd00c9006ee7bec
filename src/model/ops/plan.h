// A Plan is the network unrolled into oneDNN primitives for one batch size and thread count:
// an ordered list of steps whose arguments are either constants (weights, shared by every
// Context) or places a Context provides (activation slots, the caller's input and output).
// Ops (conv.h, depthwise_conv.h, global_avg_pool.h) append their primitives through a
// PlanBuilder; a Context binds the places to its own buffers once per plan.
#pragma once

#include <cstddef>
#include <memory>
#include <mutex>
#include <oneapi/dnnl/dnnl.hpp>
#include <string>
#include <utility>
#include <vector>

namespace pomona::model {

// Activations ping-pong between this many buffers; a residual block needs three (its input,
// the expanded tensor and the depthwise output).
inline constexpr int kActivationSlots = 3;

// A primitive argument: what it is and, for activations, its oneDNN layout.
struct Operand {
  enum class Place { kSlot, kInput, kOutput, kConstant };
  Place place = Place::kSlot;
  int slot = -1;  // kSlot: index of the Context's activation buffer
  dnnl::memory::desc desc;
  dnnl::memory constant;  // kConstant: weights or bias, read-only, shared by all Contexts

  static Operand in_slot(int slot, const dnnl::memory::desc& desc) {
    return {Place::kSlot, slot, desc, {}};
  }
};

struct Step {
  std::string layer;  // the Keras layer it computes (or "input"/"features" for reorders)
  dnnl::primitive primitive;
  std::string implementation;  // oneDNN's impl_info_str, e.g. "jit_1x1:avx2"
  std::vector<std::pair<int, Operand>> args;
  dnnl::memory::desc scratchpad;
};

struct Plan {
  int batch = 0;
  int threads = 0;
  std::vector<Step> steps;
  std::vector<size_t> slot_bytes = std::vector<size_t>(kActivationSlots, 0);
  size_t scratchpad_bytes = 0;
};

// Weights reordered into the layout a primitive asked for, kept once per (layer, layout) so
// that plans for other batch sizes or thread counts share them.
class ConstantCache {
 public:
  dnnl::memory get(const dnnl::engine& engine, const std::string& key,
                   const dnnl::memory::desc& user_desc, const float* values,
                   const dnnl::memory::desc& desc);

 private:
  struct Entry {
    std::string key;
    dnnl::memory::desc desc;
    dnnl::memory memory;
  };
  std::mutex mutex_;
  std::vector<Entry> entries_;
};

// AVX-512 (oneDNN 2.6 and 3.2 alike, 1 thread, batch 1, on Zen4): activations blocked by 16
// channels (nChw16c, jit_1x1 and jit_dw kernels) take 0.86x the time of the NHWC layout that
// `any` picks there (brgconv_1x1, brdgmm_dw) in fp32, and 0.93x in bf16. Elsewhere `any`: on
// AVX2 it already picks oneDNN's blocked kernels.
dnnl::memory::format_tag activation_layout_for_this_cpu();

class PlanBuilder {
 public:
  PlanBuilder(const dnnl::engine& engine, ConstantCache& constants, int batch, int threads);

  const dnnl::engine& engine() const { return engine_; }
  // The layout every convolution writes its output in (activation_layout_for_this_cpu()).
  dnnl::memory::format_tag activation_layout() const { return activation_layout_; }
  int batch() const { return plan_.batch; }
  // Attributes every primitive is created with: scratchpad owned by the Context, so that
  // Contexts on different threads never share one.
  dnnl::primitive_attr attributes(const dnnl::post_ops& post_ops = {}) const;

  void add(const std::string& layer, const dnnl::primitive& primitive,
           const dnnl::primitive_desc_base& descriptor, std::vector<std::pair<int, Operand>> args);
  void reorder(const std::string& layer, const Operand& src, const Operand& dst);
  // src itself when it already has layout desc, else a reorder of it into slot.
  Operand reordered(const std::string& layer, const Operand& src, const dnnl::memory::desc& desc,
                    int slot);
  // src in the same layout with elements of type data_type (src itself when already so),
  // converted into slot.
  Operand converted(const std::string& layer, const Operand& src, dnnl::memory::data_type data_type,
                    int slot);
  // values (laid out as user_desc) in layout desc, reordered once per layout.
  Operand constant(const std::string& key, const dnnl::memory::desc& user_desc, const float* values,
                   const dnnl::memory::desc& desc);

  Plan finish() { return std::move(plan_); }

 private:
  dnnl::engine engine_;
  dnnl::memory::format_tag activation_layout_;
  ConstantCache& constants_;
  Plan plan_;
};

}  // namespace pomona::model
