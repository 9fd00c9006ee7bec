#include "mobilenet_v2.h"

#include <omp.h>

#include <algorithm>
#include <cmath>
#include <sstream>
#include <stdexcept>
#include <unordered_map>

#include "ops/bf16_weights.h"
#include "ops/conv.h"
#include "ops/depthwise_conv.h"
#include "ops/expand_depthwise_conv.h"
#include "ops/global_avg_pool.h"
#include "pomona/error.h"

namespace pomona::model {

namespace {

// The inverted residual blocks: expansion t, filters c (before alpha), repeats n, stride s.
struct BlockGroup {
  int expansion, filters, repeats, stride;
};
constexpr BlockGroup kBlockGroups[] = {{1, 16, 1, 1}, {6, 24, 2, 2},  {6, 32, 3, 2}, {6, 64, 4, 2},
                                       {6, 96, 3, 1}, {6, 160, 3, 2}, {6, 320, 1, 1}};
constexpr float kPublishedAlphas[] = {0.35f, 0.5f, 0.75f, 1.0f, 1.3f, 1.4f};

std::string describe(const MobileNetV2Spec& spec) {
  std::ostringstream out;
  out << "MobileNetV2 alpha " << spec.alpha << " size " << spec.size;
  return out.str();
}

std::string shape_string(const std::vector<int64_t>& shape) {
  std::ostringstream out;
  out << '(';
  for (size_t i = 0; i < shape.size(); ++i) out << (i ? ", " : "") << shape[i];
  out << ')';
  return out.str();
}

// Keras imagenet_utils.correct_pad for a 3x3 kernel: one row before only when size is odd.
Padding correct_pad(int size, int kernel_size) {
  return {kernel_size / 2 - (1 - size % 2), kernel_size / 2};
}

// The block input x must survive until the projection adds to it, and each layer writes to a
// slot that neither its input nor x occupies.
int free_slot(const Operand& input, const Operand& block_input) {
  for (int slot = 0; slot < kActivationSlots; ++slot) {
    if (slot != input.slot && slot != block_input.slot) return slot;
  }
  throw std::logic_error("no free activation slot");
}

}  // namespace

int make_divisible(double value, int divisor) {
  int rounded = std::max(divisor, static_cast<int>(value + divisor / 2.0) / divisor * divisor);
  if (rounded < 0.9 * value) rounded += divisor;
  return rounded;
}

std::vector<int64_t> ConvLayerSpec::kernel_shape() const {
  if (kind == Kind::kDepthwiseConv2D) return {kernel_size, kernel_size, in_channels, 1};
  return {kernel_size, kernel_size, in_channels, out_channels};
}

std::vector<ConvLayerSpec> mobilenet_v2_layers(const MobileNetV2Spec& spec) {
  if (std::find(std::begin(kPublishedAlphas), std::end(kPublishedAlphas), spec.alpha) ==
          std::end(kPublishedAlphas) ||
      spec.size < 32) {
    throw JobError(ExitCode::kConfiguration,
                   describe(spec) +
                       " is not a Keras MobileNetV2: alpha must be one of 0.35, 0.5, 0.75, 1.0, "
                       "1.3, 1.4 and size at least 32");
  }
  // The double nearest the decimal alpha, as Python's literal is (1.3f * 160 < 208 < 1.3 * 160).
  const double alpha = std::round(spec.alpha * 100.0) / 100.0;
  using Kind = ConvLayerSpec::Kind;

  std::vector<ConvLayerSpec> layers;
  int channels = make_divisible(32 * alpha, 8);
  layers.push_back(
      {Kind::kConv2D, "Conv1", "bn_Conv1", 3, 2, 3, channels, true, false, false, true});
  int block_id = 0;
  for (const BlockGroup& group : kBlockGroups) {
    for (int repeat = 0; repeat < group.repeats; ++repeat, ++block_id) {
      const int stride = repeat == 0 ? group.stride : 1;
      const int out = make_divisible(static_cast<int>(group.filters * alpha), 8);
      const std::string prefix =
          block_id ? "block_" + std::to_string(block_id) + "_" : "expanded_conv_";
      int expanded = channels;
      if (block_id) {
        expanded = group.expansion * channels;
        layers.push_back({Kind::kConv2D, prefix + "expand", prefix + "expand_BN", 1, 1, channels,
                          expanded, true, false, false, false});
      }
      layers.push_back({Kind::kDepthwiseConv2D, prefix + "depthwise", prefix + "depthwise_BN", 3,
                        stride, expanded, expanded, true, stride == 2, false, false});
      layers.push_back({Kind::kConv2D, prefix + "project", prefix + "project_BN", 1, 1, expanded,
                        out, false, false, stride == 1 && channels == out, true});
      channels = out;
    }
  }
  // Keras widens the last convolution only for alpha > 1.
  const int last = alpha > 1.0 ? make_divisible(1280 * alpha, 8) : 1280;
  layers.push_back(
      {Kind::kConv2D, "Conv_1", "Conv_1_bn", 1, 1, channels, last, true, false, false, true});
  return layers;
}

void check_weights(const KerasWeights& weights, const MobileNetV2Spec& spec) {
  const auto check = [&](const std::string& layer, const std::vector<std::vector<int64_t>>& need) {
    const std::vector<WeightTensor>& arrays = weights.layer(layer);
    if (arrays.size() != need.size()) {
      throw JobError(ExitCode::kConfiguration, "weights " + weights.source() + ": layer '" + layer +
                                                   "' has " + std::to_string(arrays.size()) +
                                                   " arrays, " + describe(spec) + " needs " +
                                                   std::to_string(need.size()));
    }
    for (size_t i = 0; i < need.size(); ++i) {
      if (arrays[i].shape != need[i]) {
        throw JobError(ExitCode::kConfiguration,
                       "weights " + weights.source() + ": layer '" + layer + "' has shape " +
                           shape_string(arrays[i].shape) + ", " + describe(spec) + " needs " +
                           shape_string(need[i]) + " (weights for another alpha?)");
      }
    }
  };
  for (const ConvLayerSpec& layer : mobilenet_v2_layers(spec)) {
    check(layer.name, {layer.kernel_shape()});
    const std::vector<int64_t> channels = {layer.out_channels};
    check(layer.batch_norm, {channels, channels, channels, channels});
  }
}

namespace {

// A Context's buffers: three activation slots and a scratchpad, and for each plan it has run,
// that plan's arguments bound to them.
class NetworkContext final : public FeatureExtractor::Context {
 public:
  struct Binding {
    std::vector<std::unordered_map<int, dnnl::memory>> args;  // one map per step
    dnnl::memory input;
    dnnl::memory output;
  };

