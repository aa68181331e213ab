#pragma once
// The large products of prefill on cuBLAS: y[n, rows] = x[n, cols] · W[rows, cols]^T
// in f32 (cublasGemmEx, CUBLAS_COMPUTE_32F, pedantic math: no TF32), so a batch
// gives the decode path's numbers to rounding. 16-bit weights are widened to f32
// a chunk of rows at a time into a scratch buffer the caller owns.
#include <cuda_runtime_api.h>

#include <cstddef>
#include <cstdint>

#include "kernels/device_matrix.h"

struct cublasContext;

namespace moescope::cuda {

class Gemm {
 public:
  // `widened` holds widen_elems floats; `workspace` is cuBLAS's (no allocation in a call).
  Gemm(cudaStream_t stream, float* widened, std::int64_t widen_elems, void* workspace,
       std::size_t workspace_bytes);
  ~Gemm();
  Gemm(const Gemm&) = delete;
  Gemm& operator=(const Gemm&) = delete;

  void run(const DeviceMatrix& w, const float* x, int n, float* y);

 private:
  cudaStream_t stream_;
  cublasContext* handle_ = nullptr;
  float* widened_;
  std::int64_t widen_elems_;
};

}  // namespace moescope::cuda
