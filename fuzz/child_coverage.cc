// Built without coverage instrumentation (fuzz/CMakeLists.txt): an instrumented file that names
// __start___sancov_cntrs makes the instrumentation rename its own reference, and the counters
// then reach libFuzzer as an empty range.
#include "child_coverage.h"

#include <pthread.h>
#include <sys/mman.h>
#include <unistd.h>

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <cstdlib>

// The coverage counters of this binary (-fsanitize=fuzzer), delimited by the linker.
extern "C" uint8_t __start___sancov_cntrs[];
extern "C" uint8_t __stop___sancov_cntrs[];

namespace {

uint8_t* pages_begin = nullptr;  // the pages holding the counters
size_t pages_size = 0;
uint8_t* shared = nullptr;  // as large as those pages, shared with every child

// The child's pages hold what the parent's did at fork(): copy them into the shared region,
// then move the region over them (the other globals on those pages are the child's alone).
// Whole pages include the redzones ASan puts between globals: copied without its checks, and
// byte by byte through volatile so the compiler does not call its (checked) memcpy.
__attribute__((no_sanitize("address"))) void in_child() {
  const volatile uint8_t* from = pages_begin;
  for (size_t i = 0; i < pages_size; ++i) shared[i] = from[i];
  if (mremap(shared, pages_size, pages_size, MREMAP_MAYMOVE | MREMAP_FIXED, pages_begin) ==
      MAP_FAILED) {
    std::abort();
  }
}

}  // namespace

void install_child_coverage() {
  const uintptr_t page = sysconf(_SC_PAGESIZE);
  const uintptr_t begin = reinterpret_cast<uintptr_t>(__start___sancov_cntrs) & ~(page - 1);
  const uintptr_t end =
      (reinterpret_cast<uintptr_t>(__stop___sancov_cntrs) + page - 1) & ~(page - 1);
  pages_begin = reinterpret_cast<uint8_t*>(begin);
  pages_size = end - begin;
  void* region =
      mmap(nullptr, pages_size, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
  if (region == MAP_FAILED) std::abort();
  shared = static_cast<uint8_t*>(region);
  pthread_atfork(nullptr, nullptr, &in_child);
}

void fold_child_coverage_into_parent() {
  uint8_t* child_counters = shared + (__start___sancov_cntrs - pages_begin);
  const size_t count = __stop___sancov_cntrs - __start___sancov_cntrs;
  for (size_t i = 0; i < count; ++i) {
    __start___sancov_cntrs[i] = std::max(__start___sancov_cntrs[i], child_counters[i]);
  }
  // A child that dies before in_child() ran must not bring back this input's coverage.
  std::fill_n(child_counters, count, 0);
}
