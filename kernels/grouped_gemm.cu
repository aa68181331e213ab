#include <cstdint>

#include "cuda_plan/expert_groups.h"
#include "kernels/cuda_error.h"
#include "kernels/device_math.cuh"
#include "kernels/grouped_gemm.h"

namespace moescope::cuda {
namespace {

constexpr int tile_rows = 64;                              // weight rows per block
constexpr int tile_tokens = cuda_plan::group_tile_tokens;  // grouped positions per block
constexpr int tile_cols = 16;                              // columns staged at a time
constexpr int threads = 256;                               // 16 x 16, each 4 rows x 4 positions
// Two floats of padding: the loaders' stores (8 rows x 4 column groups per warp)
// then fall in distinct banks.
constexpr int padded = tile_rows + 2;
static_assert(tile_rows == tile_tokens && threads == tile_rows * tile_cols / 4);

template <DType D>
__global__ void __launch_bounds__(threads)
    grouped_gemm_kernel(const char* first, std::size_t stride_bytes, int rows, int cols,
                        const int* offsets, const int* tiles, GroupedRows io) {
  using T = typename Weight<D>::T;
  const int expert = tiles[2 * blockIdx.y];
  if (expert < 0) return;
  const int position0 = tiles[2 * blockIdx.y + 1];
  const int count = min(tile_tokens, offsets[expert + 1] - position0);
  const int row0 = blockIdx.x * tile_rows;
  if (row0 >= rows) return;

  __shared__ float ws[tile_cols][padded];
  __shared__ float xs[tile_cols][padded];
  const int tid = threadIdx.x, tx = tid % 16, ty = tid / 16;
  // Each thread stages 4 columns of one weight row and of one position's input.
  const int load_i = tid / 4, load_c = (tid % 4) * 4;
  const T* w = nullptr;
  if (row0 + load_i < rows)
    w = reinterpret_cast<const T*>(first + std::size_t(expert) * stride_bytes) +
        std::int64_t(row0 + load_i) * cols;
  const float* x = nullptr;
  if (load_i < count) {
    const int p = position0 + load_i;
    x = io.x + std::int64_t(io.x_rows ? io.x_rows[p] : p) * io.x_stride;
  }

  float acc[4][4] = {};
  for (int c0 = 0; c0 < cols; c0 += tile_cols) {
#pragma unroll
    for (int j = 0; j < 4; ++j) {
      const int c = c0 + load_c + j;
      ws[load_c + j][load_i] = w && c < cols ? Weight<D>::widen(w[c]) : 0.0f;
      xs[load_c + j][load_i] = x && c < cols ? x[c] : 0.0f;
    }
    __syncthreads();
#pragma unroll
    for (int c = 0; c < tile_cols; ++c) {
      float a[4], b[4];
#pragma unroll
      for (int i = 0; i < 4; ++i) a[i] = ws[c][tx + 16 * i];
#pragma unroll
      for (int j = 0; j < 4; ++j) b[j] = xs[c][ty + 16 * j];
#pragma unroll
      for (int i = 0; i < 4; ++i)
#pragma unroll
        for (int j = 0; j < 4; ++j) acc[i][j] += a[i] * b[j];
    }
    __syncthreads();
  }
#pragma unroll
  for (int j = 0; j < 4; ++j) {
    const int t = ty + 16 * j;
    if (t >= count) continue;
    const int p = position0 + t;
    float* out = io.y + std::int64_t(io.y_rows ? io.y_rows[p] : p) * io.y_stride;
#pragma unroll
    for (int i = 0; i < 4; ++i) {
      const int r = row0 + tx + 16 * i;
      if (r < rows) out[r] = acc[i][j];
    }
  }
}

}  // namespace

void launch_grouped_gemm(const DeviceMatrix& first, std::size_t stride_bytes,
                         const DeviceExpertGroups& groups, int slots, int n_experts,
                         const GroupedRows& rows, cudaStream_t stream) {
  if (slots == 0 || first.rows == 0) return;
  const dim3 grid(blocks_for(first.rows, tile_rows), cuda_plan::max_group_tiles(slots, n_experts));
  with_dtype(first.dtype, [&](auto d) {
    constexpr DType D = decltype(d)::value;
    grouped_gemm_kernel<D><<<grid, threads, 0, stream>>>(static_cast<const char*>(first.data),
                                                         stride_bytes, first.rows, first.cols,
                                                         groups.offsets, groups.tiles, rows);
  });
  check_launch("grouped_gemm");
}

}  // namespace moescope::cuda
