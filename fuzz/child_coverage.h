// libFuzzer learns coverage from counters in this process's memory, which a forked child's
// writes never reach. These make every child's copy of the counters shared memory, which the
// parent folds into its own counters after the child has ended.
#pragma once

// Call once before the first fork (LLVMFuzzerInitialize).
void install_child_coverage();

// Call after each child has been reaped: its counters become the current input's coverage.
void fold_child_coverage_into_parent();
