#pragma once
// Reads the last element of every tensor view, so AddressSanitizer catches a view that
// reaches past its mapping (fuzz_safetensors, fuzz_safetensors_index).
#include <cstdint>

#include "model/tensor_view.h"

namespace moescope::fuzz {

inline const TensorView& view_of(const TensorView& view) {
  return view;
}
inline const TensorView& view_of(const TensorView* view) {
  return *view;
}

// `views`: a map from names to TensorView (a file's) or to const TensorView* (an archive's).
template <class Views>
void read_every_view_to_its_end(const Views& views) {
  volatile float sink = 0;
  for (const auto& entry : views) {
    const TensorView& view = view_of(entry.second);
    const std::int64_t n = view.numel();
    if (n > 0 && n < (1 << 20)) {
      float last = 0;
      widen(view, n - 1, 1, &last);
      sink = sink + last;
    }
  }
}

}  // namespace moescope::fuzz
