#include "kernels/gemm.h"

#include <cublas_v2.h>

#include <algorithm>
#include <string>

#include "core/error.h"
#include "kernels/widen.h"

namespace moescope::cuda {
namespace {

void check_cublas(cublasStatus_t status, const char* what) {
  if (status == CUBLAS_STATUS_SUCCESS) return;
  throw EngineError(std::string("cuBLAS error in ") + what + ": " + cublasGetStatusName(status) +
                    " (" + cublasGetStatusString(status) + ")");
}

}  // namespace

Gemm::Gemm(cudaStream_t stream, float* widened, std::int64_t widen_elems, void* workspace,
           std::size_t workspace_bytes)
    : stream_(stream), widened_(widened), widen_elems_(widen_elems) {
  check_cublas(cublasCreate(&handle_), "creating the cuBLAS handle");
  try {
    check_cublas(cublasSetStream(handle_, stream_), "cublasSetStream");
    check_cublas(cublasSetWorkspace(handle_, workspace, workspace_bytes), "cublasSetWorkspace");
    check_cublas(cublasSetMathMode(handle_, CUBLAS_PEDANTIC_MATH), "cublasSetMathMode");
  } catch (...) {
    cublasDestroy(handle_);
    throw;
  }
}

Gemm::~Gemm() {
  cublasDestroy(handle_);
}

void Gemm::run(const DeviceMatrix& w, const float* x, int n, float* y) {
  if (n == 0 || w.rows == 0) return;
  const float one = 1.0f, zero = 0.0f;
  const bool f32 = w.dtype == DType::f32;
  // Row-major W [rows, cols] is column-major W^T; y^T [rows, n] = W · x^T.
  const std::int64_t chunk = f32 ? w.rows : std::max<std::int64_t>(1, widen_elems_ / w.cols);
  for (std::int64_t r0 = 0; r0 < w.rows; r0 += chunk) {
    const int rows = static_cast<int>(std::min<std::int64_t>(chunk, w.rows - r0));
    const float* a = static_cast<const float*>(w.data) + r0 * w.cols;
    if (!f32) {
      const char* src = static_cast<const char*>(w.data) + r0 * w.cols * dtype_size(w.dtype);
      launch_widen(src, w.dtype, std::int64_t(rows) * w.cols, widened_, stream_);
      a = widened_;
    }
    check_cublas(cublasGemmEx(handle_, CUBLAS_OP_T, CUBLAS_OP_N, rows, n, w.cols, &one, a,
                              CUDA_R_32F, w.cols, x, CUDA_R_32F, w.cols, &zero, y + r0, CUDA_R_32F,
                              w.rows, CUBLAS_COMPUTE_32F, CUBLAS_GEMM_DEFAULT),
                 "cublasGemmEx");
  }
}

}  // namespace moescope::cuda
