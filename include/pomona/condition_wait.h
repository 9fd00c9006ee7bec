// Binds std::condition_variable::wait(unique_lock&) to the symbol version every libstdc++ since
// GCC 4.4 has (GLIBCXX_3.4.11). GCC 12 added a second, default version (GLIBCXX_3.4.30) that
// libstdc++ before GCC 12 lacks: one reference to it makes a binary manylinux_2_35 and keeps it
// off Amazon Linux 2023 (EMR 7) and RHEL 9. The two differ only under pthread_cancel, which
// Pomona never uses. Include this in each file that calls wait(); tools/check_wheel.py fails a
// wheel whose files need GLIBCXX_3.4.30.
#pragma once

#include <condition_variable>

#if defined(__GLIBCXX__) && defined(__ELF__)
__asm__(
    ".symver _ZNSt18condition_variable4waitERSt11unique_lockISt5mutexE,"
    "_ZNSt18condition_variable4waitERSt11unique_lockISt5mutexE@GLIBCXX_3.4.11");
#endif
