// 08_mlp: out = L4(relu(L2(relu(L0(x))))), nn.Linear layers (weights [out, in], bias [out]).
//
// Design: the whole MLP is one kernel launch with no scratch memory. A block owns kRows batch
// rows and keeps their activations in shared memory (input, then each hidden layer); every
// layer is computed by warps, one output feature per warp at a time, for all kRows rows at
// once: the lanes stride over K reading the weight row coalesced (each weight read once per
// block) and the activations from shared memory, then a fixed xor-shuffle reduction
// (deterministic), bias and ReLU. At the problem's sizes (batch 64, 256-256-256-64) that is 16
// blocks whose weight reads hit L2 after the first; the three layers cost one launch instead
// of eager's five. Any sizes work: shared memory holds kRows * (in + 2 * hidden) floats, and
// sizes that would not fit fall back to one launch per layer through cudaMallocAsync scratch.
#include <cuda_runtime.h>

#include <cstdint>

namespace {

constexpr int kRows = 4;
constexpr int kThreads = 256;
constexpr int kWarps = kThreads / 32;
constexpr int64_t kMaxSharedFloats = 48 * 1024 / 4;

// y[r][j] = act(b[j] + sum_k w[j][k] * a[r][k]) for the block's rows; a and y in any memory.
__device__ void layer(const float* a, int64_t a_stride, const float* __restrict__ w,
                      const float* __restrict__ b, float* y, int64_t y_stride, int64_t rows,
                      int64_t in, int64_t out, bool relu) {
  const int lane = threadIdx.x & 31, warp = threadIdx.x >> 5;
  for (int64_t j = warp; j < out; j += kWarps) {
    float acc[kRows] = {};
    const float* wj = w + j * in;
    for (int64_t k = lane; k < in; k += 32) {
      const float wk = wj[k];
#pragma unroll
      for (int r = 0; r < kRows; ++r) {
        if (r < rows) acc[r] = fmaf(wk, a[r * a_stride + k], acc[r]);
      }
    }
#pragma unroll
    for (int r = 0; r < kRows; ++r) {
      float v = acc[r];
      for (int o = 16; o > 0; o >>= 1) v += __shfl_xor_sync(0xffffffffu, v, o);
      if (lane == 0 && r < rows) {
        v += b[j];
        y[r * y_stride + j] = relu ? fmaxf(v, 0.0f) : v;
      }
    }
  }
}

__global__ void __launch_bounds__(kThreads)
    mlp_fused(const float* __restrict__ x, const float* __restrict__ w0,
              const float* __restrict__ b0, const float* __restrict__ w2,
              const float* __restrict__ b2, const float* __restrict__ w4,
              const float* __restrict__ b4, float* __restrict__ out, int64_t batch, int64_t in,
              int64_t hidden, int64_t outs) {
  extern __shared__ float sh[];
  float* a0 = sh;
  float* h1 = a0 + kRows * in;
  float* h2 = h1 + kRows * hidden;
  const int64_t row0 = static_cast<int64_t>(blockIdx.x) * kRows;
  const int64_t rows = batch - row0 < kRows ? batch - row0 : kRows;
  for (int64_t i = threadIdx.x; i < rows * in; i += kThreads) a0[i] = x[row0 * in + i];
  __syncthreads();
  layer(a0, in, w0, b0, h1, hidden, rows, in, hidden, true);
  __syncthreads();
  layer(h1, hidden, w2, b2, h2, hidden, rows, hidden, hidden, true);
  __syncthreads();
  layer(h2, hidden, w4, b4, out + row0 * outs, outs, rows, hidden, outs, false);
}

// Fallback: one layer per launch, activations in global memory.
__global__ void __launch_bounds__(kThreads)
    linear_rows(const float* __restrict__ a, const float* __restrict__ w,
                const float* __restrict__ b, float* __restrict__ y, int64_t batch, int64_t in,
                int64_t out, bool relu) {
  const int64_t row0 = static_cast<int64_t>(blockIdx.x) * kRows;
  const int64_t rows = batch - row0 < kRows ? batch - row0 : kRows;
  layer(a + row0 * in, in, w, b, y + row0 * out, out, rows, in, out, relu);
}

}  // namespace

extern "C" void forward(const float* x, const float* w0, const float* b0, const float* w2,
                        const float* b2, const float* w4, const float* b4, float* out,
                        int64_t batch_size, int64_t input_size, int64_t hidden_size,
                        int64_t output_size, cudaStream_t stream) {
  if (batch_size <= 0 || output_size <= 0) return;
  const int64_t blocks = (batch_size + kRows - 1) / kRows;
  const int64_t floats = kRows * (input_size + 2 * hidden_size);
  if (floats <= kMaxSharedFloats && blocks <= 0x7fffffff) {
    mlp_fused<<<static_cast<unsigned>(blocks), kThreads, floats * sizeof(float), stream>>>(
        x, w0, b0, w2, b2, w4, b4, out, batch_size, input_size, hidden_size, output_size);
    return;
  }
  float *h1 = nullptr, *h2 = nullptr;
  const size_t bytes = static_cast<size_t>(batch_size * hidden_size) * sizeof(float);
  if (cudaMallocAsync(&h1, bytes, stream) != cudaSuccess) return;
  if (cudaMallocAsync(&h2, bytes, stream) != cudaSuccess) {
    cudaFreeAsync(h1, stream);
    return;
  }
  const unsigned grid = static_cast<unsigned>(blocks);
  linear_rows<<<grid, kThreads, 0, stream>>>(x, w0, b0, h1, batch_size, input_size, hidden_size,
                                             true);
  linear_rows<<<grid, kThreads, 0, stream>>>(h1, w2, b2, h2, batch_size, hidden_size,
                                             hidden_size, true);
  linear_rows<<<grid, kThreads, 0, stream>>>(h2, w4, b4, out, batch_size, hidden_size,
                                             output_size, false);
  cudaFreeAsync(h1, stream);
  cudaFreeAsync(h2, stream);
}
