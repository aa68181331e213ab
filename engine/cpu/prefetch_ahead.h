#pragma once
// A token alone streams its weights from memory once, and one core's hardware prefetchers
// alone kept too few lines in flight: asking for the line 4 KiB ahead of each one read
// made bench-8k's 1-thread decode 1.2-1.7x faster (Q4_0, Q8_0, Q4_K_M; distances of 1, 2
// and 8 KiB did less well), docs/PERFORMANCE.md.
#include <immintrin.h>

namespace moescope::cpu {

constexpr int prefetch_distance_bytes = 4096;

[[gnu::always_inline]] inline void prefetch_ahead(const void* p) {
  _mm_prefetch(static_cast<const char*>(p) + prefetch_distance_bytes, _MM_HINT_T0);
}

}  // namespace moescope::cpu
