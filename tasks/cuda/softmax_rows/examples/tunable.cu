// Tunable CUDA softmax_rows for `kforge optimize --strategy tune`: fast.cu with its block-size
// cap and items per thread as // kforge-tune: parameters (docs/optimize.md).
// kforge-tune: MAX_THREADS = 128, 256, 512, 1024
// kforge-tune: ITEMS_PER_THREAD = 1, 2, 4, 8
#ifndef MAX_THREADS
#define MAX_THREADS 512
#endif
#ifndef ITEMS_PER_THREAD
#define ITEMS_PER_THREAD 4
#endif
// Fast CUDA softmax_rows: one block per row (grid-stride over rows).
//  pass 1: each thread keeps an online (max, sum of exp(x - max)) pair over its
//          strided share of the row, read as float4 when the row is 16-byte
//          aligned and cols % 4 == 0, as scalars otherwise;
//  merge:  the pairs are merged with warp shuffles, then across warps through
//          shared memory; every thread ends with the same (max, sum) bits;
//  pass 2: y = exp(x - max) * (1 / sum), re-reading x (a 16 KB row stays in
//          L1/L2) and storing with the same vector width.
// The merge order is fixed, so the result is bitwise reproducible.
#include <cuda_runtime.h>

#include <cstdint>

namespace {

constexpr int kMaxThreads = MAX_THREADS;

// Merge (om, os) into (m, s). Symmetric in its two operands (fmaxf and a
// rounded add of two rounded products), so both lanes of a shuffle pair get
// identical bits. An empty partial has m = -inf and s = 0.
__device__ __forceinline__ void merge(float& m, float& s, float om, float os) {
  const float mm = fmaxf(m, om);
  if (mm == -INFINITY) return;  // both empty
  s = __fadd_rn(__fmul_rn(s, expf(m - mm)), __fmul_rn(os, expf(om - mm)));
  m = mm;
}

__device__ __forceinline__ void block_merge(float& m, float& s, float* sh_m, float* sh_s) {
  const int lane = threadIdx.x & 31, warp = threadIdx.x >> 5, nwarps = blockDim.x >> 5;
#pragma unroll
  for (int o = 16; o > 0; o >>= 1) {
    const float om = __shfl_xor_sync(0xffffffffu, m, o);
    const float os = __shfl_xor_sync(0xffffffffu, s, o);
    merge(m, s, om, os);
  }
  __syncthreads();  // the previous row's readers are done with sh_m / sh_s
  if (lane == 0) {
    sh_m[warp] = m;
    sh_s[warp] = s;
  }
  __syncthreads();
  m = lane < nwarps ? sh_m[lane] : -INFINITY;
  s = lane < nwarps ? sh_s[lane] : 0.0f;
#pragma unroll
  for (int o = 16; o > 0; o >>= 1) {
    const float om = __shfl_xor_sync(0xffffffffu, m, o);
    const float os = __shfl_xor_sync(0xffffffffu, s, o);
    merge(m, s, om, os);
  }
}

template <bool kVec>
__global__ void __launch_bounds__(kMaxThreads)
    softmax_rows_fast(const float* __restrict__ x, float* __restrict__ y, int64_t rows,
                      int64_t cols) {
  __shared__ float sh_m[32], sh_s[32];
  const int64_t tid = threadIdx.x, nthreads = blockDim.x;
  for (int64_t r = blockIdx.x; r < rows; r += gridDim.x) {
    const float* xr = x + r * cols;
    float* yr = y + r * cols;
    float m = -INFINITY, s = 0.0f;
    if (kVec) {
      const float4* xv = reinterpret_cast<const float4*>(xr);
      const int64_t nv = cols >> 2;
#pragma unroll 4
      for (int64_t i = tid; i < nv; i += nthreads) {
        const float4 v = xv[i];
        const float mm = fmaxf(m, fmaxf(fmaxf(v.x, v.y), fmaxf(v.z, v.w)));
        const float e = (expf(v.x - mm) + expf(v.y - mm)) + (expf(v.z - mm) + expf(v.w - mm));
        s = fmaf(s, expf(m - mm), e);
        m = mm;
      }
    } else {
      for (int64_t i = tid; i < cols; i += nthreads) {
        const float v = xr[i];
        const float mm = fmaxf(m, v);
        s = fmaf(s, expf(m - mm), expf(v - mm));
        m = mm;
      }
    }
    block_merge(m, s, sh_m, sh_s);
    const float inv = 1.0f / s;
    if (kVec) {
      const float4* xv = reinterpret_cast<const float4*>(xr);
      float4* yv = reinterpret_cast<float4*>(yr);
      const int64_t nv = cols >> 2;
#pragma unroll 4
      for (int64_t i = tid; i < nv; i += nthreads) {
        const float4 v = xv[i];
        float4 o;
        o.x = expf(v.x - m) * inv;
        o.y = expf(v.y - m) * inv;
        o.z = expf(v.z - m) * inv;
        o.w = expf(v.w - m) * inv;
        yv[i] = o;
      }
    } else {
      for (int64_t i = tid; i < cols; i += nthreads) yr[i] = expf(xr[i] - m) * inv;
    }
  }
}

// Threads per block: about ITEMS_PER_THREAD items (float4 or scalar) per thread
// and pass, a multiple of 32, between 32 and kMaxThreads.
int threads_for(int64_t items) {
  int64_t t = (items + ITEMS_PER_THREAD - 1) / ITEMS_PER_THREAD;
  t = (t + 31) / 32 * 32;
  if (t < 32) t = 32;
  if (t > kMaxThreads) t = kMaxThreads;
  return (int)t;
}

}  // namespace

extern "C" void softmax_rows(const float* x, float* y, int64_t rows, int64_t cols,
                             cudaStream_t stream) {
  if (rows <= 0 || cols <= 0) return;
  const bool vec = cols % 4 == 0 && reinterpret_cast<uintptr_t>(x) % 16 == 0 &&
                   reinterpret_cast<uintptr_t>(y) % 16 == 0;
  const unsigned grid = (unsigned)(rows < 2147483647 ? rows : 2147483647);
  if (vec)
    softmax_rows_fast<true><<<grid, threads_for(cols / 4), 0, stream>>>(x, y, rows, cols);
  else
    softmax_rows_fast<false><<<grid, threads_for(cols), 0, stream>>>(x, y, rows, cols);
}