  explicit NetworkContext(const dnnl::engine& engine) : engine_(engine), stream_(engine) {}

  dnnl::stream& stream() { return stream_; }

  const Binding& bind(const Plan& plan) {
    if (auto found = bindings_.find(&plan); found != bindings_.end()) return found->second;
    for (int slot = 0; slot < kActivationSlots; ++slot) grow(slots_[slot], plan.slot_bytes[slot]);
    grow(scratchpad_, plan.scratchpad_bytes);

    Binding& binding = bindings_[&plan];
    for (const Step& step : plan.steps) {
      std::unordered_map<int, dnnl::memory>& args = binding.args.emplace_back();
      for (const auto& [id, operand] : step.args) args[id] = bound(operand, binding);
      if (step.scratchpad.get_size() > 0) {
        args[DNNL_ARG_SCRATCHPAD] =
            dnnl::memory(step.scratchpad, engine_, scratchpad_.get_data_handle());
      }
    }
    return binding;
  }

 private:
  dnnl::memory bound(const Operand& operand, Binding& binding) {
    switch (operand.place) {
      case Operand::Place::kSlot:
        return dnnl::memory(operand.desc, engine_, slots_[operand.slot].get_data_handle());
      case Operand::Place::kInput:
        if (!binding.input) binding.input = dnnl::memory(operand.desc, engine_, DNNL_MEMORY_NONE);
        return binding.input;
      case Operand::Place::kOutput:
        if (!binding.output) binding.output = dnnl::memory(operand.desc, engine_, DNNL_MEMORY_NONE);
        return binding.output;
      case Operand::Place::kConstant:
        return operand.constant;
    }
    throw std::logic_error("unknown operand place");
  }

