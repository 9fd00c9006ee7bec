// KerasWeights::load (include/pomona/model.h): reads and hashes the file, then parses its bytes
// in the sandbox. Apart from keras_weights.cc so that the weights fuzzer, which calls the parser
// on bytes, links without io/'s readers.
#include <filesystem>
#include <string>
#include <system_error>
#include <vector>

#include "pomona/error.h"
#include "pomona/io.h"
#include "pomona/model.h"
#include "weights_sandbox.h"

namespace pomona {

// HDF5 runs in a child process: see weights_sandbox.h.
KerasWeights KerasWeights::load(const std::string& path) {
  std::error_code ignored;
  if (!std::filesystem::is_regular_file(path, ignored)) {
    throw weights_file_error(
        path, std::string(std::filesystem::exists(path, ignored) ? "is not a regular file"
                                                                 : "does not exist") +
                  ": give the path of a Keras MobileNetV2 weights .h5 file");
  }
  const Result<std::vector<uint8_t>> file = read_bytes(path);
  if (!file.ok()) throw JobError(ExitCode::kConfiguration, file.error());
  KerasWeights weights;
  weights.source_ = path;
  weights.sha256_ = sha256_hex(file.value());
  weights.layers_ = read_keras_layers_in_child(file.value(), path, SandboxLimits());
  return weights;
}

}  // namespace pomona
