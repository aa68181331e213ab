#pragma once
// A token alone streams its weights from memory once, and one core's hardware prefetchers
// kept too few lines in flight: asking for the line 4 KiB ahead of each one read made
// bench-8k's decode 1.2-1.8x faster (BF16, Q8_0, Q4_0, Q4_K_M at 1 and 2 threads, on the
// interleaved rows, the rows alone and both float paths); 1 and 2 KiB did less well, 8 KiB
// no better (docs/PERFORMANCE.md).
namespace moescope::cpu {

constexpr int prefetch_distance_bytes = 4096;

[[gnu::always_inline]] inline void prefetch_ahead(const void* p) {
  __builtin_prefetch(static_cast<const char*>(p) + prefetch_distance_bytes);
}

// The same for every line of the `bytes` bytes at p.
template <int bytes>
[[gnu::always_inline]] inline void prefetch_ahead_span(const void* p) {
  for (int line = 0; line < bytes; line += 64) prefetch_ahead(static_cast<const char*>(p) + line);
}

}  // namespace moescope::cpu