  // Replacing a buffer invalidates every binding made over the old one.
  void grow(dnnl::memory& buffer, size_t bytes) {
    if (bytes == 0 || (buffer && buffer.get_desc().get_size() >= bytes)) return;
    bindings_.clear();
    buffer = dnnl::memory({{static_cast<dnnl::memory::dim>(bytes)},
                           dnnl::memory::data_type::u8,
                           dnnl::memory::format_tag::a},
                          engine_);
  }

  dnnl::engine engine_;
  dnnl::stream stream_;
  dnnl::memory slots_[kActivationSlots];
  dnnl::memory scratchpad_;
  std::map<const Plan*, Binding> bindings_;
};

}  // namespace

MobileNetV2Network::MobileNetV2Network(const KerasWeights& weights, const MobileNetV2Spec& spec,
                                       int max_batch, Precision precision)
    : spec_(spec),
      max_batch_(max_batch),
      precision_(precision),
      layers_(mobilenet_v2_layers(spec)),
      engine_(dnnl::engine::kind::cpu, 0) {
  if (max_batch < 1) throw std::invalid_argument("max_batch must be at least 1");
  if (precision == Precision::kBf16 && !cpu_has_native_bf16()) {
    throw JobError(ExitCode::kConfiguration,
                   "precision bf16 needs a CPU with native bf16 (AVX512-BF16 or AMX), which this "
                   "one lacks: use fp32");
  }
  check_weights(weights, spec);
  const size_t bf16_from = first_bf16_layer();
  for (size_t i = 0; i < layers_.size(); ++i) {
    const ConvLayerSpec& layer = layers_[i];
    folded_.push_back(
        fold_batch_norm(weights.layer(layer.name)[0], weights.layer(layer.batch_norm)));
    if (i >= bf16_from)
      round_to_bf16_keeping_channel_sums(folded_.back().kernel, layer.out_channels);
  }
  plan_for(max_batch);
}

Plan MobileNetV2Network::build_plan(int batch, int threads) const {
  PlanBuilder builder(engine_, constants_, batch, threads);
  Operand tensor{Operand::Place::kInput,
                 -1,
                 dnnl::memory::desc({batch, 3, spec_.size, spec_.size},
                                    dnnl::memory::data_type::f32, dnnl::memory::format_tag::nhwc),
                 {}};
  Operand block_input = tensor;
  using data_type = dnnl::memory::data_type;
  const size_t bf16_from = first_bf16_layer();
  // Layer i's parameters for an input of the given size.
  const auto params_of = [&](size_t i, int size) {
    const ConvLayerSpec& layer = layers_[i];
    const data_type compute = i < bf16_from ? data_type::f32 : data_type::bf16;
    return ConvolutionParams{layer.name,
                             layer.kernel_size,
                             layer.stride,
                             layer.zero_padded
                                 ? correct_pad(size, layer.kernel_size)
                                 : same_padding(size, layer.kernel_size, layer.stride),
                             layer.out_channels,
                             layer.relu6,
                             compute,
                             i + 1 == layers_.size() ? data_type::f32 : compute};
  };
  for (size_t i = 0; i < layers_.size(); ++i) {
    const ConvLayerSpec& layer = layers_[i];
    const int size = static_cast<int>(tensor.desc.dims()[2]);
    const ConvolutionParams params = params_of(i, size);
    tensor = builder.converted(layer.name, tensor, params.compute, free_slot(tensor, block_input));
    // A block's expand and its depthwise as one primitive where oneDNN has a kernel for it.
    if (layer.kind == ConvLayerSpec::Kind::kConv2D && layer.kernel_size == 1 &&
        i + 1 < layers_.size() && layers_[i + 1].kind == ConvLayerSpec::Kind::kDepthwiseConv2D &&
        params_of(i + 1, size).compute == params.compute) {
      if (auto fused =
              expand_depthwise_conv2d(builder, tensor, params, folded_[i], params_of(i + 1, size),
                                      folded_[i + 1], free_slot(tensor, block_input))) {
        tensor = *fused;
        ++i;
        continue;
      }
    }
    if (layer.kind == ConvLayerSpec::Kind::kDepthwiseConv2D) {
      tensor =
          depthwise_conv2d(builder, tensor, params, folded_[i], free_slot(tensor, block_input));
    } else if (layer.residual) {
      tensor = conv2d_add(builder, tensor, params, folded_[i], block_input);
    } else {
      tensor = conv2d(builder, tensor, params, folded_[i], free_slot(tensor, block_input));
    }
    if (layer.ends_block) block_input = tensor;
  }
  global_avg_pool(builder, tensor, free_slot(tensor, tensor));
  return builder.finish();
}

size_t MobileNetV2Network::first_bf16_layer() const {
  if (precision_ != Precision::kBf16) return layers_.size();
  const auto stem_end =
      std::find_if(layers_.begin(), layers_.end(),
                   [](const ConvLayerSpec& layer) { return layer.name == kLastFp32LayerInBf16; });
  return stem_end - layers_.begin() + 1;
}

const Plan& MobileNetV2Network::plan_for(int batch) const {
  const int threads = omp_get_max_threads();
  std::lock_guard lock(plans_mutex_);
  std::unique_ptr<Plan>& plan = plans_[{threads, batch}];
  if (!plan) plan = std::make_unique<Plan>(build_plan(batch, threads));
  return *plan;
}

std::unique_ptr<FeatureExtractor::Context> MobileNetV2Network::new_context() const {
  return std::make_unique<NetworkContext>(engine_);
}

void MobileNetV2Network::extract(Context& context, const float* input, int n,
                                 float* features) const {
  if (n < 1 || n > max_batch_) {
    throw std::invalid_argument("extract: batch of " + std::to_string(n) + " images, max_batch " +
                                std::to_string(max_batch_));
  }
  auto& network_context = static_cast<NetworkContext&>(context);
  const Plan& plan = plan_for(n);
  const NetworkContext::Binding& binding = network_context.bind(plan);
  binding.input.set_data_handle(const_cast<float*>(input));
  binding.output.set_data_handle(features);
  for (size_t i = 0; i < plan.steps.size(); ++i) {
    plan.steps[i].primitive.execute(network_context.stream(), binding.args[i]);
  }
  network_context.stream().wait();
}

std::vector<std::string> MobileNetV2Network::primitive_implementations(int batch) const {
  std::vector<std::string> implementations;
  for (const Step& step : plan_for(batch).steps) {
    implementations.push_back(step.layer + ": " + step.implementation);
  }
  return implementations;
}

}  // namespace pomona::model

