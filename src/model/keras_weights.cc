// KerasWeights::load: reads Keras weights files with the HDF5 C API.
//
// Two layouts are understood (see tests/fixtures/keras/README.md for how they were found):
//  - legacy H5 (Keras 2 / tf_keras save_weights, and the files Keras publishes): the root (or
//    /model_weights in a full-model file) has attribute `layer_names`; each layer's group has
//    attribute `weight_names`, and the arrays are datasets at `<layer>/<weight name>`.
//    String attributes are fixed-length in old files and variable-length in newer ones.
//  - Keras 3 `.weights.h5`: groups `layers/<class>[_n]/vars` whose attribute `name` is the
//    layer's name, holding datasets `0`, `1`, ... in the layer's variable order.
#include <hdf5.h>

#include <algorithm>
#include <filesystem>
#include <iterator>
#include <map>
#include <span>
#include <string>
#include <utility>
#include <vector>

#include "pomona/error.h"
#include "pomona/io.h"
#include "pomona/model.h"
#include "weights_sandbox.h"

namespace pomona {

JobError weights_file_error(const std::string& path, const std::string& what) {
  return JobError(ExitCode::kConfiguration, "weights file " + path + " " + what);
}

namespace {

JobError configuration_error(const std::string& path, const std::string& what) {
  return weights_file_error(path, what);
}

// The message for any read that fails once the file has opened: HDF5 found its header but
// not the data it points to.
JobError damaged_error(const std::string& path) {
  return configuration_error(path, "is truncated or damaged: download or save the weights again");
}

// Owns one HDF5 identifier and closes it with the matching H5?close.
class Handle {
 public:
  Handle(hid_t id, herr_t (*close)(hid_t)) : id_(id), close_(close) {}
  Handle(Handle&& other) noexcept : id_(std::exchange(other.id_, -1)), close_(other.close_) {}
  Handle& operator=(Handle&&) = delete;
  ~Handle() {
    if (id_ >= 0) close_(id_);
  }
  hid_t get() const { return id_; }
  bool valid() const { return id_ >= 0; }

 private:
  hid_t id_;
  herr_t (*close_)(hid_t);
};

// HDF5 prints its error stack to stderr by default; errors here become JobErrors instead.
class SilenceHdf5Errors {
 public:
  SilenceHdf5Errors() {
    H5Eget_auto2(H5E_DEFAULT, &function_, &data_);
    H5Eset_auto2(H5E_DEFAULT, nullptr, nullptr);
  }
  ~SilenceHdf5Errors() { H5Eset_auto2(H5E_DEFAULT, function_, data_); }

 private:
  H5E_auto2_t function_ = nullptr;
  void* data_ = nullptr;
};

class Reader {
 public:
  explicit Reader(std::string path) : path_(std::move(path)) {}

  bool has_attribute(hid_t object, const char* name) const { return H5Aexists(object, name) > 0; }

  bool has_layer_names(hid_t object) const {
    return has_attribute(object, "layer_names") || has_attribute(object, "layer_names0");
  }

  bool has_link(hid_t group, const std::string& name) const {
    return H5Lexists(group, name.c_str(), H5P_DEFAULT) > 0;
  }

  Handle open_group(hid_t parent, const std::string& name) const {
    Handle group(H5Gopen2(parent, name.c_str(), H5P_DEFAULT), H5Gclose);
    if (!group.valid()) throw damaged_error(path_);
    return group;
  }

  // A string or array-of-strings attribute, fixed- or variable-length. An empty array of any
  // type (tf_keras writes `weight_names` of a layer without weights as float64[0]) is {}.
  std::vector<std::string> string_attribute(hid_t object, const char* name) const {
    Handle attribute(H5Aopen(object, name, H5P_DEFAULT), H5Aclose);
    if (!attribute.valid()) throw damaged_error(path_);
    Handle space(H5Aget_space(attribute.get()), H5Sclose);
    Handle type(H5Aget_type(attribute.get()), H5Tclose);
    const hssize_t count = H5Sget_simple_extent_npoints(space.get());
    if (count < 0) throw damaged_error(path_);
    if (count == 0) return {};
    if (H5Tget_class(type.get()) != H5T_STRING) {
      throw configuration_error(path_, std::string("has attribute ") + name +
                                           " that is not text: give a file written by Keras");
    }
    std::vector<std::string> strings;
    strings.reserve(count);
    if (H5Tis_variable_str(type.get()) > 0) {
      Handle memory_type(H5Tcopy(H5T_C_S1), H5Tclose);
      H5Tset_size(memory_type.get(), H5T_VARIABLE);
      // HDF5 does not convert between ASCII and UTF-8 (Keras 3 writes UTF-8): read as stored.
      H5Tset_cset(memory_type.get(), H5Tget_cset(type.get()));
      std::vector<char*> buffer(count, nullptr);
      if (H5Aread(attribute.get(), memory_type.get(), buffer.data()) < 0) {
        throw damaged_error(path_);
      }
      for (char* s : buffer) strings.emplace_back(s ? s : "");
      H5Dvlen_reclaim(memory_type.get(), space.get(), H5P_DEFAULT, buffer.data());
    } else {
      const size_t size = H5Tget_size(type.get());
      std::vector<char> buffer(size * count);
      if (H5Aread(attribute.get(), type.get(), buffer.data()) < 0) throw damaged_error(path_);
      for (hssize_t i = 0; i < count; ++i) {
        std::string s(buffer.data() + i * size, size);
        // Fixed-length strings are padded with NULs (h5py) or spaces (Fortran style).
        s.erase(s.find_last_not_of(std::string("\0 ", 2)) + 1);
        strings.push_back(std::move(s));
      }
    }
    return strings;
  }

