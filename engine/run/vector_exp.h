#pragma once
// e^x several values at a time: glibc's vector exp and expf (libmvec, the x86-64 vector
// ABI's AVX2 variants; expf within 2.4 ulps of the exact value, exp within 4, by our test)
// where the build has AVX2, else std::exp. Each value's result depends on that value
// alone, wherever it sits in the array.

namespace moescope {

// out[i] = e^in[i] for i in [0, n); out may be in.
void exp_values(const float* in, float* out, int n);
void exp_values(const double* in, double* out, int n);

}  // namespace moescope
