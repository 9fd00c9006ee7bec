// Reading Keras weights with HDF5 in a child process, so that HDF5's own bugs on a hostile file
// (Debian's 1.10.8 crashes or loops forever on a damaged global heap) end as a one-line JobError
// instead of taking the job down. KerasWeights::load() reads through here; the weights fuzzer
// calls it with a shorter timeout.
#pragma once

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <map>
#include <span>
#include <string>
#include <vector>

#include "pomona/error.h"
#include "pomona/model.h"

namespace pomona {

using KerasLayers = std::map<std::string, std::vector<WeightTensor>>;

// Ten times the float32 values of the largest Keras MobileNetV2 (alpha 1.4 with top: 6.2 M):
// a file that declares more is damaged, and neither process allocates for it.
inline constexpr size_t kMaxWeightValues = size_t{1} << 26;

// Reads the bytes of the weights file `path` in this process with HDF5 (keras_weights.cc), from
// memory. Throws JobError(kConfiguration) naming path for bytes that are not HDF5, damaged or not
// Keras weights, but HDF5 itself may crash or hang on a hostile file: call it only in a process
// that may die.
KerasLayers read_keras_layers(std::span<const uint8_t> file, const std::string& path);

// The JobError(kConfiguration) for the weights file path: "weights file PATH what".
JobError weights_file_error(const std::string& path, const std::string& what);

struct SandboxLimits {
  // How long the child may take before it is killed and the file called damaged.
  std::chrono::milliseconds timeout{60'000};
  // Address space the child may add to what it inherits, so HDF5 cannot exhaust memory: room
  // for kMaxWeightValues floats (256 MiB) and HDF5's own buffers.
  size_t extra_address_space_bytes = size_t{2} << 30;
};

// read_keras_layers() run in a forked child that sends the arrays back through a pipe. Its
// JobErrors come back as they are; a child that crashes, runs out of limits.timeout or of
// address space, or sends a malformed answer becomes JobError(kConfiguration) saying the file is
// damaged. Blocks the calling thread; safe to call from a multithreaded process (the child
// touches only HDF5, which the parent never initialises, and malloc).
KerasLayers read_keras_layers_in_child(std::span<const uint8_t> file, const std::string& path,
                                       const SandboxLimits& limits);

}  // namespace pomona