  // tf_keras splits attributes over 64 KiB into `name0`, `name1`, ...
  std::vector<std::string> maybe_chunked_string_attribute(hid_t object,
                                                          const std::string& name) const {
    if (has_attribute(object, name.c_str())) return string_attribute(object, name.c_str());
    std::vector<std::string> strings;
    for (int chunk = 0; has_attribute(object, (name + std::to_string(chunk)).c_str()); ++chunk) {
      auto part = string_attribute(object, (name + std::to_string(chunk)).c_str());
      strings.insert(strings.end(), part.begin(), part.end());
    }
    return strings;
  }

  // Any floating-point dataset, converted by HDF5 to float32.
  WeightTensor tensor(hid_t group, const std::string& name) {
    Handle dataset(H5Dopen2(group, name.c_str(), H5P_DEFAULT), H5Dclose);
    if (!dataset.valid()) {
      throw configuration_error(
          path_, "lists weight " + name + " but does not hold it: save the weights again");
    }
    Handle type(H5Dget_type(dataset.get()), H5Tclose);
    if (H5Tget_class(type.get()) != H5T_FLOAT) {
      throw configuration_error(
          path_, "holds weight " + name + " that is not floating point: give a Keras file");
    }
    Handle space(H5Dget_space(dataset.get()), H5Sclose);
    const int rank = H5Sget_simple_extent_ndims(space.get());
    if (rank < 0) throw damaged_error(path_);
    std::vector<hsize_t> dims(rank);
    H5Sget_simple_extent_dims(space.get(), dims.data(), nullptr);
    WeightTensor tensor;
    size_t count = 1;
    for (hsize_t d : dims) {
      // A damaged header can declare any size: refuse before allocating for it.
      if (d > kMaxWeightValues || count * d > kMaxWeightValues - values_read_) {
        throw damaged_error(path_);
      }
      tensor.shape.push_back(static_cast<int64_t>(d));
      count *= d;
    }
    values_read_ += count;
    tensor.values.resize(count);
    if (count > 0 && H5Dread(dataset.get(), H5T_NATIVE_FLOAT, H5S_ALL, H5S_ALL, H5P_DEFAULT,
                             tensor.values.data()) < 0) {
      throw damaged_error(path_);
    }
    return tensor;
  }

  // Legacy layout rooted at `root` (the file, or /model_weights).
  void read_legacy(hid_t root, KerasLayers& layers) {
    for (const std::string& layer : maybe_chunked_string_attribute(root, "layer_names")) {
      if (!has_link(root, layer)) {
        throw configuration_error(path_, "lists layer " + layer +
                                             " in layer_names but has no group for it: "
                                             "save the weights again");
      }
      Handle group = open_group(root, layer);
      std::vector<WeightTensor>& arrays = layers[layer];
      for (const std::string& weight :
           maybe_chunked_string_attribute(group.get(), "weight_names")) {
        arrays.push_back(tensor(group.get(), weight));
      }
    }
  }

