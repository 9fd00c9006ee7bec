// model/: Keras weights -> MobileNetV2 graph -> 1280-d features, on oneDNN.
// Equal to Keras' MobileNetV2(include_top=True) cut at layers[-2] (global average pooling)
// within float error. Knows nothing of images on disk or tables.
#pragma once

#include <cstdint>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "pomona/error.h"

namespace pomona {

// One of Keras' MobileNetV2 variants. alpha in {0.35, 0.5, 0.75, 1.0, 1.3, 1.4}; size 96..224.
struct MobileNetV2Spec {
  float alpha = 1.0f;
  int size = 224;
};

// A float32 array from a weights file, row-major with Keras' shape (e.g. HWIO for Conv2D).
struct WeightTensor {
  std::vector<int64_t> shape;
  std::vector<float> values;
};

// The weights of a Keras model, by layer name, each layer's arrays in Keras' order
// (Conv2D: kernel[, bias]; DepthwiseConv2D: depthwise_kernel; BatchNormalization: gamma, beta,
// moving_mean, moving_variance; Dense: kernel, bias).
class KerasWeights {
 public:
  // Reads a Keras legacy H5 weights file (root attribute `layer_names`, per-layer `weight_names`,
  // as Keras publishes mobilenet_v2_weights_tf_dim_ordering_tf_kernels_*.h5) or a Keras 3
  // `.weights.h5`. The file is read once, whole: HDF5 parses those bytes, and sha256() is theirs.
  // Throws JobError(kConfiguration) with one line naming the file when it is missing, not HDF5,
  // truncated or not laid out like Keras weights.
  static KerasWeights load(const std::string& path);

  // Requires has(layer). Throws JobError(kConfiguration) naming the layer when absent.
  const std::vector<WeightTensor>& layer(const std::string& name) const;
  bool has(const std::string& name) const { return layers_.count(name) != 0; }
  const std::string& source() const { return source_; }
  // weights_sha256() of the file load() read ("" for weights made in memory).
  const std::string& sha256() const { return sha256_; }

  std::map<std::string, std::vector<WeightTensor>>& mutable_layers() { return layers_; }

