// The Keras weights loader on arbitrary bytes, called as KerasWeights::load calls it with the
// bytes it read: HDF5 reads in a child process, which may crash or hang
// (Debian's HDF5 1.10.8 does on a damaged global heap) and is then killed and reported as a
// JobError. The child's timeout is shorter than load()'s 60 s so that libFuzzer's -timeout (10 s)
// still catches a parent that hangs. A JobError is the expected refusal; anything else (another
// exception, a crash, a leak, UB, a hang or an unbounded allocation in this process) is a bug.
// A sanitizer report in the child (HDF5's bugs, seen by ASan's interceptors) kills only the
// child, whose inherited libFuzzer death callback saves the input as a crash-* artifact; the
// parent reports the file as damaged and goes on. child_coverage.h brings the child's coverage
// back, so that the fuzzer is guided by the loader's paths in the child too.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string>

#include "child_coverage.h"
#include "pomona/error.h"
#include "pomona/model.h"
#include "weights_sandbox.h"

extern "C" int LLVMFuzzerInitialize(int*, char***) {
  install_child_coverage();
  return 0;
}

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  // Whether the child answered, refused or died, it has been reaped when the call returns.
  struct FoldCoverageOnReturn {
    ~FoldCoverageOnReturn() { fold_child_coverage_into_parent(); }
  } fold;
  try {
    pomona::SandboxLimits limits;
    limits.timeout = std::chrono::seconds(3);
    // Below libFuzzer's -malloc_limit_mb (2048): HDF5's allocations for a damaged size fail in
    // the child (allocator_may_return_null=1, fuzz/run.sh) rather than trip libFuzzer's OOM
    // report there.
    limits.extra_address_space_bytes = size_t{1} << 30;
    for (const auto& [name, tensors] :
         pomona::read_keras_layers_in_child({data, size}, "input.h5", limits)) {
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