namespace pomona {

std::unique_ptr<FeatureExtractor> FeatureExtractor::create(const KerasWeights& weights,
                                                           const MobileNetV2Spec& spec,
                                                           int max_batch, Precision precision) {
  return std::make_unique<model::MobileNetV2Network>(weights, spec, max_batch, precision);
}

const char* precision_name(Precision precision) {
  return precision == Precision::kBf16 ? "bf16" : "fp32";
}

Precision parse_precision(const std::string& name) {
  for (Precision precision : {Precision::kFp32, Precision::kBf16}) {
    if (name == precision_name(precision)) return precision;
  }
  throw JobError(ExitCode::kConfiguration, "precision '" + name + "' is not one of fp32, bf16");
}

const char* bf16_layout() {
  // A change to first_bf16_layer() or to the rounding of bf16 weights must change this text.
  static const std::string layout = std::string("fp32 to ") + model::kLastFp32LayerInBf16 +
                                    "; bf16 kernels keep their channel sums";
  return layout.c_str();
}

bool cpu_has_native_bf16() {
  const unsigned isa = dnnl_get_effective_cpu_isa();
  return (isa & dnnl_cpu_isa_avx512_core_bf16) == dnnl_cpu_isa_avx512_core_bf16;
}

void set_compute_threads(int threads) { omp_set_num_threads(std::max(threads, 1)); }

}  // namespace pomona
