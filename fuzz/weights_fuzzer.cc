// KerasWeights::load on arbitrary bytes written to a file (HDF5 reads files, not memory).
// A JobError is the expected refusal; anything else (another exception, a crash, a leak, UB, a
// hang or an unbounded allocation) is a bug.
#include <unistd.h>

#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <string>

#include "pomona/error.h"
#include "pomona/model.h"

namespace {

// One file per process, in memory when /dev/shm exists, removed at exit.
const std::string& scratch_path() {
  static const std::string path = [] {
    const char* dir = access("/dev/shm", W_OK) == 0 ? "/dev/shm" : "/tmp";
    std::string p = std::string(dir) + "/pomona_weights_fuzzer_" + std::to_string(getpid()) + ".h5";
    std::atexit([] { std::remove(scratch_path().c_str()); });
    return p;
  }();
  return path;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string& path = scratch_path();
  std::FILE* file = std::fopen(path.c_str(), "wb");
  if (file == nullptr) std::abort();
  if (size > 0 && std::fwrite(data, 1, size, file) != size) std::abort();
  std::fclose(file);
  try {
    pomona::KerasWeights weights = pomona::KerasWeights::load(path);
    for (const auto& [name, tensors] : weights.mutable_layers()) {
      for (const pomona::WeightTensor& tensor : tensors) {
        size_t count = 1;
        for (int64_t d : tensor.shape) count *= static_cast<size_t>(d);
        if (count != tensor.values.size()) std::abort();  // shape and values must agree
      }
    }
  } catch (const pomona::JobError& refused) {
    if (std::string(refused.what()).empty()) std::abort();
  }
  return 0;
}
