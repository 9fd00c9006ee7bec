// MobileNetV2 exactly as Keras builds it (keras/applications/mobilenet_v2.py): the list of
// convolution layers for a spec, the weight shapes that list needs, and the FeatureExtractor that
// runs it on oneDNN primitives (one file per operator under ops/).
#pragma once

#include <map>
#include <memory>
#include <mutex>
#include <oneapi/dnnl/dnnl.hpp>
#include <string>
#include <utility>
#include <vector>

#include "ops/batch_norm.h"
#include "ops/plan.h"
#include "pomona/model.h"

namespace pomona::model {

// Keras' _make_divisible: value rounded to the nearest multiple of divisor, never more than
// 10% below it.
int make_divisible(double value, int divisor);

// Precision::kBf16 keeps the layers up to this one in fp32 (MobileNetV2Network::
// first_bf16_layer(), bf16_layout()).
inline constexpr const char* kLastFp32LayerInBf16 = "block_6_project";

// A Conv2D or DepthwiseConv2D of the network with the BatchNormalization that follows it.
struct ConvLayerSpec {
  enum class Kind { kConv2D, kDepthwiseConv2D };
  Kind kind = Kind::kConv2D;
  std::string name;        // the convolution layer, e.g. "block_3_depthwise"
  std::string batch_norm;  // e.g. "block_3_depthwise_BN"
  int kernel_size = 1;
  int stride = 1;
  int in_channels = 0;
  int out_channels = 0;
  bool relu6 = false;        // followed by ReLU(6.)
  bool zero_padded = false;  // ZeroPadding2D(correct_pad) then padding='valid', else 'same'
  bool residual = false;     // a block's projection, added to the block's input
  bool ends_block = false;   // its output is the next block's input

  // The Keras shape of the convolution's only weight (kernel or depthwise_kernel).
  std::vector<int64_t> kernel_shape() const;
};

// The convolutions in Keras' order, from Conv1 to Conv_1; global average pooling follows.
// Throws JobError(kConfiguration) for an alpha Keras does not publish or a size below 32.
std::vector<ConvLayerSpec> mobilenet_v2_layers(const MobileNetV2Spec& spec);

// Throws JobError(kConfiguration) naming the weights file, the layer and both shapes when a
// layer's arrays do not have the shapes spec needs (e.g. alpha 0.35 weights used for 1.0).
void check_weights(const KerasWeights& weights, const MobileNetV2Spec& spec);

class MobileNetV2Network final : public FeatureExtractor {
 public:
  // Builds the plan for max_batch images at the calling thread's compute thread count; plans
  // for other batch sizes or thread counts are built (once) on first use.
  MobileNetV2Network(const KerasWeights& weights, const MobileNetV2Spec& spec, int max_batch,
                     Precision precision);

  std::unique_ptr<Context> new_context() const override;
  void extract(Context& context, const float* input, int n, float* features) const override;
  const MobileNetV2Spec& spec() const override { return spec_; }
  int max_batch() const override { return max_batch_; }
  Precision precision() const override { return precision_; }
  int feature_dim() const override { return layers_.back().out_channels; }

  // "layer: implementation" for each primitive that runs batch images on the calling thread,
  // e.g. "block_1_expand: jit_1x1:avx2"; reorders are named after the layer they feed or
  // "features".
  std::vector<std::string> primitive_implementations(int batch) const;

 private:
  // oneDNN primitives are tuned for, and run with, the thread count they were created with, so
  // there is one plan per (calling thread's compute threads, batch size).
  const Plan& plan_for(int batch) const;
  // The layers from this index on run in bf16 (none in Precision::kFp32), with their kernels
  // rounded by round_to_bf16_keeping_channel_sums(). Those before, Conv1 to
  // kLastFp32LayerInBf16 (every block whose input is 28x28 or larger), stay in fp32: rounding
  // there moves the features most. On the seeded 1.0/224 weights and the 180 Fruits-360 sample
  // photos, the features' median difference to fp32's is 0.54 % of their norm and leave-one-out
  // 1-NN labels equal fp32's for 99.4 % of the photos; with Conv1 to block_1_project only in
  // fp32, 1.2 % and 96 % (README "Precision").
  size_t first_bf16_layer() const;
  Plan build_plan(int batch, int threads) const;

  MobileNetV2Spec spec_;
  int max_batch_;
  Precision precision_;
  std::vector<ConvLayerSpec> layers_;
  std::vector<FoldedConvolution> folded_;  // one per layer of layers_
  dnnl::engine engine_;
  mutable ConstantCache constants_;
  mutable std::mutex plans_mutex_;
  mutable std::map<std::pair<int, int>, std::unique_ptr<Plan>> plans_;
};

}  // namespace pomona::model