  // Keras 3 layout: every layers/<group>/vars, named by its `name` attribute.
  void read_keras3(hid_t root, KerasLayers& layers) {
    Handle layers_group = open_group(root, "layers");
    std::vector<std::string> groups;
    H5Literate(
        layers_group.get(), H5_INDEX_NAME, H5_ITER_INC, nullptr,
        [](hid_t, const char* name, const H5L_info_t*, void* out) -> herr_t {
          static_cast<std::vector<std::string>*>(out)->emplace_back(name);
          return 0;
        },
        &groups);
    for (const std::string& group_name : groups) {
      const std::string vars_path = group_name + "/vars";
      if (!has_link(layers_group.get(), group_name) || !has_link(layers_group.get(), vars_path)) {
        continue;  // older Keras 3 versions write no vars group for layers without weights
      }
      Handle vars = open_group(layers_group.get(), vars_path);
      if (!has_attribute(vars.get(), "name")) {
        throw configuration_error(path_, "has Keras 3 group layers/" + group_name +
                                             " without a layer name (saved by an older Keras "
                                             "3): save it again with a current Keras");
      }
      const std::vector<std::string> name = string_attribute(vars.get(), "name");
      if (name.size() != 1) throw damaged_error(path_);
      std::vector<WeightTensor>& arrays = layers[name[0]];
      for (int index = 0; has_link(vars.get(), std::to_string(index)); ++index) {
        arrays.push_back(tensor(vars.get(), std::to_string(index)));
      }
    }
  }

 private:
  std::string path_;
  size_t values_read_ = 0;  // over all tensors so far, at most kMaxWeightValues
};

// Whether file starts like HDF5: its signature at offset 0, 512, 1024, 2048, ... (where HDF5
// looks for the superblock, after a user block).
bool has_hdf5_signature(std::span<const uint8_t> file) {
  static constexpr uint8_t kSignature[] = {0x89, 'H', 'D', 'F', '\r', '\n', 0x1a, '\n'};
  for (size_t at = 0; at + sizeof kSignature <= file.size(); at = at == 0 ? 512 : 2 * at) {
    if (std::equal(std::begin(kSignature), std::end(kSignature), file.begin() + at)) return true;
  }
  return false;
}

}  // namespace

KerasLayers read_keras_layers(std::span<const uint8_t> file, const std::string& path) {
  if (!has_hdf5_signature(file)) {
    throw configuration_error(
        path, "is not an HDF5 file: give a Keras weights .h5 file (as save_weights writes)");
  }
  SilenceHdf5Errors silence;
  // HDF5 reads the bytes in memory (its core driver, no backing file), lent rather than copied.
  // It refuses to open an image under the name of a file that exists: this name cannot exist.
  Handle access(H5Pcreate(H5P_FILE_ACCESS), H5Pclose);
  struct Lent {
    void* data;
    size_t size;
  } lent{const_cast<uint8_t*>(file.data()), file.size()};
  H5FD_file_image_callbacks_t lend = {
      .image_malloc = [](size_t size, H5FD_file_image_op_t, void* udata) -> void* {
        const Lent& image = *static_cast<const Lent*>(udata);
        return size == image.size ? image.data : nullptr;
      },
      .image_memcpy = [](void* dest, const void*, size_t, H5FD_file_image_op_t,
                         void*) { return dest; },  // both are the lent bytes
      .image_realloc = [](void*, size_t, H5FD_file_image_op_t, void*) -> void* {
        return nullptr;  // read-only
      },
      .image_free = [](void*, H5FD_file_image_op_t, void*) -> herr_t { return 0; },
      .udata_copy = [](void* udata) { return udata; },
      .udata_free = [](void*) -> herr_t { return 0; },
      .udata = &lent};
  if (!access.valid() || H5Pset_fapl_core(access.get(), 1 << 20, false) < 0 ||
      H5Pset_file_image_callbacks(access.get(), &lend) < 0 ||
      H5Pset_file_image(access.get(), lent.data, lent.size) < 0) {
    throw damaged_error(path);
  }
  Handle opened(H5Fopen("/dev/null/weights.h5", H5F_ACC_RDONLY, access.get()), H5Fclose);
  if (!opened.valid()) throw damaged_error(path);

  Reader reader(path);
  KerasLayers layers;
  const hid_t root = opened.get();
  if (reader.has_layer_names(root)) {
    reader.read_legacy(root, layers);
  } else if (reader.has_link(root, "model_weights") &&
             reader.has_layer_names(reader.open_group(root, "model_weights").get())) {
    Handle model_weights = reader.open_group(root, "model_weights");
    reader.read_legacy(model_weights.get(), layers);
  } else if (reader.has_link(root, "layers")) {
    reader.read_keras3(root, layers);
  } else {
    throw configuration_error(path,
                              "is HDF5 but not Keras weights (no layer_names attribute and no "
                              "layers group): give a file written by Keras save_weights");
  }
  return layers;
}

const std::vector<WeightTensor>& KerasWeights::layer(const std::string& name) const {
  auto it = layers_.find(name);
  if (it == layers_.end()) {
    throw configuration_error(
        source_, "has no layer " + name + ": give weights of a Keras MobileNetV2 model");
  }
  return it->second;
}

}  // namespace pomona
