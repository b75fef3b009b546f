// Fast CUDA layer_norm: one block per row (grid-stride over rows), three
// passes over the row, the later two served from L1/L2 (a 16 KB row):
//  1. sum -> mean; 2. sum of (x - mean)^2 -> biased variance (two-pass, so
//  no cancellation whatever the mean); 3. y = (x - mean) * rstd * gamma + beta.
// Loads and stores are float4 when every pointer is 16-byte aligned and
// cols % 4 == 0, scalars otherwise. Block sums use warp shuffles and one
// shared-memory exchange in a fixed order: bitwise reproducible.
#include <cuda_runtime.h>

#include <cstdint>

namespace {

constexpr int kMaxThreads = 512;

__device__ __forceinline__ float warp_sum(float v) {
#pragma unroll
  for (int o = 16; o > 0; o >>= 1) v += __shfl_xor_sync(0xffffffffu, v, o);
  return v;
}

// Sum over the block; every thread gets the same bits. blockDim.x is a
// multiple of 32.
__device__ __forceinline__ float block_sum(float v, float* sh) {
  const int lane = threadIdx.x & 31, warp = threadIdx.x >> 5, nwarps = blockDim.x >> 5;
  v = warp_sum(v);
  __syncthreads();  // earlier readers of sh are done
  if (lane == 0) sh[warp] = v;
  __syncthreads();
  return warp_sum(lane < nwarps ? sh[lane] : 0.0f);
}

template <bool kVec>
__global__ void __launch_bounds__(kMaxThreads)
    layer_norm_fast(const float* __restrict__ x, const float* __restrict__ gamma,
                    const float* __restrict__ beta, float* __restrict__ y, int64_t rows,
                    int64_t cols) {
  __shared__ float sh[32];
  const int64_t tid = threadIdx.x, nthreads = blockDim.x;
  const float n = (float)cols;
  for (int64_t r = blockIdx.x; r < rows; r += gridDim.x) {
    const float* xr = x + r * cols;
    float* yr = y + r * cols;
    if (kVec) {
      const float4* xv = reinterpret_cast<const float4*>(xr);
      const int64_t nv = cols >> 2;
      float s = 0.0f;
#pragma unroll 4
      for (int64_t i = tid; i < nv; i += nthreads) {
        const float4 v = xv[i];
        s += (v.x + v.y) + (v.z + v.w);
      }
      const float mean = block_sum(s, sh) / n;
      float q = 0.0f;
#pragma unroll 4
      for (int64_t i = tid; i < nv; i += nthreads) {
        const float4 v = xv[i];
        const float dx = v.x - mean, dy = v.y - mean, dz = v.z - mean, dw = v.w - mean;
        q = fmaf(dx, dx, q);
        q = fmaf(dy, dy, q);
        q = fmaf(dz, dz, q);
        q = fmaf(dw, dw, q);
      }
      const float rstd = 1.0f / sqrtf(block_sum(q, sh) / n + 1e-5f);
      const float4* gv = reinterpret_cast<const float4*>(gamma);
      const float4* bv = reinterpret_cast<const float4*>(beta);
      float4* yv = reinterpret_cast<float4*>(yr);
#pragma unroll 4
      for (int64_t i = tid; i < nv; i += nthreads) {
        const float4 v = xv[i], g = gv[i], b = bv[i];
        float4 o;
        o.x = fmaf((v.x - mean) * rstd, g.x, b.x);
        o.y = fmaf((v.y - mean) * rstd, g.y, b.y);
        o.z = fmaf((v.z - mean) * rstd, g.z, b.z);
        o.w = fmaf((v.w - mean) * rstd, g.w, b.w);
        yv[i] = o;
      }
    } else {
      float s = 0.0f;
      for (int64_t i = tid; i < cols; i += nthreads) s += xr[i];
      const float mean = block_sum(s, sh) / n;
      float q = 0.0f;
      for (int64_t i = tid; i < cols; i += nthreads) {
        const float d = xr[i] - mean;
        q = fmaf(d, d, q);
      }
      const float rstd = 1.0f / sqrtf(block_sum(q, sh) / n + 1e-5f);
      for (int64_t i = tid; i < cols; i += nthreads)
        yr[i] = fmaf((xr[i] - mean) * rstd, gamma[i], beta[i]);
    }
  }
}

// Threads per block: about 4 items (float4 or scalar) per thread and pass,
// a multiple of 32, between 32 and kMaxThreads.
int threads_for(int64_t items) {
  int64_t t = (items + 3) / 4;
  t = (t + 31) / 32 * 32;
  if (t < 32) t = 32;
  if (t > kMaxThreads) t = kMaxThreads;
  return (int)t;
}

bool aligned16(const void* p) { return reinterpret_cast<uintptr_t>(p) % 16 == 0; }

}  // namespace

extern "C" void layer_norm(const float* x, const float* gamma, const float* beta, float* y,
                           int64_t rows, int64_t cols, cudaStream_t stream) {
  if (rows <= 0 || cols <= 0) return;
  const bool vec =
      cols % 4 == 0 && aligned16(x) && aligned16(gamma) && aligned16(beta) && aligned16(y);
  const unsigned grid = (unsigned)(rows < 2147483647 ? rows : 2147483647);
  if (vec)
    layer_norm_fast<true>
        <<<grid, threads_for(cols / 4), 0, stream>>>(x, gamma, beta, y, rows, cols);
  else
    layer_norm_fast<false><<<grid, threads_for(cols), 0, stream>>>(x, gamma, beta, y, rows, cols);
}