 private:
  std::string source_;
  std::string sha256_;
  std::map<std::string, std::vector<WeightTensor>> layers_;
};

// Keras' published file name and URL for a spec, and where Keras caches it:
// $KERAS_HOME/models/ or ~/.keras/models/.
std::string keras_weights_file_name(const MobileNetV2Spec& spec, bool include_top);
std::string keras_weights_url(const MobileNetV2Spec& spec, bool include_top);
std::string keras_cache_dir();
// The cached weights file for spec (with or without top) if one exists, else "".
std::string find_cached_weights(const MobileNetV2Spec& spec);
// Downloads the published weights for spec into keras_cache_dir() (temp file + rename) and
// checks that they load; returns the path. Throws JobError(kInputOutput) on network failure.
std::string fetch_keras_weights(const MobileNetV2Spec& spec, bool include_top);

// Which weights made a set of features: the SHA-256 (sha256_hex, io.h) of the weights file's
// bytes. Featurized files and classification indexes record it; comparing two tells whether
// features are comparable. Throws JobError(kConfiguration) naming the file when it cannot be read.
// KerasWeights::sha256() gives the same for the bytes it loaded, without reading them again.
std::string weights_sha256(const std::string& path);

// How features were made: features are comparable only when all of these are equal. Featurized
// files record it in their metadata (pipeline.h feature_settings), and so do classification
// indexes (classify.h), both as identity_settings.
struct NetworkIdentity {
  float alpha = 1.0f;
  int size = 224;
  std::string weights_sha256;      // weights_sha256() of the weights file
  bool jpeg_draft = false;         // JPEGs decoded as Pillow's Image.draft (batch.h)
  bool exif_transpose = false;     // images turned upright by their EXIF orientation first
  std::string precision = "fp32";  // precision_name
  // bf16_layout() of the Pomona that made bf16 features; empty for fp32, and for bf16 features
  // of a Pomona that did not record it.
  std::string bf16_layout;
  bool operator==(const NetworkIdentity&) const = default;
};

// The identity as metadata (key-value text): pomona.alpha ("%g"), pomona.size,
// pomona.weights_sha256, pomona.jpeg_draft and pomona.exif_transpose ("true"/"false"),
// pomona.precision, and pomona.bf16_layout where the precision is bf16.
std::map<std::string, std::string> identity_settings(const NetworkIdentity& identity);
// The inverse: the identity settings record. A key they lack takes its value from `absent`, or is
// an error when absent is null; errors are one line naming the key ("no pomona.size", "pomona.size
// is not a number: x"). pomona.bf16_layout is the exception: absent, it is empty whatever
// `absent` holds, since features that do not record it were made by an older bf16 layout.
Result<NetworkIdentity> identity_from_settings(const std::map<std::string, std::string>& settings,
                                               const NetworkIdentity* absent = nullptr);

// The arithmetic the network runs in. kFp32: features equal to Keras' within float error.
// kBf16: the later convolutions (bf16_layout()) read and write bfloat16 activations with
// bfloat16 weights, accumulating in float32; the earlier ones, the pooling and the features stay
// float32. About 1.4x the speed where the CPU multiplies bf16 natively (AVX512-BF16, AMX).
enum class Precision { kFp32, kBf16 };

// "fp32" or "bf16".
const char* precision_name(Precision precision);
// Inverse of precision_name. Throws JobError(kConfiguration) naming the value otherwise.
Precision parse_precision(const std::string& name);
// Which convolutions Precision::kBf16 keeps in fp32 and how it rounds weights to bf16, as one
// line of text ("fp32 to block_6_project; bf16 kernels keep their channel sums"). Features of
// another bf16 layout differ from this one's, so featurized outputs and indexes record it
// (NetworkIdentity::bf16_layout): resuming such an output, or querying such an index, with this
// layout is refused rather than mixing the two.
const char* bf16_layout();
// Throws JobError(kConfiguration) when identity is of bf16 features made by another bf16 layout
// than bf16_layout(), in one line that names `what` (a file, "the index") and says to make the
// features again with this version.
void check_bf16_layout(const NetworkIdentity& identity, const std::string& what);
// Whether this CPU has native bf16 dot products (as oneDNN detects them, which also honours
// ONEDNN_MAX_CPU_ISA).
bool cpu_has_native_bf16();

// The MobileNetV2 network built once from weights, executed with oneDNN primitives.
// Thread-safe: many threads may call extract() at once, each with its own Context.
class FeatureExtractor {
 public:
  // Builds the graph for spec with batches of up to max_batch images in precision. Throws
  // JobError(kConfiguration) naming the layer and both shapes when the weights do not fit spec,
  // and in one line when precision is kBf16 but !cpu_has_native_bf16() (emulated bf16 would be
  // slower than fp32 and less exact).
  static std::unique_ptr<FeatureExtractor> create(const KerasWeights& weights,
                                                  const MobileNetV2Spec& spec, int max_batch,
                                                  Precision precision = Precision::kFp32);
  virtual ~FeatureExtractor() = default;

  // Per-thread activation buffers and stream.
  class Context {
   public:
    virtual ~Context() = default;
  };
  virtual std::unique_ptr<Context> new_context() const = 0;

  // input: n (1..max_batch) preprocessed images, NHWC float32 of size x size x 3 each.
  // features: receives n x feature_dim() floats. Runs on the calling thread with as many
  // oneDNN threads as set_compute_threads() gave this thread.
  virtual void extract(Context& context, const float* input, int n, float* features) const = 0;

  virtual const MobileNetV2Spec& spec() const = 0;
  virtual int max_batch() const = 0;
  virtual Precision precision() const = 0;
  virtual int feature_dim() const = 0;  // 1280, or 1280*alpha rounded to 8 when alpha > 1
};

// Sets how many threads oneDNN uses for calls made from the calling thread.
void set_compute_threads(int threads);

}  // namespace pomona
